package clienttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/breakerbox/breakerbox/extension/client"
)

// Op names what the client asked the extension.
type Op string

// The operations a Call records.
const (
	OpAcquire Op = "acquire"
	OpReport  Op = "report"
	OpState   Op = "state"
	// OpCancel is a call the client said was not made or was cancelled (client.Client.Cancel,
	// and Do when its context is cancelled); the Call's Name is that call's name.
	OpCancel Op = "cancel"
)

// Call is one request of the client, in order.
type Call struct {
	Op      Op
	Circuit string
	// Outcomes are what a report carried.
	Outcomes []client.Outcome
	// Allowed is what an acquire was answered.
	Allowed bool
	// Name is the call name an allowed acquire handed out ("call-1", "call-2", ...), which the
	// client should report back in its outcome's Call (see Outcomes); for OpCancel, the name of the
	// call cancelled.
	Name string
}

// Extension answers the client's requests from memory. A circuit is CLOSED until forced; it is safe
// for concurrent use.
type Extension struct {
	mu          sync.Mutex
	open        map[string]bool
	calls       []Call
	unreachable bool
	named       int // call names handed out, for the next one
}

// New returns an Extension in which every circuit is CLOSED.
func New() *Extension { return &Extension{open: map[string]bool{}} }

// baseURL is where the client believes the extension is; nothing listens there.
const baseURL = "http://breakerbox.clienttest"

// Client returns a real client whose requests this Extension answers in memory (fail mode open, no
// token), with opts after those. Its error is client.New's (BREAKERBOX_DISABLED holding neither
// true nor false).
func (e *Extension) Client(opts ...client.Option) (*client.Client, error) {
	base := []client.Option{
		client.WithBaseURL(baseURL),
		client.WithToken(""),
		client.WithFailOpen(true),
		client.WithHTTPClient(&http.Client{Transport: e}),
	}
	return client.New(append(base, opts...)...)
}

// ForceOpen makes acquire deny calls to circuit id (state OPEN, override FORCED_OPEN), as
// `breakerctl force open` does.
func (e *Extension) ForceOpen(id string) { e.set(id, true) }

// ForceClosed makes acquire allow calls to circuit id (state CLOSED).
func (e *Extension) ForceClosed(id string) { e.set(id, false) }

// SetUnreachable makes every request fail as if no extension listened (true), or answer again.
func (e *Extension) SetUnreachable(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unreachable = down
}

func (e *Extension) set(id string, open bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.open[id] = open
}

// Calls returns the requests the client made, in order.
func (e *Extension) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// Outcomes returns every outcome reported for circuit id, in order.
func (e *Extension) Outcomes(id string) []client.Outcome {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []client.Outcome
	for _, c := range e.calls {
		if c.Op == OpReport && c.Circuit == id {
			out = append(out, c.Outcomes...)
		}
	}
	return out
}

// Reset forgets the calls and the forced states. Call names stay unique: they go on counting.
func (e *Extension) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls, e.open, e.unreachable = nil, map[string]bool{}, false
}

// errUnreachable is the transport's error while SetUnreachable(true).
var errUnreachable = errors.New("clienttest: connection refused (SetUnreachable)")

// RoundTrip answers one request of the client as the extension's HTTP API does. It implements
// http.RoundTripper.
func (e *Extension) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		// As a real transport does: a request whose context has ended is not sent, so a test sees
		// what the client does with its caller's cancellation.
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.unreachable {
		return nil, errUnreachable
	}
	rest, ok := strings.CutPrefix(req.URL.EscapedPath(), "/v1/circuits/")
	if !ok {
		return answer(req, http.StatusNotFound, `{"error":{"code":"unknown_endpoint","message":"no such endpoint"}}`), nil
	}
	rawID, op, _ := strings.Cut(rest, "/")
	id, err := url.PathUnescape(rawID)
	if err != nil {
		return answer(req, http.StatusBadRequest, `{"error":{"code":"invalid_id","message":"bad escape"}}`), nil
	}
	open := e.open[id]
	state, override := "CLOSED", ""
	if open {
		state, override = "OPEN", "FORCED_OPEN"
	}
	switch {
	case req.Method == http.MethodPost && op == "acquire":
		c := Call{Op: OpAcquire, Circuit: id, Allowed: !open}
		ans := map[string]any{"allowed": !open, "state": state, "override": override, "reason": "clienttest"}
		// As the extension does: {"call":false} (AcquireBatch) is a batch's answer, and names no call.
		var ask struct {
			Call *bool `json:"call"`
		}
		batch := json.Unmarshal(body, &ask) == nil && ask.Call != nil && !*ask.Call
		if !open && !batch {
			e.named++
			c.Name = fmt.Sprintf("call-%d", e.named)
			ans["call"] = c.Name
		}
		e.calls = append(e.calls, c)
		return answerJSON(req, http.StatusOK, ans), nil
	case req.Method == http.MethodPost && op == "outcomes":
		var doc struct {
			Outcomes []struct {
				OK        bool    `json:"ok"`
				LatencyMs float64 `json:"latencyMs"`
				Permit    string  `json:"permit"`
				Call      string  `json:"call"`
				Error     string  `json:"error"`
				Cancelled bool    `json:"cancelled"`
			} `json:"outcomes"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return answer(req, http.StatusBadRequest, fmt.Sprintf(`{"error":{"code":"invalid_body","message":%q}}`, err.Error())), nil
		}
		c := Call{Op: OpReport, Circuit: id}
		for _, o := range doc.Outcomes {
			if o.Cancelled {
				e.calls = append(e.calls, Call{Op: OpCancel, Circuit: id, Name: o.Call})
				continue
			}
			c.Outcomes = append(c.Outcomes, client.Outcome{OK: o.OK, Latency: time.Duration(o.LatencyMs * float64(time.Millisecond)), Permit: o.Permit, Call: o.Call, Err: o.Error})
		}
		if len(c.Outcomes) > 0 {
			e.calls = append(e.calls, c)
		}
		return answerJSON(req, http.StatusAccepted, map[string]any{"accepted": len(doc.Outcomes)}), nil
	case req.Method == http.MethodGet && op == "":
		e.calls = append(e.calls, Call{Op: OpState, Circuit: id, Allowed: !open})
		return answerJSON(req, http.StatusOK, map[string]any{"id": id, "state": state, "allowed": !open, "override": override, "reason": "clienttest", "version": 1}), nil
	}
	return answer(req, http.StatusNotFound, `{"error":{"code":"unknown_endpoint","message":"no such endpoint"}}`), nil
}

func answerJSON(req *http.Request, status int, doc any) *http.Response {
	b, _ := json.Marshal(doc)
	return answer(req, status, string(b))
}

func answer(req *http.Request, status int, body string) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
