package circuit

import "testing"

func TestClearlyAtRate(t *testing.T) {
	p := DefaultPolicy() // 50 % failures, 50 % slow calls
	for _, tt := range []struct {
		w    Counts
		want bool
	}{
		{Counts{Calls: 10, Failures: 5}, false},    // 50 % of 10: at the threshold, not beyond doubt
		{Counts{Calls: 10, Failures: 8}, false},    // lower bound 0.44
		{Counts{Calls: 10, Failures: 9}, true},     // lower bound 0.53
		{Counts{Calls: 90, Failures: 58}, true},    // 64 %: lower bound 0.52
		{Counts{Calls: 90, Failures: 55}, false},   // 61 %: could be under 50 %
		{Counts{Calls: 100, Slow: 80}, true},       // the slow-call rate counts too
		{Counts{Calls: 1000, Failures: 540}, true}, // a large sample narrows the bound: 0.503
		{Counts{Calls: 1000, Failures: 530}, false},
		{Counts{}, false},
	} {
		if got := p.clearlyAtRate(tt.w); got != tt.want {
			t.Errorf("clearlyAtRate(%+v) = %v, want %v (failure bound %.3f)", tt.w, got, tt.want, wilsonLower(tt.w.Failures, max(tt.w.Calls, 1)))
		}
	}
}
