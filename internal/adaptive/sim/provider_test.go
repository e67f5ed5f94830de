package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestProviderDisciplines(t *testing.T) {
	ph := Phase{Capacity: 2, Latency: time.Second}
	tests := []struct {
		d       Discipline
		timeout time.Duration
		want    []served
	}{
		// Four calls of 1 s on capacity 2: sharing finishes all at 2 s, FIFO in two waves.
		{Shared, 5 * time.Second, []served{{true, 2 * time.Second}, {true, 2 * time.Second}, {true, 2 * time.Second}, {true, 2 * time.Second}}},
		{FIFO, 5 * time.Second, []served{{true, time.Second}, {true, time.Second}, {true, 2 * time.Second}, {true, 2 * time.Second}}},
		{Shared, 1500 * time.Millisecond, []served{{false, 1500 * time.Millisecond}, {false, 1500 * time.Millisecond}, {false, 1500 * time.Millisecond}, {false, 1500 * time.Millisecond}}},
		{FIFO, 1500 * time.Millisecond, []served{{true, time.Second}, {true, time.Second}, {false, 1500 * time.Millisecond}, {false, 1500 * time.Millisecond}}},
	}
	for _, tt := range tests {
		p := provider{rng: rand.New(rand.NewPCG(1, 1)), timeout: tt.timeout, discipline: tt.d}
		out := make([]served, 4)
		p.serve(ph, out)
		for i := range out {
			if out[i] != tt.want[i] {
				t.Errorf("%s, timeout %v: call %d = %+v, want %+v", tt.d, tt.timeout, i, out[i], tt.want[i])
			}
		}
	}
}

func TestProviderOutage(t *testing.T) {
	p := provider{rng: rand.New(rand.NewPCG(1, 1)), timeout: 3 * time.Second, failFast: 50 * time.Millisecond}
	out := make([]served, 200)
	p.serve(Phase{ErrorRatio: 1, HangRatio: 0.5}, out)
	hung := 0
	for _, o := range out {
		if o.ok {
			t.Fatal("a call succeeded during an outage")
		}
		if o.latency == 3*time.Second {
			hung++
		}
	}
	if hung < 70 || hung > 130 {
		t.Errorf("%d of 200 calls hung, want about half", hung)
	}
}

func TestOverCapacity(t *testing.T) {
	out := []served{{true, 3 * time.Second}, {true, time.Second}, {true, 2 * time.Second}}
	if got := overCapacity(out, 1, nil); got != 2*time.Second {
		t.Errorf("overCapacity(c=1) = %v, want 2s (until the second longest call returns)", got)
	}
	if got := overCapacity(out, 3, nil); got != 0 {
		t.Errorf("overCapacity(c=3) = %v, want 0", got)
	}
	if got := overCapacity(out, 0, nil); got != 3*time.Second {
		t.Errorf("overCapacity(c=0) = %v, want 3s", got)
	}
}
