package extensionsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Header names of the Extensions API.
const (
	headerName      = "Lambda-Extension-Name"
	headerID        = "Lambda-Extension-Identifier"
	headerErrorType = "Lambda-Extension-Function-Error-Type"
	headerFeature   = "Lambda-Extension-Accept-Feature"
)

// maxBody bounds how much of an answer is read.
const maxBody = 1 << 20

// DefaultTimeout bounds register, init/error and exit/error when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Options tune a Client. The zero value is ready to use.
type Options struct {
	// Timeout bounds every call except Next (default DefaultTimeout).
	Timeout time.Duration
	// Transport carries the requests (default: a new http.Transport, so no state is shared with
	// other clients of the process).
	Transport http.RoundTripper
}

// Client talks to the Extensions API of one sandbox.
type Client struct {
	base  string
	short *http.Client // register and the error calls: with a timeout
	long  *http.Client // next: no client timeout, by design

	mu sync.Mutex
	id string
}

// New returns a client of the Extensions API at runtimeAPI, the host:port of AWS_LAMBDA_RUNTIME_API.
func New(runtimeAPI string, opt Options) (*Client, error) {
	if err := CheckAddress(runtimeAPI); err != nil {
		return nil, fmt.Errorf("extensionsapi: %w", err)
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	tr := opt.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:               nil, // the API is local: never through a proxy
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     0, // Next's connection idles across freezes
		}
	}
	return &Client{
		base:  "http://" + runtimeAPI + "/2020-01-01/extension",
		short: &http.Client{Transport: tr, Timeout: opt.Timeout},
		long:  &http.Client{Transport: tr},
	}, nil
}

// ID returns the extension identifier received at registration ("" before).
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Register registers the extension under name (which must be its executable's file name) for events.
func (c *Client) Register(ctx context.Context, name string, events ...EventType) (RegisterResponse, error) {
	var out RegisterResponse
	if name == "" {
		return out, errors.New("extensionsapi: register: empty extension name")
	}
	if len(events) == 0 {
		return out, errors.New("extensionsapi: register: no events")
	}
	body, err := json.Marshal(struct {
		Events []EventType `json:"events"`
	}{events})
	if err != nil {
		return out, fmt.Errorf("extensionsapi: register: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/register", bytes.NewReader(body))
	if err != nil {
		return out, fmt.Errorf("extensionsapi: register: %w", err)
	}
	req.Header.Set(headerName, name)
	req.Header.Set(headerFeature, "accountId")
	req.Header.Set("Content-Type", "application/json")
	resp, raw, err := c.do(c.short, "register", req)
	if err != nil {
		return out, err
	}
	id := resp.Header.Get(headerID)
	if id == "" {
		return out, fmt.Errorf("extensionsapi: register: answer has no %s header", headerID)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("extensionsapi: register: decode answer %q: %w", truncate(raw), err)
	}
	c.mu.Lock()
	c.id = id
	c.mu.Unlock()
	return out, nil
}

// Next blocks until the sandbox's next event. It has no client timeout: only ctx ends it early.
func (c *Client) Next(ctx context.Context) (Event, error) {
	var ev Event
	req, err := c.request(ctx, http.MethodGet, "/event/next", nil)
	if err != nil {
		return ev, fmt.Errorf("extensionsapi: next: %w", err)
	}
	_, raw, err := c.do(c.long, "next", req)
	if err != nil {
		return ev, err
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, fmt.Errorf("extensionsapi: next: decode event %q: %w", truncate(raw), err)
	}
	if ev.EventType == "" {
		return ev, fmt.Errorf("extensionsapi: next: event %q has no eventType", truncate(raw))
	}
	return ev, nil
}

// InitError reports that the extension failed to initialise; Lambda fails the init and the extension
// should exit non-zero afterwards. errorType looks like "Extension.ConfigInvalid".
func (c *Client) InitError(ctx context.Context, errorType, message string) error {
	return c.reportError(ctx, "init/error", errorType, message)
}

// ExitError reports that the extension is about to exit because of an error.
func (c *Client) ExitError(ctx context.Context, errorType, message string) error {
	return c.reportError(ctx, "exit/error", errorType, message)
}

func (c *Client) reportError(ctx context.Context, op, errorType, message string) error {
	if errorType == "" {
		errorType = "Extension.Error"
	}
	body, err := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, errorType})
	if err != nil {
		return fmt.Errorf("extensionsapi: %s: %w", op, err)
	}
	req, err := c.request(ctx, http.MethodPost, "/"+op, body)
	if err != nil {
		return fmt.Errorf("extensionsapi: %s: %w", op, err)
	}
	req.Header.Set(headerErrorType, errorType)
	req.Header.Set("Content-Type", "application/json")
	_, _, err = c.do(c.short, op, req)
	return err
}

// request builds a request that carries the extension identifier.
func (c *Client) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	id := c.ID()
	if id == "" {
		return nil, ErrNotRegistered
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set(headerID, id)
	return req, nil
}

// do sends req and returns the answer and its body; a status other than 2xx is an *APIError.
func (c *Client) do(hc *http.Client, op string, req *http.Request) (*http.Response, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("extensionsapi: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("extensionsapi: %s: read answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, apiError(op, resp.StatusCode, raw)
	}
	return resp, raw, nil
}

func truncate(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
