package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

var healthBody = []byte(`{"status":"ok"}`)

func (a *api) health(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, healthBody)
}

// circuitID reads and validates the {id} path parameter; on failure it has answered 400.
func circuitID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := chi.URLParam(r, "id")
	if err := circuit.ValidateID(id); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_id", err.Error())
		return "", false
	}
	return id, true
}

func (a *api) get(w http.ResponseWriter, r *http.Request) {
	id, ok := circuitID(w, r)
	if !ok {
		return
	}
	v, err := a.svc.State(r.Context(), id)
	if err != nil {
		a.stateError(w, id, err)
		return
	}
	writeAppended(w, http.StatusOK, func(b []byte) []byte { return appendView(b, &v) })
}

// stateError answers a failed State: 404 unknown, 503 unreadable, 500 anything else.
func (a *api) stateError(w http.ResponseWriter, id string, err error) {
	switch {
	case errors.Is(err, breaker.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("circuit %q not found", id))
	case errors.Is(err, cache.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", fmt.Sprintf("circuit %q: DynamoDB cannot be read and no copy may be served", id))
	default:
		a.log.Warn("circuit state failed", "circuit", id, "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("circuit %q: %v", id, err))
	}
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	views := a.svc.List(r.Context())
	writeAppended(w, http.StatusOK, func(b []byte) []byte {
		b = append(b, `{"circuits":[`...)
		for i := range views {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendView(b, &views[i])
		}
		return append(b, "]}"...)
	})
}

func (a *api) acquire(w http.ResponseWriter, r *http.Request) {
	id, ok := circuitID(w, r)
	if !ok {
		return
	}
	// The body is not used, but it is read so that an oversized one is refused like anywhere else.
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		bodyError(w, err)
		return
	}
	d := a.svc.Acquire(r.Context(), id)
	writeAppended(w, http.StatusOK, func(b []byte) []byte { return appendDecision(b, &d) })
}

// outcomeJSON is one outcome as reported.
type outcomeJSON struct {
	OK        *bool    `json:"ok"`
	LatencyMs *float64 `json:"latencyMs"`
	Permit    string   `json:"permit"`
	Error     string   `json:"error"`
}

// reportJSON is {"outcomes":[...]} or a single outcome object.
type reportJSON struct {
	Outcomes []outcomeJSON `json:"outcomes"`
	outcomeJSON
}

const (
	maxLatency   = 24 * time.Hour
	maxPermitLen = 128
	maxErrLen    = 256
)

func (a *api) outcomes(w http.ResponseWriter, r *http.Request) {
	id, ok := circuitID(w, r)
	if !ok {
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		bodyError(w, err)
		return
	}
	var rep reportJSON
	if err := json.Unmarshal(raw, &rep); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "body is not valid JSON: "+err.Error())
		return
	}
	list := rep.Outcomes
	if list == nil {
		if rep.OK == nil {
			writeError(w, http.StatusBadRequest, "invalid_outcome", `want {"outcomes":[{"ok":true,"latencyMs":12}]} or one outcome object`)
			return
		}
		list = []outcomeJSON{rep.outcomeJSON}
	}
	outs := make([]breaker.Outcome, 0, len(list))
	for i, o := range list {
		out, err := o.parse()
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_outcome", fmt.Sprintf("outcome %d: %v", i, err))
			return
		}
		outs = append(outs, out)
	}
	a.svc.Report(r.Context(), id, outs)
	writeAppended(w, http.StatusAccepted, func(b []byte) []byte {
		b = append(b, `{"accepted":`...)
		b = strconv.AppendInt(b, int64(len(outs)), 10)
		return append(b, '}')
	})
}

func (o outcomeJSON) parse() (breaker.Outcome, error) {
	if o.OK == nil {
		return breaker.Outcome{}, errors.New(`"ok" (true or false) is required`)
	}
	var lat time.Duration
	if o.LatencyMs != nil {
		ms := *o.LatencyMs
		if math.IsNaN(ms) || ms < 0 || ms > float64(maxLatency/time.Millisecond) {
			return breaker.Outcome{}, fmt.Errorf(`"latencyMs" %v: want milliseconds from 0 to %d`, ms, maxLatency/time.Millisecond)
		}
		lat = time.Duration(ms * float64(time.Millisecond))
	}
	if len(o.Permit) > maxPermitLen {
		return breaker.Outcome{}, fmt.Errorf(`"permit" is longer than %d characters`, maxPermitLen)
	}
	e := o.Error
	if len(e) > maxErrLen {
		e = e[:maxErrLen]
	}
	return breaker.Outcome{OK: *o.OK, Latency: lat, Permit: o.Permit, Err: e}, nil
}

// bodyError answers a failed body read: 413 past the limit, else 400.
func bodyError(w http.ResponseWriter, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body over 64 KiB")
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_body", "cannot read the request body: "+err.Error())
}

// statsJSON is the body of GET /v1/stats.
type statsJSON struct {
	UptimeMs         int64 `json:"uptimeMs"`
	CacheHits        int64 `json:"cacheHits"`
	CacheMisses      int64 `json:"cacheMisses"`
	CacheEntries     int   `json:"cacheEntries"`
	StoreReads       int64 `json:"storeReads"`
	WindowReads      int64 `json:"windowReads"`
	StoreWrites      int64 `json:"storeWrites"`
	StoreErrors      int64 `json:"storeErrors"`
	StaleAnswers     int64 `json:"staleAnswers"`
	Unavailable      int64 `json:"unavailable"`
	Flushes          int64 `json:"flushes"`
	FlushErrors      int64 `json:"flushErrors"`
	OutcomesReceived int64 `json:"outcomesReceived"`
	OutcomesBuffered int64 `json:"outcomesBuffered"`
	AcquireAllowed   int64 `json:"acquireAllowed"`
	AcquireDenied    int64 `json:"acquireDenied"`
	PermitsGranted   int64 `json:"permitsGranted"`
	Transitions      int64 `json:"transitions"`
}

func (a *api) stats(w http.ResponseWriter, _ *http.Request) {
	s := a.svc.Stats()
	writeJSON(w, http.StatusOK, statsJSON{
		UptimeMs: time.Since(a.started).Milliseconds(), CacheHits: s.CacheHits, CacheMisses: s.CacheMisses,
		CacheEntries: s.CacheEntries, StoreReads: s.StoreReads, WindowReads: s.WindowReads, StoreWrites: s.StoreWrites,
		StoreErrors: s.StoreErrors, StaleAnswers: s.StaleAnswers, Unavailable: s.Unavailable, Flushes: s.Flushes,
		FlushErrors: s.FlushErrors, OutcomesReceived: s.OutcomesReceived, OutcomesBuffered: s.OutcomesBuffered,
		AcquireAllowed: s.AcquireAllowed, AcquireDenied: s.AcquireDenied, PermitsGranted: s.PermitsGranted,
		Transitions: s.Transitions,
	})
}
