package orders

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/internal/jsondup"
)

// Order statuses and the fallback error code.
const (
	StatusAccepted   = "ACCEPTED"
	StatusOutOfStock = "OUT_OF_STOCK"
	StatusRejected   = "REJECTED"
	StatusPending    = "PENDING"
	// ErrCodeDownstreamUnavailable is the fallback's error code: the inventory could not be checked.
	ErrCodeDownstreamUnavailable = "DOWNSTREAM_UNAVAILABLE"
	// ErrCodeInvalidOrder marks an order that cannot be checked at all.
	ErrCodeInvalidOrder = "INVALID_ORDER"
)

// Breaker is the part of the extension client the example uses (*client.Client).
type Breaker interface {
	Do(ctx context.Context, id string, fn func(ctx context.Context) error) error
}

// Order is the function's input.
type Order struct {
	OrderID  string `json:"orderId"`
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// orderFields are Order's JSON names, exactly as they are matched.
var orderFields = []string{"orderId", "sku", "quantity"}

// UnmarshalJSON reads an order strictly, as the rest of breakerbox reads its input: a field that is
// not orderId, sku or quantity (a misspelling such as "qty", or "OrderId", which encoding/json would
// match case-insensitively) is an error naming it, not an order read with that field missing.
func (o *Order) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return fmt.Errorf("orders: want a JSON object {\"orderId\",\"sku\",\"quantity\"}: %w", err)
	}
	if dup := jsondup.First(b); dup != "" {
		return fmt.Errorf("orders: field %q is given twice in the order: give it once", dup)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(orderFields, k) {
			return fmt.Errorf("orders: unknown field %q in the order: want orderId, sku and quantity (names are case-sensitive)", k)
		}
	}
	type plain Order // without this method
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("orders: want {\"orderId\":string,\"sku\":string,\"quantity\":integer}: %w", err)
	}
	*o = Order(p)
	return nil
}

// Response is the function's answer.
type Response struct {
	OrderID string `json:"orderId"`
	Status  string `json:"status"`
	// Available is the inventory's stock of the SKU, when it was checked.
	Available *int `json:"available,omitempty"`
	// Error is a code (DOWNSTREAM_UNAVAILABLE, INVALID_ORDER) when the order could not be decided.
	Error string `json:"error,omitempty"`
	// Detail says more about Error.
	Detail string `json:"detail,omitempty"`
	// RetryAt, with DOWNSTREAM_UNAVAILABLE from an open circuit, is when to try again.
	RetryAt *time.Time `json:"retryAt,omitempty"`
}

// Handler places orders.
type Handler struct {
	cfg     Config
	breaker Breaker
	http    *http.Client
	log     *slog.Logger
}

// New returns a Handler; hc nil means a plain client (each call is bounded by Config.Timeout), log
// nil discards logs.
func New(cfg Config, breaker Breaker, hc *http.Client, log *slog.Logger) *Handler {
	if hc == nil {
		hc = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, breaker: breaker, http: hc, log: log}
}

// downstreamError is a failure of the inventory service itself: it counts against the circuit.
type downstreamError struct{ msg string }

// Error returns the failure in a few words.
func (e *downstreamError) Error() string { return e.msg }

// IsDownstreamFailure tells client.WithFailure which errors of the call count against the circuit:
// the inventory's own failures, not an unknown SKU.
func IsDownstreamFailure(err error) bool {
	var d *downstreamError
	return errors.As(err, &d)
}

// errUnknownSKU is the inventory's 404: a business answer, not a failure of the service.
var errUnknownSKU = errors.New("unknown SKU")

// Handle checks the inventory for the order, through the circuit. It returns an error only for
// what it cannot answer at all; an open circuit or a failed call is the DOWNSTREAM_UNAVAILABLE
// fallback.
func (h *Handler) Handle(ctx context.Context, o Order) (Response, error) {
	res := Response{OrderID: o.OrderID}
	if o.OrderID == "" || o.SKU == "" || o.Quantity < 1 {
		res.Status, res.Error, res.Detail = StatusRejected, ErrCodeInvalidOrder, "orderId, sku and a quantity of at least 1 are required"
		return res, nil
	}
	var available int
	err := h.breaker.Do(ctx, h.cfg.Circuit, func(ctx context.Context) error {
		n, err := h.check(ctx, o)
		available = n
		return err
	})
	var open *client.OpenError
	switch {
	case errors.As(err, &open):
		res.Status, res.Error = StatusPending, ErrCodeDownstreamUnavailable
		res.Detail = "inventory circuit is " + open.Decision.State
		if !open.Decision.RetryAt.IsZero() {
			at := open.Decision.RetryAt
			res.RetryAt = &at
		}
		h.log.WarnContext(ctx, "inventory circuit denies the call: fallback", "orderId", o.OrderID, "state", open.Decision.State)
		return res, nil
	case errors.Is(err, errUnknownSKU):
		res.Status, res.Error, res.Detail = StatusRejected, ErrCodeInvalidOrder, "unknown SKU "+o.SKU
		return res, nil
	case err != nil:
		res.Status, res.Error, res.Detail = StatusPending, ErrCodeDownstreamUnavailable, err.Error()
		h.log.WarnContext(ctx, "inventory call failed: fallback", "orderId", o.OrderID, "error", err.Error())
		return res, nil
	}
	res.Available = &available
	res.Status = StatusAccepted
	if available < o.Quantity {
		res.Status = StatusOutOfStock
	}
	return res, nil
}

// check asks the inventory how many of the SKU are available.
func (h *Handler) check(ctx context.Context, o Order) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	u, err := url.Parse(h.cfg.InventoryURL)
	if err != nil {
		return 0, fmt.Errorf("inventory URL: %w", err)
	}
	q := u.Query()
	q.Set("sku", o.SKU)
	q.Set("quantity", strconv.Itoa(o.Quantity))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("inventory request: %w", err)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, &downstreamError{msg: "inventory unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case err != nil:
		return 0, &downstreamError{msg: "inventory answer unreadable: " + err.Error()}
	case resp.StatusCode == http.StatusNotFound:
		return 0, errUnknownSKU
	case resp.StatusCode != http.StatusOK:
		return 0, &downstreamError{msg: "inventory answered " + strconv.Itoa(resp.StatusCode)}
	}
	var out struct {
		Available *int `json:"available"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Available == nil {
		return 0, &downstreamError{msg: "inventory answer has no available count"}
	}
	return *out.Available, nil
}
