package breaker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerbox/breakerbox/extension/internal/cache"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/events"
	"github.com/breakerbox/breakerbox/internal/store"
)

// Store is the part of store.Circuits the breaker writes through (its reads go through the cache's
// Reader). *store.Store is one; the fleet simulator's in-memory store is another. The breaker never
// reads the clock itself (Options.Now) and starts no goroutine that outlives a call (a flush reads
// a window beside its writes and waits for it): a simulator drives it by calling
// Acquire, Report, WriteIfDue and Flush/FlushIfDue on a virtual clock.
type Store interface {
	AcquireProbe(ctx context.Context, id, permit string, base circuit.Policy, now time.Time) (circuit.Result, circuit.Decision, error)
	Update(ctx context.Context, id string, decide store.Decide) (circuit.Result, error)
	AddCounts(ctx context.Context, w store.CountsWrite, p circuit.Policy) error
	ReadWindow(ctx context.Context, id string, shards int, p circuit.Policy, now time.Time, with ...store.CountsWrite) ([]circuit.BucketCounts, error)
}

// ErrNotFound is returned by State for a circuit that does not exist.
var ErrNotFound = errors.New("circuit not found")

// Options configure a Breaker.
type Options struct {
	// Policy is the environment's policy; each circuit's own policy map applies over it.
	Policy circuit.Policy
	// FailOpen allows calls to circuits that are unknown or unreadable with no stale copy.
	FailOpen bool
	// Shards is the number of counter shards; Shard is this environment's (default: random).
	Shards int
	Shard  int
	// Writer names this environment in its counter writes, so a retried write counts once
	// (store.CountsWrite; default: 8 random characters).
	Writer string
	// WindowTTL is the longest a window read is reused before it is read again (the cache TTL).
	WindowTTL time.Duration
	// FlushInterval is the most often buffers are flushed by FlushIfDue, and the most often one
	// circuit's counts are written, by WriteIfDue and FlushIfDue together (the report path also
	// holds the calls that started within it after the last write; a run of failures that may trip
	// the circuit is judged at once; Flush writes everything).
	FlushInterval time.Duration
	// Settle is how long after a circuit's window is marked bad every environment that makes a call
	// knows the mark and has flushed its calls (circuit.Settle; default: from WindowTTL, FlushInterval
	// and a 1s store call): from then on the settled calls are the whole window's.
	Settle time.Duration
	// Lag is how long a call may take to reach the store after it was reported: a flush interval and a
	// store call (default: FlushInterval + 1s). A decision leaves out this environment's calls of the
	// last Lag, as the others' of that span may still be on their way. Calls held past it in an
	// environment that froze are not covered; they need not be, as whether a call is held does not
	// depend on how it went (reportHeld).
	Lag time.Duration
	// Now returns the wall-clock time (default time.Now).
	Now func() time.Time
	// NewPermit returns a new probe permit id (default: 26 random base32 characters).
	NewPermit func() string
	// Logger receives the breaker's logs (default: discarded).
	Logger *slog.Logger
	// Events publishes the transitions this environment writes, at the next flush, through an
	// events.Outbox (nil: not published).
	Events events.Sender
}

// Breaker is the extension's state: the cache, the outcome buffers and the counters.
type Breaker struct {
	store Store
	cache *cache.Cache
	opt   Options
	log   *slog.Logger

	mu       sync.Mutex
	pending  map[string]*buffer
	windows  map[string]*windowCopy
	inflight map[string]chan struct{} // permit attempts in flight, by circuit

	// flushing is held (a one-slot semaphore) by the flush in progress; taking it honours the
	// caller's context, so a write inside an invocation never waits past its deadline for another.
	flushing  chan struct{}
	lastFlush time.Time
	// written is when each circuit's counts were last sent to the store (or tried), by either path,
	// under mu: one budget, a circuit's counts are written at most once per FlushInterval (see
	// takeOne), and the report path holds back the calls that started less than FlushInterval after
	// it (reportHeld).
	written map[string]time.Time
	seq     atomic.Uint64 // the last counter write's sequence number
	// writing counts the calls of counter writes under way (taken out of pending by takeOne, not yet
	// written or restored by flushOne), so that Stats still shows them as buffered.
	writing atomic.Int64

	// invoked is set once the lifecycle has told of an INVOKE (the default model, Invoked); then
	// thawedAt is the last one's time and calling counts each circuit's calls allowed in this
	// environment and not reported yet, under mu: the background flusher leaves a circuit's counts
	// to the report that is coming (deferred).
	invoked  atomic.Bool
	thawedAt time.Time
	calling  map[string]int
	// passed holds the circuits whose held counts an INVOKE left to the reports (true), or that the
	// next INVOKE found with no report of them in between (false: not deferred again), under mu; a
	// report or a write of the circuit clears it.
	passed map[string]bool
	// running are the calls allowed and not reported yet, by circuit and number (Decision.Call is
	// its name, callName), and nRunning how many, under mu; callSeq numbers them (see running.go).
	running  map[string]map[uint64]running
	nRunning int
	callSeq  atomic.Uint64

	stats counters

	// toSend are written results whose transitions (or outbox) the next flush publishes.
	sendMu sync.Mutex
	toSend []sent

	// reasons are the fail-mode answers' reasons, built once rather than on every answer.
	reasons struct{ unknown, unavailable string }
}

// New returns a Breaker reading through c and writing through s.
func New(s Store, c *cache.Cache, opt Options) (*Breaker, error) {
	if opt.Shards < 1 {
		return nil, fmt.Errorf("breaker: %d counter shards, want at least 1", opt.Shards)
	}
	if opt.Shard < 0 || opt.Shard >= opt.Shards {
		opt.Shard = mrand.IntN(opt.Shards)
	}
	if err := opt.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("breaker: %w", err)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Settle <= 0 {
		opt.Settle = circuit.Settle(opt.WindowTTL, opt.FlushInterval, time.Second)
	}
	if opt.Lag <= 0 {
		opt.Lag = opt.FlushInterval + time.Second
	}
	if opt.Writer == "" {
		// 8 base32 characters (40 bits): short, because every counter item keeps one attribute per
		// writer and an ADD is billed by item size; two environments of a fleet sharing a name in
		// one shard is a chance of about E²/(S·2⁴¹).
		opt.Writer = rand.Text()[:8]
	}
	if err := store.ValidateWriter(opt.Writer); err != nil {
		return nil, fmt.Errorf("breaker: %w", err)
	}
	if opt.NewPermit == nil {
		opt.NewPermit = rand.Text
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Breaker{
		store: s, cache: c, opt: opt, log: opt.Logger,
		pending: map[string]*buffer{}, windows: map[string]*windowCopy{}, inflight: map[string]chan struct{}{},
		flushing: make(chan struct{}, 1), written: map[string]time.Time{}, calling: map[string]int{}, passed: map[string]bool{},
		running:   map[string]map[uint64]running{},
		lastFlush: opt.Now().Round(0),
	}
	mode := "closed"
	if opt.FailOpen {
		mode = "open"
	}
	b.reasons.unknown = "unknown circuit; fail mode " + mode
	b.reasons.unavailable = "circuit state unavailable; fail mode " + mode
	return b, nil
}

// Shard is this environment's counter shard.
func (b *Breaker) Shard() int { return b.opt.Shard }

// Cache is the circuit cache.
func (b *Breaker) Cache() *cache.Cache { return b.cache }

// now is the wall-clock time without a monotonic reading.
func (b *Breaker) now() time.Time { return b.opt.Now().Round(0) }

// policyFor is the circuit's policy: its own map over the environment's. A map that does not apply
// is logged and ignored.
func (b *Breaker) policyFor(c circuit.Circuit) circuit.Policy {
	p, err := store.PolicyFor(b.opt.Policy, c)
	if err != nil {
		b.log.Warn("ignoring the circuit's policy map", "circuit", c.ID, "error", err.Error())
	}
	return p
}
