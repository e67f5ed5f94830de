package orders

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
)

// fakeExtension serves acquire and outcomes like the breakerbox extension.
type fakeExtension struct {
	mu       sync.Mutex
	allowed  bool
	outcomes []map[string]any
}

func (f *fakeExtension) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/circuits/inventory/acquire":
		if f.allowed {
			_, _ = w.Write([]byte(`{"allowed":true,"state":"CLOSED"}`))
		} else {
			_, _ = w.Write([]byte(`{"allowed":false,"state":"OPEN","retryAt":"2026-03-04T10:00:30Z"}`))
		}
	case r.URL.Path == "/v1/circuits/inventory/outcomes":
		var body struct {
			Outcomes []map[string]any `json:"outcomes"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.outcomes = append(f.outcomes, body.Outcomes...)
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeExtension) reported() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.outcomes...)
}

func newHandler(t *testing.T, inventory http.HandlerFunc) (*Handler, *fakeExtension, *int) {
	t.Helper()
	calls := 0
	inv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		inventory(w, r)
	}))
	t.Cleanup(inv.Close)
	ext := &fakeExtension{allowed: true}
	es := httptest.NewServer(ext)
	t.Cleanup(es.Close)
	c, err := client.New(client.WithBaseURL(es.URL), client.WithToken(""), client.WithFailure(IsDownstreamFailure))
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{InventoryURL: inv.URL + "/availability", Circuit: "inventory", Timeout: 200 * time.Millisecond}, c, nil, nil), ext, &calls
}

func stock(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/availability" || r.URL.Query().Get("sku") != "A-1" {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"available": n})
	}
}

func TestAcceptedAndOutOfStock(t *testing.T) {
	h, ext, _ := newHandler(t, stock(5))
	res, err := h.Handle(context.Background(), Order{OrderID: "o-1", SKU: "A-1", Quantity: 2})
	if err != nil || res.Status != StatusAccepted || res.Available == nil || *res.Available != 5 || res.Error != "" {
		t.Fatalf("order = %+v, %v", res, err)
	}
	res, _ = h.Handle(context.Background(), Order{OrderID: "o-2", SKU: "A-1", Quantity: 9})
	if res.Status != StatusOutOfStock {
		t.Fatalf("order = %+v", res)
	}
	if o := ext.reported(); len(o) != 2 || o[0]["ok"] != true {
		t.Fatalf("reported %v", o)
	}
}

func TestFallbackWhenTheInventoryFails(t *testing.T) {
	h, ext, _ := newHandler(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	res, err := h.Handle(context.Background(), Order{OrderID: "o-1", SKU: "A-1", Quantity: 1})
	if err != nil || res.Status != StatusPending || res.Error != ErrCodeDownstreamUnavailable || !strings.Contains(res.Detail, "503") {
		t.Fatalf("order = %+v, %v", res, err)
	}
	if o := ext.reported(); len(o) != 1 || o[0]["ok"] != false {
		t.Fatalf("reported %v, want one failure", o)
	}
}

func TestFallbackWhenTheInventoryHangs(t *testing.T) {
	h, ext, _ := newHandler(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	res, _ := h.Handle(context.Background(), Order{OrderID: "o-1", SKU: "A-1", Quantity: 1})
	if res.Error != ErrCodeDownstreamUnavailable {
		t.Fatalf("order = %+v", res)
	}
	if o := ext.reported(); len(o) != 1 || o[0]["ok"] != false {
		t.Fatalf("reported %v, want the timeout as a failure", o)
	}
}

func TestFallbackWhenTheCircuitIsOpen(t *testing.T) {
	h, ext, calls := newHandler(t, stock(5))
	ext.allowed = false
	res, err := h.Handle(context.Background(), Order{OrderID: "o-1", SKU: "A-1", Quantity: 1})
	if err != nil || res.Status != StatusPending || res.Error != ErrCodeDownstreamUnavailable || res.RetryAt == nil || *calls != 0 {
		t.Fatalf("order = %+v, %v, %d inventory calls", res, err, *calls)
	}
	if len(ext.reported()) != 0 {
		t.Fatal("a denied call was reported")
	}
}

func TestUnknownSKUIsNotAFailure(t *testing.T) {
	h, ext, _ := newHandler(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	res, _ := h.Handle(context.Background(), Order{OrderID: "o-1", SKU: "Z-9", Quantity: 1})
	if res.Status != StatusRejected || res.Error != ErrCodeInvalidOrder {
		t.Fatalf("order = %+v", res)
	}
	if o := ext.reported(); len(o) != 1 || o[0]["ok"] != true {
		t.Fatalf("reported %v, want the 404 as a healthy answer", o)
	}
}

func TestInvalidOrder(t *testing.T) {
	h, _, calls := newHandler(t, stock(5))
	for _, o := range []Order{{SKU: "A-1", Quantity: 1}, {OrderID: "o", Quantity: 1}, {OrderID: "o", SKU: "A-1"}} {
		if res, err := h.Handle(context.Background(), o); err != nil || res.Status != StatusRejected || res.Error != ErrCodeInvalidOrder {
			t.Errorf("order %+v = %+v, %v", o, res, err)
		}
	}
	if *calls != 0 {
		t.Fatal("an invalid order reached the inventory")
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(kv map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
	}
	c, err := LoadConfig(env(map[string]string{"INVENTORY_URL": "https://inventory.example.com/v1/availability"}))
	if err != nil || c.Circuit != "inventory" || c.Timeout != 3*time.Second {
		t.Fatalf("config = %+v, %v", c, err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "INVENTORY_URL is required"},
		{map[string]string{"INVENTORY_URL": "inventory"}, "INVENTORY_URL must be an http or https URL"},
		{map[string]string{"INVENTORY_URL": "http://x", "INVENTORY_CIRCUIT": "a/b"}, "INVENTORY_CIRCUIT"},
		{map[string]string{"INVENTORY_URL": "http://x", "INVENTORY_TIMEOUT": "3"}, "INVENTORY_TIMEOUT"},
	} {
		_, err := LoadConfig(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.want)
		}
	}
}
