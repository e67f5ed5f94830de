package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/breakerbox/breakerbox/internal/extensionsapi"
	"github.com/breakerbox/breakerbox/internal/telemetryapi"
)

// API is the part of the Extensions API client the loop uses.
type API interface {
	Register(ctx context.Context, name string, events ...extensionsapi.EventType) (extensionsapi.RegisterResponse, error)
	Next(ctx context.Context) (extensionsapi.Event, error)
}

// Flusher writes buffered outcomes.
type Flusher interface {
	Flush(ctx context.Context) error
	FlushIfDue(ctx context.Context) error
}

// Waiter tells when the runtime has answered an invocation (telemetryapi.Listener).
type Waiter interface {
	WaitRuntimeDone(ctx context.Context, requestID string) (telemetryapi.RuntimeDone, error)
}

// Options configure Run.
type Options struct {
	// ManagedInstances runs the Lambda Managed Instances side: register for SHUTDOWN only (INVOKE
	// is refused there) and flush on the background clock, the environment never being frozen.
	ManagedInstances bool
	// Subscribe, in the default model, is called once registered; the Waiter it returns tells when
	// the runtime has answered an invocation. On INVOKE the loop then waits for that answer, flushes,
	// and only then asks for the next event, so what the invocation reported is written before the
	// environment can freeze. Nil, or a failed subscription: flush if due on INVOKE and ask for the
	// next event at once (what an invocation reports then waits, frozen, for the next thaw).
	Subscribe func(ctx context.Context) (Waiter, error)
	// Name is the extension's name (its executable's file name).
	Name string
	// FlushInterval is the background flusher's period.
	FlushInterval time.Duration
	// OnShutdown runs after the final flush, with what is left of the deadline (e.g. stopping the
	// HTTP server).
	OnShutdown func(ctx context.Context)
	// Logger receives the lifecycle's logs (default: discarded).
	Logger *slog.Logger
}

// signalGrace bounds the final flush when ctx ends (SIGTERM) instead of a SHUTDOWN event.
const signalGrace = 500 * time.Millisecond

// runtimeDoneGrace is how long after an invocation's deadline its runtimeDone is still waited for
// (Lambda reports a timed-out invocation at its deadline); maxMisses is how many invocations in a
// row may end without one before the loop stops waiting, so that a Telemetry API that went silent
// costs a few invocations their timeout at worst, never wedges the extension.
const (
	runtimeDoneGrace = 2 * time.Second
	maxMisses        = 2
	// noDeadline bounds the wait for an INVOKE that carries no deadline (Lambda's longest timeout).
	noDeadline = 15 * time.Minute
)

// Registered is called once registration succeeded, with its answer (for start-up timing).
type Registered func(extensionsapi.RegisterResponse)

// Run registers, then serves events until SHUTDOWN, and returns nil after a clean shutdown. It
// returns an error when registration or /event/next fails; the caller reports it and exits non-zero.
func Run(ctx context.Context, api API, f Flusher, opt Options, onRegistered Registered) error {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	events := []extensionsapi.EventType{extensionsapi.Invoke, extensionsapi.Shutdown}
	if opt.ManagedInstances {
		events = events[1:]
	}
	reg, err := api.Register(ctx, opt.Name, events...)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if onRegistered != nil {
		onRegistered(reg)
	}
	w := subscribe(ctx, opt, log)
	misses := 0

	bgCtx, stopBg := context.WithCancel(ctx)
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		background(bgCtx, f, opt.FlushInterval, log)
	}()
	defer func() { stopBg(); <-bgDone }()

	for {
		ev, err := api.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				log.Info("signalled: flushing and exiting", "grace", signalGrace.String())
				stopBg()
				<-bgDone
				shutdown(time.Now().Add(signalGrace), f, opt, log)
				return nil
			}
			return fmt.Errorf("next event: %w", err)
		}
		switch ev.EventType {
		case extensionsapi.Invoke:
			log.Debug("invoke", "requestId", ev.RequestID)
			if w == nil {
				if err := f.FlushIfDue(ctx); err != nil {
					log.Warn("flush before the next event failed; counts kept", "error", err.Error())
				}
				continue
			}
			if afterRuntime(ctx, w, f, ev, log) {
				misses = 0
			} else if misses++; misses >= maxMisses && ctx.Err() == nil {
				log.Error("no platform.runtimeDone for several invocations in a row: no longer waiting for it; outcomes are flushed every flush interval while the environment runs", "misses", misses)
				w = nil
			}
		case extensionsapi.Shutdown:
			log.Info("shutdown", "reason", ev.ShutdownReason, "deadlineMs", ev.DeadlineMs)
			stopBg()
			<-bgDone
			shutdown(ev.Deadline(), f, opt, log)
			return nil
		default:
			log.Warn("ignoring an unknown event type", "eventType", string(ev.EventType))
		}
	}
}

// subscribe sets up the wait for the runtime's answers in the default model; nil when there is none.
func subscribe(ctx context.Context, opt Options, log *slog.Logger) Waiter {
	if opt.ManagedInstances || opt.Subscribe == nil {
		return nil
	}
	w, err := opt.Subscribe(ctx)
	if err != nil {
		log.Warn("Telemetry API subscription failed: outcomes reported during an invocation are written when due, possibly only after the next thaw", "error", err.Error())
		return nil
	}
	return w
}

// afterRuntime waits until the runtime has answered the invocation of ev (or its deadline and a
// grace have passed), then flushes: what the invocation reported is written before the extension
// asks for its next event, after which the environment may freeze. It reports whether the answer
// was seen.
func afterRuntime(ctx context.Context, w Waiter, f Flusher, ev extensionsapi.Event, log *slog.Logger) bool {
	until := ev.Deadline()
	if until.IsZero() {
		until = time.Now().Add(noDeadline)
	}
	start := time.Now()
	wctx, cancel := context.WithDeadline(ctx, until.Add(runtimeDoneGrace))
	rd, err := w.WaitRuntimeDone(wctx, ev.RequestID)
	cancel()
	seen := err == nil
	if !seen && ctx.Err() == nil {
		log.Warn("no platform.runtimeDone before the invocation's deadline: flushing anyway", "requestId", ev.RequestID, "error", err.Error())
	}
	waited := time.Since(start)
	if err := f.Flush(ctx); err != nil {
		log.Warn("flush after the invocation failed; counts kept", "requestId", ev.RequestID, "error", err.Error())
	}
	log.Debug("invocation done", "requestId", ev.RequestID, "status", rd.Status, "waitMs", waited.Milliseconds(), "flushMs", (time.Since(start) - waited).Milliseconds())
	return seen
}

// background flushes every interval while the process runs (i.e. while the sandbox is thawed).
func background(ctx context.Context, f Flusher, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.FlushIfDue(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("background flush failed; counts kept", "error", err.Error())
			}
		}
	}
}

// shutdown flushes everything, then runs OnShutdown, within the deadline less a margin.
func shutdown(deadline time.Time, f Flusher, opt Options, log *slog.Logger) {
	if deadline.IsZero() {
		deadline = time.Now().Add(time.Second)
	}
	left := time.Until(deadline)
	margin := min(left/10, 200*time.Millisecond) // kept free before the deadline
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-margin))
	defer cancel()
	start := time.Now()
	if err := f.Flush(ctx); err != nil {
		log.Error("final flush failed: outcomes lost", "error", err.Error())
	} else {
		log.Info("final flush done", "ms", time.Since(start).Milliseconds())
	}
	if opt.OnShutdown != nil {
		opt.OnShutdown(ctx)
	}
}
