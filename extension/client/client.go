package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultPort is the extension's port when BREAKERBOX_PORT is not set.
const DefaultPort = 4243

// DefaultTimeout bounds each request to the extension.
const DefaultTimeout = 2 * time.Second

// TokenHeader carries the token.
const TokenHeader = "X-Breakerbox-Token"

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets the extension's URL (default http://127.0.0.1:$BREAKERBOX_PORT).
func WithBaseURL(u string) Option {
	return func(c *Client) { c.base, c.set.base = strings.TrimRight(u, "/"), true }
}

// WithToken sets the token sent in X-Breakerbox-Token (default AWS_SESSION_TOKEN).
func WithToken(token string) Option { return func(c *Client) { c.token, c.set.token = token, true } }

// WithFailOpen sets the fail mode: true lets calls through when the extension cannot answer, false
// denies them (default: BREAKERBOX_FAIL_MODE).
func WithFailOpen(open bool) Option {
	return func(c *Client) { c.failOpen, c.set.failMode = open, true }
}

// WithTimeout bounds each request to the extension (default DefaultTimeout).
// A duration that is not positive is refused by New.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout, c.set.timeout = d, true }
}

// WithHTTPClient sets the HTTP client. It is used as given: each request is still bounded by
// WithTimeout (through its context), and by hc.Timeout too when that is shorter.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithLogger sets where the client's warnings go (default slog.Default()): that the extension cannot
// be reached, and that a BREAKERBOX_* variable is unknown.
func WithLogger(log *slog.Logger) Option { return func(c *Client) { c.log = log } }

// WithDisabled bypasses the breaker (true) or never does (false), whatever BREAKERBOX_DISABLED
// says at each call (the default reads it at each call).
func WithDisabled(disabled bool) Option {
	return func(c *Client) { c.disabledOpt, c.set.disabled = disabled, true }
}

// WithFailure sets how Do classifies the error of fn: true counts it as a failure of the downstream
// (default: every error but the caller's own cancellation).
func WithFailure(isFailure func(err error) bool) Option {
	return func(c *Client) { c.isFailure = isFailure }
}

// Client talks to the extension. It is safe for concurrent use; create one per process.
type Client struct {
	base      string
	token     string
	failOpen  bool
	timeout   time.Duration
	hc        *http.Client
	isFailure func(error) bool
	log       *slog.Logger
	// disabledOpt is WithDisabled's value, used when set.disabled.
	disabledOpt bool
	// unreachable counts the calls decided without the extension's answer.
	unreachable atomic.Int64
	// set records what options set, so that a variable they override cannot fail New.
	set struct{ base, token, failMode, disabled, timeout bool }
}

// ErrConfig matches (errors.Is) the error New returns for a setting it cannot use.
var ErrConfig = errors.New("breakerbox: invalid client configuration")

// New returns a client configured from the environment the function shares with the extension
// (BREAKERBOX_PORT, BREAKERBOX_FAIL_MODE, BREAKERBOX_AUTH and AWS_SESSION_TOKEN; BREAKERBOX_DISABLED
// is checked here and read again at every call), then opts. A
// variable it cannot use is an error naming it and what it takes (errors.Is(err, ErrConfig)), the
// same setting the extension would refuse at init: BREAKERBOX_FAIL_MODE=clsoed is not read as
// open. An option that sets the same thing overrides the variable, and its mistake with it.
// Create the client once, at init, and fail the init on the error. New also logs a warning (once
// per process) for every BREAKERBOX_* variable no part of breakerbox reads, naming the closest one.
func New(opts ...Option) (*Client, error) {
	env := readEnv(os.Getenv)
	c := &Client{base: "http://127.0.0.1:" + strconv.Itoa(env.port), failOpen: env.failOpen, token: env.token}
	for _, o := range opts {
		o(c)
	}
	var errs []error
	if !c.set.base && env.portErr != nil {
		errs = append(errs, env.portErr)
	}
	if !c.set.failMode && env.failModeErr != nil {
		errs = append(errs, env.failModeErr)
	}
	if !c.set.token && env.authErr != nil {
		errs = append(errs, env.authErr)
	}
	if !c.set.disabled && env.disabledErr != nil {
		errs = append(errs, env.disabledErr)
	}
	if c.set.timeout && c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("WithTimeout(%s) is not valid: want a positive duration (default %s)", c.timeout, DefaultTimeout))
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	warnUnknownNames(c.log, os.Environ())
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the extension is on localhost: never through HTTP_PROXY
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     0, // keep connections across freezes; the extension never closes idle ones
		}}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.isFailure == nil {
		c.isFailure = func(error) bool { return true }
	}
	return c, nil
}

// FailOpen reports the client's fail mode.
func (c *Client) FailOpen() bool { return c.failOpen }

// UnreachableCalls is how many calls (Acquire, and Do through it) this client has decided without
// the extension's answer, by the fail mode: with BREAKERBOX_FAIL_MODE=open, the calls that went
// out unprotected. Export it as a metric: above zero, the breaker is off.
func (c *Client) UnreachableCalls() int64 { return c.unreachable.Load() }

// Error is an error answer of the extension.
type Error struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("breakerbox: extension answered %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrNotFound matches (errors.Is) the extension's 404 for an unknown circuit.
var ErrNotFound = errors.New("breakerbox: circuit not found")

// ErrUnreachable matches (errors.Is) failures to talk to the extension at all.
var ErrUnreachable = errors.New("breakerbox: extension unreachable")

// ErrInvalidID matches a circuit id the extension would refuse: 1-128 of [A-Za-z0-9._:-].
var ErrInvalidID = errors.New("breakerbox: invalid circuit id")

// Is makes errors.Is(err, ErrNotFound) true for a 404 not_found.
func (e *Error) Is(target error) bool { return target == ErrNotFound && e.Code == "not_found" }

// validID checks the id locally, with the extension's rule.
func validID(id string) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("%w %q: want 1-128 characters of A-Z a-z 0-9 . _ : -", ErrInvalidID, id)
	}
	for i := 0; i < len(id); i++ {
		switch ch := id[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '.', ch == '_', ch == ':', ch == '-':
		default:
			return fmt.Errorf("%w %q: want 1-128 characters of A-Z a-z 0-9 . _ : -", ErrInvalidID, id)
		}
	}
	return nil
}

// call sends one request and decodes a 2xx answer into out.
func (c *Client) call(ctx context.Context, method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("breakerbox: encode request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return fmt.Errorf("breakerbox: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set(TokenHeader, c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %s: read answer: %w", ErrUnreachable, method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Status: resp.StatusCode}
		var doc struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &doc) == nil && doc.Error.Code != "" {
			e.Code, e.Message = doc.Error.Code, doc.Error.Message
		} else {
			e.Code, e.Message = "unexpected", strings.TrimSpace(string(raw))
			if len(e.Message) > 256 { // not the extension's answer: name it, do not copy it into every log line
				e.Message = strings.ToValidUTF8(e.Message[:256], "") + fmt.Sprintf("... (%d bytes or more)", len(raw))
			}
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("breakerbox: decode answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

func circuitPath(id string) string { return "/v1/circuits/" + url.PathEscape(id) }
