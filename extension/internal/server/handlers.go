package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

var healthBody = []byte(`{"status":"ok"}`)

func (a *api) health(w http.ResponseWriter, _ *http.Request) {
	writeRaw(w, http.StatusOK, healthBody)
}

// circuitID reads and validates the {id} path parameter; on failure it has answered 400. chi
// routes on the escaped path, so an id whose characters were percent-encoded (the Python and Node
// clients send ':' as %3A) is unescaped first: it names the same circuit.
func circuitID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := chi.URLParam(r, "id")
	if strings.IndexByte(id, '%') >= 0 {
		raw := id
		var err error
		if id, err = url.PathUnescape(raw); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_id", fmt.Sprintf("invalid circuit id %q: %v; use only A-Z a-z 0-9 . _ : -", raw, err))
			return "", false
		}
	}
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
		writeError(w, http.StatusServiceUnavailable, "store_unavailable", fmt.Sprintf("circuit %q: DynamoDB cannot be read and no copy may be served: %s", id, store.Cause(err)))
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
	// acquire takes no body, or {"call":false} from a caller that reports a batch of calls under one
	// answer. One that is sent is read, so that an oversized one is refused like anywhere else and
	// one that carries other fields is refused rather than ignored; the usual request, without a
	// body, costs nothing here.
	name := true
	if r.ContentLength != 0 {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			bodyError(w, r, err)
			return
		}
		if name, err = decodeAcquireBody(raw); err != nil {
			writeRequestError(w, err)
			return
		}
	}
	var d breaker.Decision
	if name {
		d = a.svc.Acquire(r.Context(), id)
	} else {
		d = a.svc.AcquireBatch(r.Context(), id)
	}
	writeAppended(w, http.StatusOK, func(b []byte) []byte { return appendDecision(b, &d) })
}

func (a *api) outcomes(w http.ResponseWriter, r *http.Request) {
	id, ok := circuitID(w, r)
	if !ok {
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		bodyError(w, r, err)
		return
	}
	outs, err := decodeOutcomes(raw)
	if err != nil {
		writeRequestError(w, err)
		return
	}
	a.svc.Report(r.Context(), id, outs)
	a.afterReport(r.Context(), id)
	writeAppended(w, http.StatusAccepted, func(b []byte) []byte {
		b = append(b, `{"accepted":`...)
		b = strconv.AppendInt(b, int64(len(outs)), 10)
		return append(b, '}')
	})
}

// writeRequestError answers 400 for a body that is not what the endpoint takes.
func writeRequestError(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, http.StatusBadRequest, re.code, re.msg)
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_body", err.Error())
}

// bodyError answers a failed body read: 413 past the limit, 408 when the body did not come within
// the server's ReadTimeout, else 400.
func bodyError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body over 64 KiB")
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		within := ""
		if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.ReadTimeout > 0 {
			within = fmt.Sprintf(" within %v", srv.ReadTimeout)
		}
		writeError(w, http.StatusRequestTimeout, "request_timeout", "the request body did not arrive"+within+": send the whole body at once")
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
	CallsUnderWay    int   `json:"callsUnderWay"`
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
		FlushErrors: s.FlushErrors, OutcomesReceived: s.OutcomesReceived, OutcomesBuffered: s.OutcomesBuffered, CallsUnderWay: s.CallsUnderWay,
		AcquireAllowed: s.AcquireAllowed, AcquireDenied: s.AcquireDenied, PermitsGranted: s.PermitsGranted,
		Transitions: s.Transitions,
	})
}
