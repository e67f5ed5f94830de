package lifecycle

import (
	"context"
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

// Flusher writes buffered outcomes: FlushIfDue what is due (the background flusher), Flush
// everything (SHUTDOWN). Invoked is told of each INVOKE before the flush it pokes (the default
// model only), so what the report path will carry is left to it.
type Flusher interface {
	Flush(ctx context.Context) error
	FlushIfDue(ctx context.Context) error
	Invoked()
}

// Options configure Run.
type Options struct {
	// ManagedInstances runs the Lambda Managed Instances side: register for SHUTDOWN only (INVOKE
	// is refused there) and flush on the background clock, the environment never being frozen.
	ManagedInstances bool
	// Name is the extension's name (its executable's file name).
	Name string
	// FlushInterval paces the background flusher: it calls FlushIfDue four times per interval, so
	// a flush falls due at most a quarter interval late.
	FlushInterval time.Duration
	// Deadline, when set, receives each INVOKE's deadline, for the report path to bound its writes
	// by; the background flushes are bounded by it too. Nil: Run keeps its own.
	Deadline *Deadline
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
	if opt.Deadline == nil {
		opt.Deadline = &Deadline{}
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

	bg := &background{f: f, every: opt.FlushInterval, deadline: opt.Deadline, log: log, kick: make(chan struct{}, 1)}
	bgCtx, stopBg := context.WithCancel(ctx)
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		bg.run(bgCtx)
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
			// The extension stops, and the caller exits non-zero: write what it holds first (within
			// the same short grace as a signal), or the failures it was told of are lost with it.
			log.Error("next event failed: flushing and stopping", "error", err.Error(), "grace", signalGrace.String())
			stopBg()
			<-bgDone
			shutdown(time.Now().Add(signalGrace), f, opt, log)
			return fmt.Errorf("next event: %w", err)
		}
		switch ev.EventType {
		case extensionsapi.Invoke:
			// Ask for the next event at once: the environment is not held a moment after the
			// runtime's answer. The report path writes what is at stake before the function answers.
			opt.Deadline.Set(ev.Deadline())
			f.Invoked()
			bg.poke()
			log.Debug("invoke", "requestId", ev.RequestID, "deadlineMs", ev.DeadlineMs)
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

// background is the flusher that runs while the process runs (i.e. while the environment is
// thawed): four times per flush interval and at each INVOKE (poke), it writes what is due.
type background struct {
	f        Flusher
	every    time.Duration
	deadline *Deadline
	log      *slog.Logger
	kick     chan struct{}
}

// poke asks for a flush if due now, without waiting: an INVOKE has just thawed the environment,
// and what an earlier invocation left buffered may be due.
func (b *background) poke() {
	select {
	case b.kick <- struct{}{}:
	default: // one is already asked for
	}
}

func (b *background) run(ctx context.Context) {
	var tick <-chan time.Time
	if b.every > 0 {
		t := time.NewTicker(max(b.every/4, time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-b.kick:
		}
		fctx, cancel := b.deadline.Bound(ctx)
		if err := b.f.FlushIfDue(fctx); err != nil && ctx.Err() == nil {
			b.log.Warn("background flush failed; counts kept", "error", err.Error())
		}
		cancel()
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
