package server

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// TokenHeader carries the caller's token.
const TokenHeader = "X-Breakerbox-Token"

// Service is what the API serves; *breaker.Breaker is one.
type Service interface {
	State(ctx context.Context, id string) (breaker.View, error)
	List(ctx context.Context) []breaker.View
	Acquire(ctx context.Context, id string) breaker.Decision
	AcquireBatch(ctx context.Context, id string) breaker.Decision
	Report(ctx context.Context, id string, outs []breaker.Outcome)
	Due(id string) breaker.Stake
	WriteIfDue(ctx context.Context, id string) error
	Stats() breaker.Stats
}

// Options configure the API.
type Options struct {
	// Token, when set, is required in X-Breakerbox-Token on every request but /healthz.
	Token string
	// Logger receives request problems (default: discarded).
	Logger *slog.Logger
	// Started is when the extension started, for the stats' uptime (default: now).
	Started time.Time
	// Bound, when set, bounds every request's context (the default model: by the deadline of the
	// invocation in progress less a margin, lifecycle.Deadline.Bound), so no wait or write the
	// extension makes for the function outlasts the invocation.
	Bound func(context.Context) (context.Context, context.CancelFunc)
	// WriteOnReport makes a report write what it puts at stake before it is answered (the default
	// model, where the environment may freeze as soon as the function answers; see report.go). Off
	// (Lambda Managed Instances, never frozen): reports only buffer, for the background flusher.
	WriteOnReport bool
}

type api struct {
	svc           Service
	token         []byte
	log           *slog.Logger
	started       time.Time
	bound         func(context.Context) (context.Context, context.CancelFunc)
	writeOnReport bool
	// countsWriting is set while a background write of a marked circuit's calls is in flight.
	countsWriting atomic.Bool
}

// Handler returns the HTTP API over svc.
func Handler(svc Service, opt Options) http.Handler {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Started.IsZero() {
		opt.Started = time.Now()
	}
	a := &api{svc: svc, log: opt.Logger, started: opt.Started, bound: opt.Bound, writeOnReport: opt.WriteOnReport}
	if opt.Token != "" {
		a.token = []byte(opt.Token)
	}
	r := chi.NewRouter()
	r.Use(a.recoverer, a.auth, limitBody)
	if a.bound != nil {
		r.Use(a.deadline)
	}
	r.NotFound(func(w http.ResponseWriter, req *http.Request) { notFound(w, req, r) })
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) { methodNotAllowed(w, req, r) })
	// Every GET answers HEAD too (RFC 9110 asks it of a server; health checkers send it): net/http
	// drops the body and keeps the headers.
	for path, h := range map[string]http.HandlerFunc{"/healthz": a.health, "/v1/stats": a.stats, "/v1/circuits": a.list, "/v1/circuits/{id}": a.get} {
		r.Get(path, h)
		r.Head(path, h)
	}
	r.Post("/v1/circuits/{id}/acquire", a.acquire)
	r.Post("/v1/circuits/{id}/outcomes", a.outcomes)
	return r
}

// ReadTimeout bounds the read of one request, headers and body, from its first byte. The function
// sends a request of at most 64 KiB on loopback in one piece: a client that trickles its body (one
// byte a second) would otherwise hold a connection and its goroutine for as long as it likes.
const ReadTimeout = 10 * time.Second

// readTimeout is ReadTimeout, shortened by tests.
var readTimeout = ReadTimeout

// NewServer wraps the handler in an http.Server that bounds the read of each request (ReadTimeout;
// a body not in by then is answered 408). Keep-alive connections get no idle timeout (IdleTimeout
// would otherwise default to ReadTimeout): the function holds them across freezes, and a
// server-side close would make its next POST fail. There is no write timeout either: the only
// client is the function on loopback, and setting a deadline on every answer costs the hot path for
// nothing.
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       -1,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
}

// recoverer turns a panic in a handler into a 500 JSON error; the process keeps serving.
func (a *api) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// auth checks the token (constant time) on every path but /healthz.
func (a *api) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.token != nil && r.URL.Path != "/healthz" {
			vals := r.Header[TokenHeader]
			if len(vals) == 0 || vals[0] == "" {
				writeError(w, http.StatusUnauthorized, "unauthorized", "missing "+TokenHeader+" header: send the function's AWS_SESSION_TOKEN")
				return
			}
			if len(vals) > 1 {
				// Which one would count? Header.Get takes the first and lets a wrong second pass.
				writeError(w, http.StatusUnauthorized, "unauthorized", TokenHeader+" given "+strconv.Itoa(len(vals))+" times: send it once")
				return
			}
			if subtle.ConstantTimeCompare([]byte(vals[0]), a.token) != 1 {
				writeError(w, http.StatusUnauthorized, "unauthorized", "wrong "+TokenHeader+": send the AWS_SESSION_TOKEN of this function's environment")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadline bounds the request's context with Options.Bound.
func (a *api) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := a.bound(r.Context())
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody refuses a query string (the API takes none), declared bodies over MaxBody and
// compressed ones, and caps the others.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			// Ignored, ?call=false would name the call it meant not to, without a word.
			writeError(w, http.StatusBadRequest, "invalid_query", "the API takes no query parameters, got ?"+truncate(r.URL.RawQuery, 80)+
				`: send the path alone (acquire's one option is its body, {"call":false})`)
			return
		}
		if r.ContentLength > MaxBody {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "request body over 64 KiB")
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			if ce := r.Header["Content-Encoding"]; len(ce) > 0 && !identity(ce) {
				// Read as it is, a gzip body is "not valid JSON: invalid character '\x1f'", which
				// sends its sender looking in the wrong place.
				w.Header().Set("Accept-Encoding", "identity")
				writeError(w, http.StatusUnsupportedMediaType, "unsupported_encoding",
					"Content-Encoding "+strings.Join(ce, ", ")+" is not supported: send the body uncompressed (it is at most 64 KiB)")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// identity reports whether the Content-Encoding values ce leave the body as it is.
func identity(ce []string) bool {
	for _, v := range ce {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return false
			}
		}
	}
	return true
}

// truncate cuts s to at most n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
