package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/breakerbox/breakerbox/internal/extensionsapi"
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

// Options configure Run.
type Options struct {
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

// Registered is called once registration succeeded, with its answer (for start-up timing).
type Registered func(extensionsapi.RegisterResponse)

// Run registers, then serves events until SHUTDOWN, and returns nil after a clean shutdown. It
// returns an error when registration or /event/next fails; the caller reports it and exits non-zero.
func Run(ctx context.Context, api API, f Flusher, opt Options, onRegistered Registered) error {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg, err := api.Register(ctx, opt.Name, extensionsapi.Invoke, extensionsapi.Shutdown)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	if onRegistered != nil {
		onRegistered(reg)
	}

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
			if err := f.FlushIfDue(ctx); err != nil {
				log.Warn("flush before the next event failed; counts kept", "error", err.Error())
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
