package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// Function is a function added to an Env: its configuration and its sandboxes.
type Function struct {
	env *Env
	cfg resolved
	log *slog.Logger
	out *syncWriter

	mu        sync.Mutex
	sandboxes []*sandbox
	closed    bool
	inflight  map[string]chan struct{} // by request id: closed when that invoke has ended
}

// Name returns the function's name.
func (f *Function) Name() string { return f.cfg.Name }

// ARN returns the function's unqualified ARN.
func (f *Function) ARN() string {
	return functionARN(f.env.cfg.Region, f.env.cfg.AccountID, f.cfg.Name)
}

// Extensions returns the names of the function's external extensions, in start order.
func (f *Function) Extensions() []string {
	out := make([]string, len(f.cfg.extensions))
	for i, p := range f.cfg.extensions {
		out[i] = baseName(p)
	}
	return out
}

// Invoke runs one synchronous invoke on an idle sandbox, creating one if the function is below its
// maximum concurrency. Function failures (including init failures and timeouts) are a Result with
// FunctionError set; the error is for platform failures: ErrTooManyRequests, ErrClosed or ctx
// ending (the invoke itself then still runs to its end, as in Lambda).
func (f *Function) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("lambdaenv: invoke %s: %w", f.cfg.Name, err)
	}
	sb, err := f.acquire()
	if err != nil {
		return Result{}, fmt.Errorf("lambdaenv: invoke %s: %w", f.cfg.Name, err)
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	inv := &invocation{id: newUUID(), arn: f.ARN(), trace: newTraceID(), payload: payload}
	ended := f.started(inv.id)
	done := make(chan Result, 1)
	go func() {
		defer ended()
		res := sb.invoke(inv)
		f.release(sb) // before the answer: an invoke that follows this one finds the sandbox free
		sb.report(inv, res)
		done <- res
	}()
	select {
	case res := <-done:
		return res, nil
	case <-ctx.Done():
		return Result{RequestID: inv.id}, fmt.Errorf("lambdaenv: invoke %s (request %s): %w", f.cfg.Name, inv.id, ctx.Err())
	}
}

// acquire reserves a sandbox with room for one more invoke (an idle one in the default model), the
// lowest-numbered first (the warmest), or creates one.
func (f *Function) acquire() (*sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	room := f.cfg.perSandbox()
	for _, sb := range f.sandboxes {
		if sb.active < room {
			sb.active++
			return sb, nil
		}
	}
	if len(f.sandboxes) >= f.cfg.MaxConcurrency {
		return nil, ErrTooManyRequests
	}
	sb, err := newSandbox(f, len(f.sandboxes))
	if err != nil {
		return nil, err
	}
	sb.active = 1
	f.sandboxes = append(f.sandboxes, sb)
	return sb, nil
}

// started records an invoke in flight; the function it returns records its end.
func (f *Function) started(id string) (ended func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	if f.inflight == nil {
		f.inflight = map[string]chan struct{}{}
	}
	f.inflight[id] = ch
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.inflight, id)
		f.mu.Unlock()
		close(ch)
	}
}

// running returns a channel per invoke in flight, closed when it ends.
func (f *Function) running() []chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]chan struct{}, 0, len(f.inflight))
	for _, ch := range f.inflight {
		out = append(out, ch)
	}
	return out
}

func (f *Function) release(sb *sandbox) {
	f.mu.Lock()
	sb.active--
	f.mu.Unlock()
}

// Sandboxes describes the function's sandboxes, in index order.
func (f *Function) Sandboxes() []SandboxInfo {
	f.mu.Lock()
	sbs := append([]*sandbox(nil), f.sandboxes...)
	busy := make([]bool, len(sbs))
	for i, sb := range sbs {
		busy[i] = sb.active > 0
	}
	f.mu.Unlock()
	out := make([]SandboxInfo, len(sbs))
	for i, sb := range sbs {
		out[i] = sb.info(busy[i])
	}
	return out
}

// close refuses new invokes and shuts every sandbox down (SHUTDOWN reason spindown) once its invoke,
// if any, has finished; if ctx ends first, remaining processes are killed.
func (f *Function) close(ctx context.Context) {
	f.mu.Lock()
	f.closed = true
	sbs := append([]*sandbox(nil), f.sandboxes...)
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, sb := range sbs {
		wg.Go(func() { sb.close(ctx) })
	}
	wg.Wait()
}
