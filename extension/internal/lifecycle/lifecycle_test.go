package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/extensionsapi"
)

// fakeAPI hands out queued events.
type fakeAPI struct {
	registerErr error
	registered  atomic.Bool
	events      chan extensionsapi.Event
	nextErr     error
}

func (f *fakeAPI) Register(_ context.Context, name string, events ...extensionsapi.EventType) (extensionsapi.RegisterResponse, error) {
	if f.registerErr != nil {
		return extensionsapi.RegisterResponse{}, f.registerErr
	}
	if name != "breakerbox" || len(events) != 2 {
		return extensionsapi.RegisterResponse{}, errors.New("bad register")
	}
	f.registered.Store(true)
	return extensionsapi.RegisterResponse{FunctionName: "orders"}, nil
}

func (f *fakeAPI) Next(ctx context.Context) (extensionsapi.Event, error) {
	select {
	case ev, ok := <-f.events:
		if !ok {
			return extensionsapi.Event{}, f.nextErr
		}
		return ev, nil
	case <-ctx.Done():
		return extensionsapi.Event{}, ctx.Err()
	}
}

// fakeFlusher records flushes and the deadline of the last full one.
type fakeFlusher struct {
	mu       sync.Mutex
	full     int
	ifDue    int
	deadline time.Time
	delay    time.Duration
}

func (f *fakeFlusher) Flush(ctx context.Context) error {
	d, _ := ctx.Deadline()
	f.mu.Lock()
	f.full++
	f.deadline = d
	f.mu.Unlock()
	select {
	case <-time.After(f.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeFlusher) FlushIfDue(context.Context) error {
	f.mu.Lock()
	f.ifDue++
	f.mu.Unlock()
	return nil
}

func (f *fakeFlusher) counts() (int, int, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.full, f.ifDue, f.deadline
}

func TestInvokesFlushIfDueAndShutdownFlushesBeforeTheDeadline(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 4)}
	f := &fakeFlusher{}
	deadline := time.Now().Add(2 * time.Second)
	api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: "r1"}
	api.events <- extensionsapi.Event{EventType: "SOMETHING_NEW"}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Invoke, RequestID: "r2"}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, ShutdownReason: "spindown", DeadlineMs: deadline.UnixMilli()}
	var closed atomic.Bool
	var gotReg extensionsapi.RegisterResponse
	err := Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: time.Hour,
		OnShutdown: func(context.Context) { closed.Store(true) }}, func(r extensionsapi.RegisterResponse) { gotReg = r })
	if err != nil {
		t.Fatal(err)
	}
	full, ifDue, d := f.counts()
	if ifDue != 2 || full != 1 {
		t.Errorf("flushes: %d if due, %d full; want 2 (one per INVOKE) and 1 (SHUTDOWN)", ifDue, full)
	}
	if !d.Before(time.UnixMilli(deadline.UnixMilli())) || d.Before(deadline.Add(-time.Second)) {
		t.Errorf("final flush deadline %v, want a little before %v", d, deadline)
	}
	if !closed.Load() || gotReg.FunctionName != "orders" {
		t.Errorf("OnShutdown ran %v, registration seen %+v", closed.Load(), gotReg)
	}
}

// A SHUTDOWN whose flush would overrun is cut at the deadline: Run returns in time.
func TestShutdownStaysWithinTheDeadline(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 1)}
	f := &fakeFlusher{delay: time.Minute}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, ShutdownReason: "timeout", DeadlineMs: time.Now().Add(300 * time.Millisecond).UnixMilli()}
	start := time.Now()
	if err := Run(context.Background(), api, f, Options{Name: "breakerbox"}, nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Run took %s after a SHUTDOWN with 300ms left", el)
	}
}

func TestBackgroundFlusherRuns(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event, 1)}
	f := &fakeFlusher{}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), api, f, Options{Name: "breakerbox", FlushInterval: 10 * time.Millisecond}, nil)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ifDue, _ := f.counts(); ifDue >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background flusher did not run")
		}
		time.Sleep(5 * time.Millisecond)
	}
	api.events <- extensionsapi.Event{EventType: extensionsapi.Shutdown, DeadlineMs: time.Now().Add(time.Second).UnixMilli()}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	boom := errors.New("connection refused")
	if err := Run(context.Background(), &fakeAPI{registerErr: boom}, &fakeFlusher{}, Options{Name: "breakerbox"}, nil); !errors.Is(err, boom) {
		t.Errorf("register failure: %v", err)
	}
	api := &fakeAPI{events: make(chan extensionsapi.Event), nextErr: boom}
	close(api.events)
	if err := Run(context.Background(), api, &fakeFlusher{}, Options{Name: "breakerbox"}, nil); !errors.Is(err, boom) {
		t.Errorf("next failure: %v", err)
	}
}

// A signal (ctx ending) still flushes before Run returns.
func TestSignalFlushes(t *testing.T) {
	api := &fakeAPI{events: make(chan extensionsapi.Event)}
	f := &fakeFlusher{}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := Run(ctx, api, f, Options{Name: "breakerbox"}, nil); err != nil {
		t.Fatal(err)
	}
	if full, _, _ := f.counts(); full != 1 {
		t.Errorf("full flushes = %d, want 1", full)
	}
}
