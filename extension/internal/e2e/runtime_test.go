package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/breakerbox/breakerbox/extension/client"
)

// step is one thing the test runtime does.
type step struct {
	// Op is "http" (default), "sleep", "untilDeadline" (sleep until Ms before the invocation's
	// deadline), "touch", "wait", "client.do", "client.doCancelled" (a call cancelled Ms into it), "client.acquire", "client.acquireUntil" (acquire a
	// call every Ms, none of them ever reported, until one is denied or File exists), "client.state"
	// or "client.report".
	Op     string `json:"op,omitempty"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
	Body   string `json:"body,omitempty"`
	// BodyBytes, when set, sends a body of that many spaces.
	BodyBytes int `json:"bodyBytes,omitempty"`
	// Token: "" sends the function's AWS_SESSION_TOKEN, "-" sends none, anything else is sent as is.
	Token string `json:"token,omitempty"`
	// File is the path for touch and wait (wait polls until it exists, for at most 2 minutes).
	File string `json:"file,omitempty"`
	Ms   int    `json:"ms,omitempty"`
	// ID, Fail, OK and Env are for the client ops: Env is set in the process environment before
	// client.New and restored after.
	ID   string            `json:"id,omitempty"`
	Fail bool              `json:"fail,omitempty"`
	OK   bool              `json:"ok,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
}

// stepResult is what the runtime saw.
type stepResult struct {
	Status int             `json:"status,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
	Text   string          `json:"text,omitempty"`
	Ms     float64         `json:"ms"`
	// At is when the step began, in Unix milliseconds (the host's clock, which the extension reads
	// too), so a test can place the steps of several sandboxes on one time line.
	At  int64  `json:"at"`
	Err string `json:"err,omitempty"`
}

type runtimeRequest struct {
	Steps []step `json:"steps"`
}

type runtimeReply struct {
	Sandbox string       `json:"sandbox"`
	Results []stepResult `json:"results"`
}

// runRuntime is the test runtime's main.
func runRuntime() int {
	hc := &http.Client{Timeout: 30 * time.Second}
	lambda.Start(func(ctx context.Context, req runtimeRequest) (runtimeReply, error) {
		out := runtimeReply{Sandbox: os.Getenv("E2E_SANDBOX")}
		for _, s := range req.Steps {
			start := time.Now()
			r := runStep(ctx, hc, s)
			r.Ms, r.At = float64(time.Since(start).Microseconds())/1000, start.UnixMilli()
			out.Results = append(out.Results, r)
		}
		return out, nil
	})
	return 0
}

func runStep(ctx context.Context, hc *http.Client, s step) stepResult {
	switch s.Op {
	case "", "http":
		return httpStep(ctx, hc, s)
	case "sleep":
		time.Sleep(time.Duration(s.Ms) * time.Millisecond)
		return stepResult{}
	case "untilDeadline":
		d, ok := ctx.Deadline()
		if !ok {
			return stepResult{Err: "the invocation has no deadline"}
		}
		time.Sleep(time.Until(d.Add(-time.Duration(s.Ms) * time.Millisecond)))
		return stepResult{}
	case "touch":
		if err := os.WriteFile(s.File, nil, 0o644); err != nil {
			return stepResult{Err: err.Error()}
		}
		return stepResult{}
	case "wait":
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(s.File); err == nil {
				return stepResult{}
			}
			time.Sleep(time.Millisecond)
		}
		return stepResult{Err: "timed out waiting for " + s.File}
	}
	return clientStep(ctx, s)
}

func httpStep(ctx context.Context, hc *http.Client, s step) stepResult {
	var body io.Reader
	switch {
	case s.BodyBytes > 0:
		body = bytes.NewReader(bytes.Repeat([]byte(" "), s.BodyBytes))
	case s.Body != "":
		body = strings.NewReader(s.Body)
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1:"+os.Getenv("BREAKERBOX_PORT")+s.Path, body)
	if err != nil {
		return stepResult{Err: err.Error()}
	}
	switch s.Token {
	case "":
		req.Header.Set("X-Breakerbox-Token", os.Getenv("AWS_SESSION_TOKEN"))
	case "-":
	default:
		req.Header.Set("X-Breakerbox-Token", s.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return stepResult{Err: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := stepResult{Status: resp.StatusCode}
	if json.Valid(b) {
		r.Body = b
	} else {
		r.Text = string(b)
	}
	return r
}

func clientStep(ctx context.Context, s step) stepResult {
	restore := map[string]string{}
	for k, v := range s.Env {
		restore[k] = os.Getenv(k)
		os.Setenv(k, v)
	}
	c, cerr := client.New()
	for k, v := range restore {
		os.Setenv(k, v)
	}
	var r stepResult
	if cerr != nil {
		r.Err = cerr.Error()
		return r
	}
	var v any
	var err error
	switch s.Op {
	case "client.do":
		called := false
		err = c.Do(ctx, s.ID, func(context.Context) error {
			called = true
			if s.Fail {
				return errors.New("downstream failed")
			}
			return nil
		})
		v = map[string]any{"called": called, "open": errors.Is(err, client.ErrOpen)}
	case "client.doCancelled":
		// A call whose context is cancelled Ms into it (a sibling failed): Do cancels it.
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(time.Duration(s.Ms)*time.Millisecond, cancel)
		err = c.Do(cctx, s.ID, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		cancel()
		v = map[string]any{"cancelled": errors.Is(err, context.Canceled)}
		err = nil
	case "client.acquire":
		v, err = c.Acquire(ctx, s.ID)
	case "client.acquireUntil":
		v, err = acquireUntil(ctx, c, s)
	case "client.state":
		v, err = c.State(ctx, s.ID)
	case "client.report":
		err = c.Report(ctx, s.ID, client.Outcome{OK: s.OK, Latency: time.Duration(s.Ms) * time.Millisecond})
	default:
		return stepResult{Err: "unknown op " + s.Op}
	}
	if err != nil {
		r.Err = err.Error()
	}
	if v != nil {
		b, _ := json.Marshal(v)
		r.Body = b
	}
	return r
}

// acquireUntil acquires a call of s.ID every s.Ms and never reports one (calls that hang), until an
// acquire is denied or s.File exists, within the invocation's deadline; it answers how many calls
// were allowed and whether one was denied.
func acquireUntil(ctx context.Context, c *client.Client, s step) (map[string]any, error) {
	allowed := 0
	for {
		d, err := c.Acquire(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			return map[string]any{"allowed": allowed, "denied": true}, nil
		}
		allowed++
		if _, err := os.Stat(s.File); err == nil {
			return map[string]any{"allowed": allowed, "denied": false}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(s.Ms) * time.Millisecond):
		}
	}
}
