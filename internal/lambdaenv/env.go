package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"time"
)

// Env is a local Lambda service: functions, their sandboxes and the Invoke API.
type Env struct {
	cfg      Config
	log      *slog.Logger
	out      *syncWriter
	upstream *url.URL
	handler  http.Handler

	asyncCtx    context.Context
	asyncCancel context.CancelFunc
	async       sync.WaitGroup

	mu      sync.Mutex
	funcs   map[string]*Function
	srv     *http.Server
	baseURL string
	closed  bool
}

// New validates cfg and returns an Env with no functions; call Start (or Serve) to serve the
// Invoke API, and Close to shut everything down.
func New(cfg Config) (*Env, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Env{cfg: cfg, log: cfg.Logger, out: &syncWriter{w: cfg.Output}, funcs: map[string]*Function{}}
	if cfg.Upstream != "" {
		u, err := url.Parse(cfg.Upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("lambdaenv: upstream %q: want an absolute http URL", cfg.Upstream)
		}
		e.upstream = u
	}
	e.asyncCtx, e.asyncCancel = context.WithCancel(context.Background())
	e.handler = e.routes()
	return e, nil
}

// Start listens on Config.Addr and serves the Invoke API in the background.
func (e *Env) Start() error {
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("lambdaenv: listen on %s: %w", e.cfg.Addr, err)
	}
	srv, err := e.setServer(ln)
	if err != nil {
		ln.Close()
		return err
	}
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Serve serves the Invoke API on ln until Close; it returns nil after Close.
func (e *Env) Serve(ln net.Listener) error {
	srv, err := e.setServer(ln)
	if err != nil {
		return err
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("lambdaenv: serve: %w", err)
	}
	return nil
}

func (e *Env) setServer(ln net.Listener) (*http.Server, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil, ErrClosed
	case e.srv != nil:
		return nil, errors.New("lambdaenv: the Invoke API is already being served")
	}
	e.srv = &http.Server{
		Handler:           e.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	e.baseURL = "http://" + ln.Addr().String()
	e.log.Info("Invoke API listening", "url", e.baseURL)
	return e.srv, nil
}

// URL returns the Invoke API's base URL (e.g. http://127.0.0.1:9001), "" before Start or Serve.
// Use it as the Lambda client's BaseEndpoint or AWS_ENDPOINT_URL_LAMBDA.
func (e *Env) URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.baseURL
}

// Handler returns the Invoke API handler (with the upstream proxy), for serving it yourself.
func (e *Env) Handler() http.Handler { return e.handler }

// AddFunction validates fc and adds the function. Its sandboxes start on the first invoke.
func (e *Env) AddFunction(fc FunctionConfig) (*Function, error) {
	cfg, err := fc.resolve()
	if err != nil {
		return nil, err
	}
	out := e.out
	if cfg.Output != nil {
		out = &syncWriter{w: cfg.Output}
	}
	f := &Function{env: e, cfg: cfg, out: out, log: e.log.With("function", cfg.Name)}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if _, dup := e.funcs[cfg.Name]; dup {
		return nil, fmt.Errorf("lambdaenv: function %s already exists", cfg.Name)
	}
	e.funcs[cfg.Name] = f
	e.log.Info("function added", "function", cfg.Name, "extensions", f.Extensions(), "timeout", cfg.Timeout.String(), "freeze", cfg.Freeze, "maxConcurrency", cfg.MaxConcurrency, "managedConcurrency", cfg.ManagedConcurrency)
	return f, nil
}

// Function returns the function with the given name (or ARN).
func (e *Env) Function(name string) (*Function, bool) {
	name, _ = FunctionNameFromARN(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	f, ok := e.funcs[name]
	return f, ok
}

// Invoke runs a synchronous invoke of the named function (a name or an ARN); see Function.Invoke.
// An unknown function is ErrFunctionNotFound.
func (e *Env) Invoke(ctx context.Context, name string, payload []byte) (Result, error) {
	f, ok := e.Function(name)
	if !ok {
		return Result{}, fmt.Errorf("lambdaenv: invoke %s: %w", name, ErrFunctionNotFound)
	}
	return f.Invoke(ctx, payload)
}

// InvokeAsync queues an asynchronous invoke (invocation type Event): it returns at once and the
// invoke runs in the background, retried while the function is at its maximum concurrency, until it
// has run or the Env is closed. Failures are logged.
func (e *Env) InvokeAsync(name string, payload []byte) error {
	if _, ok := e.Function(name); !ok {
		return fmt.Errorf("lambdaenv: invoke %s: %w", name, ErrFunctionNotFound)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	e.async.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.async.Done()
		backoff := 20 * time.Millisecond
		for {
			res, err := e.Invoke(e.asyncCtx, name, payload)
			switch {
			case errors.Is(err, ErrTooManyRequests):
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-e.asyncCtx.Done():
					t.Stop()
					e.log.Warn("async invoke dropped: environment closed", "function", name)
					return
				}
				backoff = min(2*backoff, time.Second)
				continue
			case err != nil:
				e.log.Warn("async invoke failed", "function", name, "error", err.Error())
			case res.FunctionError != "":
				e.log.Warn("async invoke returned a function error", "function", name, "requestId", res.RequestID, "payload", string(res.Payload))
			}
			return
		}
	}()
	return nil
}

// Close shuts everything down: no new asynchronous invokes; the invokes in flight run to their end
// while synchronous invokes are still taken (an invoke in flight may call another function); then
// no new invokes, SHUTDOWN (reason spindown) to every sandbox once its invoke has finished, and
// the Invoke API stops. If ctx ends first, what is left is killed and
// ctx's error is returned. Close is idempotent.
func (e *Env) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	funcs := make([]*Function, 0, len(e.funcs))
	for _, f := range e.funcs {
		funcs = append(funcs, f)
	}
	srv := e.srv
	e.mu.Unlock()

	e.asyncCancel()
	// An invoke in flight may call another function of this Env (the ventilator its workers): let
	// those in flight end while the functions still take invokes, so that what they call is not
	// refused, and retried by their SDK, until ctx's deadline kills them.
	var inflight []chan struct{}
	for _, f := range funcs {
		inflight = append(inflight, f.running()...)
	}
	for _, ch := range inflight {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
	var wg sync.WaitGroup
	for _, f := range funcs {
		wg.Go(func() { f.close(ctx) })
	}
	wg.Wait()
	asyncDone := make(chan struct{})
	go func() { e.async.Wait(); close(asyncDone) }()
	select {
	case <-asyncDone:
	case <-ctx.Done():
	}
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	e.log.Info("environment closed")
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lambdaenv: close: %w", err)
	}
	return nil
}

func baseName(p string) string { return filepath.Base(p) }
