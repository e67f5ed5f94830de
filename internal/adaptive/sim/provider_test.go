package sim

import (
	"slices"
	"testing"
	"time"
)

// serveAll admits calls of the given work (seconds) at time 0 and plays the provider's events until
// none is left, returning each call's completion time, or -1 for a refused call.
func serveAll(t *testing.T, d Discipline, capacity int, work []float64) []time.Duration {
	t.Helper()
	var clock agenda
	p := newProvider(d, &clock)
	p.setCapacity(0, capacity)
	done := make([]time.Duration, len(work))
	for id, w := range work {
		if !p.admit(0, id, w) {
			done[id] = -1
		}
	}
	var ids []int
	for {
		e, ok := clock.next()
		if !ok {
			return done
		}
		if e.kind != evProvider || e.ver != p.ver {
			continue
		}
		ids = p.complete(e.at, ids[:0])
		for _, id := range ids {
			done[id] = e.at
		}
	}
}

func TestProviderDisciplines(t *testing.T) {
	s := time.Second
	tests := []struct {
		d    Discipline
		want []time.Duration
	}{
		// Four calls of 1 s on capacity 2: sharing finishes all at 2 s, FIFO in two waves, limited
		// serves two and refuses two at once.
		{Shared, []time.Duration{2 * s, 2 * s, 2 * s, 2 * s}},
		{FIFO, []time.Duration{s, s, 2 * s, 2 * s}},
		{Limited, []time.Duration{s, s, -1, -1}},
	}
	for _, tt := range tests {
		got := serveAll(t, tt.d, 2, []float64{1, 1, 1, 1})
		for i := range got {
			if got[i] > 0 {
				got[i] = got[i].Round(time.Millisecond)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: completions %v, want %v", tt.d, got, tt.want)
		}
	}
}

func TestSharedProviderFinishesShortCallsFirst(t *testing.T) {
	// 1 s and 3 s of work on capacity 1: both progress at half speed until the short one is done
	// at 2 s, then the long one alone, done at 4 s.
	got := serveAll(t, Shared, 1, []float64{1, 3})
	if got[0].Round(time.Millisecond) != 2*time.Second || got[1].Round(time.Millisecond) != 4*time.Second {
		t.Errorf("completions %v, want [2s 4s]", got)
	}
}

func TestDroppedCallFreesTheProvider(t *testing.T) {
	var clock agenda
	p := newProvider(FIFO, &clock)
	p.setCapacity(0, 1)
	p.admit(0, 0, 10)
	p.admit(0, 1, 1)
	p.drop(500*time.Millisecond, 0) // the caller gave up on the first call
	var done []int
	for {
		e, ok := clock.next()
		if !ok {
			break
		}
		if e.kind == evProvider && e.ver == p.ver {
			done = p.complete(e.at, done)
			if len(done) == 1 && e.at != 1500*time.Millisecond {
				t.Errorf("the queued call finished at %v, want 1.5s (started when the first was dropped)", e.at)
			}
		}
	}
	if !slices.Equal(done, []int{1}) {
		t.Errorf("completed %v, want only call 1", done)
	}
}

func TestParseDiscipline(t *testing.T) {
	for _, d := range Disciplines {
		if got, err := ParseDiscipline(d.String()); err != nil || got != d {
			t.Errorf("ParseDiscipline(%q) = %v, %v", d, got, err)
		}
	}
	if _, err := ParseDiscipline("lifo"); err == nil {
		t.Error("ParseDiscipline(lifo) accepted")
	}
}
