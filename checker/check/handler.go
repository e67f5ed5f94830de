package check

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/breakerbox/breakerbox/checker/input"
	"github.com/breakerbox/breakerbox/checker/internal/probe"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Defaults of Config.
const (
	// DefaultConcurrency bounds the probes in flight.
	// A probe is a goroutine and a socket waiting on the network, so the bound is there to cap
	// sockets and memory, not to pace work: with a bound below the number of hanging services a run
	// would take several timeouts, and the checker exists for the times services hang. Below the
	// Lambda file-descriptor limit (1024) with room to spare.
	DefaultConcurrency = 256
	// DefaultStoreConcurrency bounds the DynamoDB calls in flight. Each takes a few milliseconds, so
	// a few dozen write hundreds of results well within a second, over connections the SDK's pool
	// can keep open (see main, which sizes the pool to match).
	DefaultStoreConcurrency = 32
	// DefaultHeartbeat is how long a healthy check that changes nothing may go unwritten: the
	// circuit's checkedAt and lastLatencyMs are at most this old while all is well.
	DefaultHeartbeat = 5 * time.Minute
	// DefaultReserve is the time kept before the invocation's deadline for recording results: probes
	// still running then are abandoned and not recorded.
	DefaultReserve = 2 * time.Second
	// AnswerMargin is kept free before the invocation's deadline by every call the handler makes,
	// for it to log and return its summary.
	AnswerMargin = 200 * time.Millisecond
)

// Store is the part of *store.Store the handler uses.
type Store interface {
	GetMany(ctx context.Context, ids []string) (map[string]circuit.Circuit, error)
	GetConsistent(ctx context.Context, id string) (circuit.Circuit, error)
	Put(ctx context.Context, c circuit.Circuit) error
	Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error)
}

// Publisher sends state changes; *events.Publisher is one.
type Publisher interface {
	Publish(ctx context.Context, details ...events.Detail) error
}

// Config tunes a Handler. The zero value of each field means its default.
type Config struct {
	// Policy is the environment's policy; each circuit's own policy map applies over it.
	Policy circuit.Policy
	// Concurrency bounds the probes in flight (default DefaultConcurrency). A hanging probe holds a
	// probe slot only, never a store slot.
	Concurrency int
	// StoreConcurrency bounds the store calls in flight (default DefaultStoreConcurrency).
	StoreConcurrency int
	// Heartbeat is how often a check that changes nothing is still written (default
	// DefaultHeartbeat); negative writes every check.
	Heartbeat time.Duration
	// Reserve is kept before the invocation deadline for writes (default DefaultReserve).
	Reserve time.Duration
	// Now is the clock (default time.Now). Probe latencies are always measured on the real clock.
	Now func() time.Time
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
	// TLS is the probes' TLS configuration; nil means the system roots with full verification.
	TLS *tls.Config
}

// Handler checks targets. It is safe for concurrent use.
type Handler struct {
	store  Store
	pub    Publisher
	prober *probe.Prober
	cfg    Config
}

// New returns a Handler that records in st and publishes with pub. cfg.Policy must be valid.
func New(st Store, pub Publisher, cfg Config) (*Handler, error) {
	if st == nil || pub == nil {
		return nil, errors.New("check: a store and a publisher are required")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.StoreConcurrency <= 0 {
		cfg.StoreConcurrency = DefaultStoreConcurrency
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = DefaultReserve
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{store: st, pub: pub, prober: probe.New(cfg.TLS), cfg: cfg}, nil
}

// Handle is the Lambda handler: raw is the rule's constant input. Malformed input fails the
// invocation before anything is probed or written. The summary is returned (and logged) in every
// other case; the error is non-nil when some target's check could not be recorded, so the
// invocation shows up in the function's Errors metric.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Summary, error) {
	log := h.cfg.Logger
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("requestId", lc.AwsRequestID)
	}
	targets, err := input.Parse(raw)
	if err != nil {
		log.Error("invalid checker input", "error", err.Error())
		return Summary{}, err
	}
	// No read, write or publish may still be waiting at the deadline: a handler that has not answered
	// by then is a Lambda timeout, its summary and its run's log lost.
	if deadline, ok := ctx.Deadline(); ok {
		var cancelWork context.CancelFunc
		ctx, cancelWork = context.WithDeadlineCause(ctx, deadline.Add(-AnswerMargin), errors.New("invocation deadline near: time kept to answer"))
		defer cancelWork()
	}
	probeCtx, cancel := h.probeContext(ctx)
	defer cancel()
	known := h.readAll(ctx, targets, log)
	results := make([]TargetResult, len(targets))
	lim := newLimits(h.cfg.Concurrency, h.cfg.StoreConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.checkOne(ctx, probeCtx, t, known, lim, log.With("id", t.ID))
		}()
	}
	wg.Wait()
	sum := Summary{Targets: make([]TargetResult, 0, len(results))}
	for _, r := range results {
		sum.add(r)
	}
	log.Info("checker run", "targets", len(targets), "probed", sum.Probed, "healthy", sum.Healthy, "failed", sum.Failed,
		"skipped", sum.Skipped, "errors", sum.Errors, "transitions", sum.Transitions, "publishFailures", sum.PublishFailures)
	if sum.Errors > 0 {
		return sum, fmt.Errorf("check: %d of %d targets could not be recorded: %s", sum.Errors, len(targets), firstStoreError(sum))
	}
	return sum, nil
}

// readAll reads every target's circuit in a few batch calls, so probes start at once instead of
// after one read each. What it could not read is missing from the map and read again one by one.
func (h *Handler) readAll(ctx context.Context, targets []input.Target, log *slog.Logger) map[string]circuit.Circuit {
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.ID
	}
	found, err := h.store.GetMany(ctx, ids)
	if err != nil {
		// Keep what was read: only the rest is read again, one by one. Missing ids cannot be taken
		// for never-written circuits here, since their read may be what failed.
		log.Warn("batch read of circuits failed; reading the rest one by one", "read", len(found), "error", err.Error())
		return found
	}
	for _, id := range ids {
		if _, ok := found[id]; !ok {
			found[id] = circuit.Circuit{ID: id} // never written: the first observation creates it
		}
	}
	return found
}

// probeContext ends Reserve before ctx's deadline (the invocation's less AnswerMargin), so results
// can still be written.
func (h *Handler) probeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadlineCause(ctx, deadline.Add(-h.cfg.Reserve), errDeadlineNear)
}

// errDeadlineNear ends the probes Reserve before the invocation's deadline.
var errDeadlineNear = errors.New("invocation deadline near")

func firstStoreError(s Summary) string {
	for _, r := range s.Targets {
		if r.StoreError != "" {
			return fmt.Sprintf("%s: %s", r.ID, r.StoreError)
		}
	}
	return ""
}
