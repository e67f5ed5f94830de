package telemetryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// SchemaVersion is the schema the subscription asks for: the newest, required on Lambda Managed
// Instances and accepted on the default model.
const SchemaVersion = "2025-01-29"

// DefaultTimeout bounds a Subscribe call when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Buffering limits of the API: Lambda delivers a batch when one is reached.
const (
	MinTimeoutMs = 25
	MinMaxItems  = 1000
	MinMaxBytes  = 262144
)

// Options tune a Client.
type Options struct {
	// Timeout bounds every call (default DefaultTimeout).
	Timeout time.Duration
}

// Client subscribes an extension to the Telemetry API of its sandbox.
type Client struct {
	url string
	hc  *http.Client
}

// New returns a client of the Telemetry API at runtimeAPI, the host:port of AWS_LAMBDA_RUNTIME_API.
func New(runtimeAPI string, opt Options) (*Client, error) {
	if runtimeAPI == "" {
		return nil, errors.New("telemetryapi: runtime API address is empty (AWS_LAMBDA_RUNTIME_API is not set)")
	}
	if strings.Contains(runtimeAPI, "/") {
		return nil, fmt.Errorf("telemetryapi: runtime API address %q: want host:port", runtimeAPI)
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	return &Client{
		url: "http://" + runtimeAPI + "/2022-07-01/telemetry",
		hc:  &http.Client{Timeout: opt.Timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1}},
	}, nil
}

// Subscription is what to subscribe to.
type Subscription struct {
	// Types are the streams: "platform", "function", "extension".
	Types []string
	// URI is the listener's address (Listener.URI).
	URI string
	// TimeoutMs is the longest Lambda buffers events before a delivery (at least MinTimeoutMs).
	TimeoutMs int
}

type subscribeRequest struct {
	SchemaVersion string `json:"schemaVersion"`
	Destination   struct {
		Protocol string `json:"protocol"`
		URI      string `json:"URI"`
	} `json:"destination"`
	Types     []string `json:"types"`
	Buffering struct {
		MaxItems  int `json:"maxItems"`
		MaxBytes  int `json:"maxBytes"`
		TimeoutMs int `json:"timeoutMs"`
	} `json:"buffering"`
}

// Subscribe subscribes the extension with the given identifier (from its registration).
func (c *Client) Subscribe(ctx context.Context, extensionID string, s Subscription) error {
	if extensionID == "" {
		return errors.New("telemetryapi: subscribe: no extension identifier: register first")
	}
	if len(s.Types) == 0 || s.URI == "" {
		return errors.New("telemetryapi: subscribe: want at least one type and a destination URI")
	}
	var req subscribeRequest
	req.SchemaVersion = SchemaVersion
	req.Destination.Protocol = "HTTP"
	req.Destination.URI = s.URI
	req.Types = s.Types
	req.Buffering.MaxItems = MinMaxItems
	req.Buffering.MaxBytes = MinMaxBytes
	req.Buffering.TimeoutMs = max(s.TimeoutMs, MinTimeoutMs)
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("telemetryapi: subscribe: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telemetryapi: subscribe: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Lambda-Extension-Identifier", extensionID)
	resp, err := c.hc.Do(hr)
	if err != nil {
		return fmt.Errorf("telemetryapi: subscribe: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("telemetryapi: subscribe: status %d: %s", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return nil
}
