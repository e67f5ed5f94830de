package circuit

import (
	"testing"
	"time"
)

// breaker drives one circuit through a sequence of decisions the way the store does: every Changed
// result is written (its Version must be one above the stored one), anything else is dropped.
type breaker struct {
	t   *testing.T
	p   Policy
	now time.Time
	c   Circuit
	trs []Transition
}

func newBreaker(t *testing.T, p Policy) *breaker {
	return &breaker{t: t, p: p, now: t0, c: Circuit{ID: cid}}
}

func (b *breaker) apply(r Result) Result {
	b.t.Helper()
	if r.Changed {
		if r.Circuit.Version != b.c.Version+1 {
			b.t.Fatalf("Changed result at version %d over stored version %d", r.Circuit.Version, b.c.Version)
		}
		b.c = r.Circuit
		if r.Transition.Happened() {
			b.trs = append(b.trs, r.Transition)
		}
	} else if r.Circuit.Version != b.c.Version {
		b.t.Fatalf("unchanged result moved the version from %d to %d", b.c.Version, r.Circuit.Version)
	}
	return r
}

func (b *breaker) observe(obs Observation) Result { return b.apply(Observe(b.c, obs, b.p, b.now)) }

func (b *breaker) acquire(permit string) Decision {
	r, d := Acquire(b.c, permit, b.p, b.now)
	b.apply(r)
	return d
}

func (b *breaker) advance(d time.Duration) { b.now = b.now.Add(d) }

// toRetry moves the clock to the circuit's RetryAt.
func (b *breaker) toRetry() {
	b.t.Helper()
	if b.c.State != Open || b.c.RetryAt.IsZero() {
		b.t.Fatalf("toRetry on %s circuit with RetryAt %v", b.c.State, b.c.RetryAt)
	}
	b.now = b.c.RetryAt
}

func (b *breaker) wantState(s State) {
	b.t.Helper()
	if b.c.State != s {
		b.t.Fatalf("state %s (%s), want %s", b.c.State, b.c.Reason, s)
	}
}

func (b *breaker) wantReason(r string) {
	b.t.Helper()
	if b.c.Reason != r {
		b.t.Fatalf("reason\n got: %s\nwant: %s", b.c.Reason, r)
	}
}

func TestLifecycleTripProbeAndRecover(t *testing.T) {
	b := newBreaker(t, DefaultPolicy())

	b.observe(Observation{Outcomes: []Outcome{okCall(40)}, Window: Counts{Calls: 1}})
	b.wantState(Closed)
	if b.c.Version != 1 || !b.c.Since.Equal(t0) {
		t.Fatalf("created at version %d since %v, want 1 since t0", b.c.Version, b.c.Since)
	}

	// 8 of 13 calls fail, never three in a row.
	b.advance(20 * time.Second)
	f, s := failCall("status 503"), okCall(80)
	b.observe(Observation{Outcomes: []Outcome{f, f, s, f, f, s, f, f, s, f, s, f, s}, Window: Counts{Calls: 13, Failures: 8}})
	b.wantState(Open)
	b.wantReason("failure rate 62% ≥ 50% over 13 calls; open for 33s") // 32.555s: jitter for version 2
	if b.c.OpenCount != 1 || !b.c.RetryAt.Equal(b.now.Add(b.p.OpenDurationFor(cid, 1, 2))) {
		t.Fatalf("OpenCount %d RetryAt %v", b.c.OpenCount, b.c.RetryAt)
	}

	// Fail fast until RetryAt.
	b.advance(10 * time.Second)
	if d := b.acquire("a"); d.Allowed || !d.RetryAt.Equal(b.c.RetryAt) {
		t.Fatalf("acquire while OPEN = %+v", d)
	}
	b.toRetry()
	if d := b.acquire("a"); !d.Allowed || d.Permit != "a" {
		t.Fatalf("acquire at RetryAt = %+v, want the first permit", d)
	}
	b.wantState(HalfOpen)
	b.wantReason("open time over after 33s; probing")
	if d := b.acquire("b"); d.Allowed {
		t.Fatalf("second acquire in HALF_OPEN with one probe = %+v, want denied", d)
	}

	b.advance(300 * time.Millisecond)
	b.observe(Observation{Outcomes: []Outcome{permitted(okCall(300), "a")}})
	b.wantState(HalfOpen)
	if b.c.ProbeSuccesses != 1 || len(b.c.Probes) != 0 {
		t.Fatalf("after one good probe: successes %d probes %v", b.c.ProbeSuccesses, b.c.Probes)
	}
	if d := b.acquire("c"); !d.Allowed || d.Permit != "c" {
		t.Fatalf("acquire after the probe reported = %+v", d)
	}
	b.advance(300 * time.Millisecond)
	b.observe(Observation{Outcomes: []Outcome{permitted(okCall(300), "c")}})
	b.wantState(Closed)
	b.wantReason("2 successful probes")
	if b.c.OpenCount != 0 || b.c.ProbeSuccesses != 0 || len(b.c.Probes) != 0 || !b.c.RetryAt.IsZero() {
		t.Fatalf("closed circuit keeps half-open state: %+v", b.c)
	}

	// OpenCount was reset: the next trip is 30s ± jitter again, not 60s.
	b.advance(time.Minute)
	b.observe(Observation{Outcomes: repeat(3, failCall("timeout")), Window: Counts{Calls: 3, Failures: 3}})
	b.wantState(Open)
	if b.c.OpenCount != 1 || !within(b.c.RetryAt.Sub(b.now), 30*time.Second) {
		t.Fatalf("next trip OpenCount %d, open for %v; want 1 and 30s ± 10%%", b.c.OpenCount, b.c.RetryAt.Sub(b.now))
	}

	want := []Transition{
		{From: "CLOSED", To: "OPEN", Version: 2},
		{From: "OPEN", To: "HALF_OPEN", Version: 3},
		{From: "HALF_OPEN", To: "CLOSED", Version: 6},
		{From: "CLOSED", To: "OPEN", Version: 7},
	}
	if len(b.trs) != len(want) {
		t.Fatalf("transitions %+v", b.trs)
	}
	for i, tr := range b.trs {
		if tr.From != want[i].From || tr.To != want[i].To || tr.Version != want[i].Version || tr.Reason == "" || tr.At.IsZero() {
			t.Errorf("transition %d = %+v, want %s→%s at version %d", i, tr, want[i].From, want[i].To, want[i].Version)
		}
	}
}

func TestBackoffDoublesAfterEveryFailedProbeUpToTheCap(t *testing.T) {
	b := newBreaker(t, DefaultPolicy())
	b.observe(Observation{Outcomes: repeat(3, failCall("timeout")), Window: Counts{Calls: 3, Failures: 3}})
	b.wantState(Open)
	b.wantReason("3 consecutive failures; open for 30s")

	bases := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	reasons := []string{
		"3 consecutive failures; open for 30s",
		"probe failed (timeout); open for 1m6s",
		"probe failed (timeout); open for 1m54s",
		"probe failed (timeout); open for 3m51s",
		"probe failed (timeout); open for 7m17s",
		"probe failed (timeout); open for 9m59s",
		"probe failed (timeout); open for 10m37s", // jitter is applied after the cap
	}
	for i, base := range bases {
		b.wantReason(reasons[i])
		if b.c.OpenCount != i+1 {
			t.Fatalf("open %d: OpenCount %d", i+1, b.c.OpenCount)
		}
		if d := b.c.RetryAt.Sub(b.c.Since); !within(d, base) {
			t.Fatalf("open %d lasts %v, want %v ± 10%%", i+1, d, base)
		}
		if i == len(bases)-1 {
			break
		}
		b.toRetry()
		if d := b.acquire("probe"); !d.Allowed {
			t.Fatalf("open %d: no permit at RetryAt", i+1)
		}
		b.advance(5 * time.Second)
		b.observe(Observation{Outcomes: []Outcome{permitted(failCall("timeout"), "probe")}})
		b.wantState(Open)
	}
}

func TestLeaseExpiryFreesTheProbe(t *testing.T) {
	b := newBreaker(t, DefaultPolicy()) // HalfOpenProbes 1, ProbeLease 30s
	b.observe(Observation{Outcomes: repeat(3, failCall("timeout"))})
	b.toRetry()
	if d := b.acquire("lost"); !d.Allowed || d.Permit != "lost" {
		t.Fatalf("first acquire = %+v", d)
	}
	leaseEnd := b.now.Add(30 * time.Second)

	b.advance(30*time.Second - time.Nanosecond)
	if d := b.acquire("next"); d.Allowed || !d.RetryAt.Equal(leaseEnd) {
		t.Fatalf("acquire while the lease lives = %+v, want denied until %v", d, leaseEnd)
	}
	b.advance(time.Nanosecond)
	if d := b.acquire("next"); !d.Allowed || d.Permit != "next" {
		t.Fatalf("acquire when the lease ended = %+v, want granted", d)
	}
	if len(b.c.Probes) != 1 || b.c.Probes[0].Permit != "next" {
		t.Fatalf("probes %v, want only the new one", b.c.Probes)
	}

	// The lost caller reports late: its permit is void, so its failure is not a trial.
	b.advance(time.Second)
	if r := b.observe(Observation{Outcomes: []Outcome{permitted(failCall("timeout"), "lost")}}); r.Changed {
		t.Fatalf("void permit's outcome changed the circuit: %+v", r.Circuit)
	}
	b.wantState(HalfOpen)
	b.observe(Observation{Outcomes: []Outcome{permitted(okCall(5), "next")}})
	if b.c.ProbeSuccesses != 1 {
		t.Fatalf("ProbeSuccesses %d, want 1", b.c.ProbeSuccesses)
	}
}

func TestOverridesWinOverEverything(t *testing.T) {
	b := newBreaker(t, DefaultPolicy())
	b.observe(Observation{Outcomes: []Outcome{okCall(1)}})
	b.apply(Force(b.c, ForcedOpen, "maintenance", b.now))
	if b.c.State != Open || !b.c.RetryAt.IsZero() || b.c.Label() != "FORCED_OPEN" {
		t.Fatalf("forced open: %+v", b.c)
	}
	for range 3 {
		b.advance(time.Hour)
		if d := b.acquire("x"); d.Allowed {
			t.Fatal("FORCED_OPEN allowed a call")
		}
		if r := b.observe(Observation{Outcomes: repeat(5, probed(okCall(1))), Window: Counts{Calls: 50}}); r.Changed {
			t.Fatal("FORCED_OPEN changed on successes")
		}
	}

	b.apply(Force(b.c, ForcedClosed, "incident 42", b.now))
	for range 3 {
		b.advance(time.Minute)
		if d := b.acquire("x"); !d.Allowed {
			t.Fatal("FORCED_CLOSED denied a call")
		}
		if r := b.observe(Observation{Outcomes: repeat(50, failCall("timeout")), Window: Counts{Calls: 50, Failures: 50}}); r.Changed {
			t.Fatal("FORCED_CLOSED changed on failures")
		}
	}

	b.apply(Clear(b.c, "done", b.now))
	b.wantState(Closed)
	b.wantReason("override cleared: done")
	if b.c.Override != NoOverride || b.c.Label() != "CLOSED" {
		t.Fatalf("cleared: %+v", b.c)
	}
	// Automatic again: three failures trip.
	b.observe(Observation{Outcomes: repeat(3, failCall("timeout"))})
	b.wantState(Open)
	if got := b.trs[len(b.trs)-1]; got.From != "CLOSED" || got.To != "OPEN" {
		t.Fatalf("last transition %+v", got)
	}
	wantLabels := [][2]string{{"CLOSED", "FORCED_OPEN"}, {"FORCED_OPEN", "FORCED_CLOSED"}, {"FORCED_CLOSED", "CLOSED"}, {"CLOSED", "OPEN"}}
	if len(b.trs) != len(wantLabels) {
		t.Fatalf("transitions %+v", b.trs)
	}
	for i, w := range wantLabels {
		if b.trs[i].From != w[0] || b.trs[i].To != w[1] {
			t.Errorf("transition %d %s→%s, want %s→%s", i, b.trs[i].From, b.trs[i].To, w[0], w[1])
		}
	}
}
