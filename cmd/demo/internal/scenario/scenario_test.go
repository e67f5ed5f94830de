package scenario

import (
	"strings"
	"testing"
	"time"
)

func demoScenario() Scenario {
	return Scenario{Phases: []Phase{
		{Name: "healthy", Duration: 10 * time.Second, Healthy: true},
		{Name: "degraded", Duration: 5 * time.Second, ErrorRate: 0.2, SlowRate: 0.3, Healthy: true},
		{Name: "down", Duration: 5 * time.Second, ErrorRate: 1},
	}}
}

func TestIndexAndOffset(t *testing.T) {
	s := demoScenario()
	for _, tc := range []struct {
		at   time.Duration
		want int
	}{{-time.Second, 0}, {0, 0}, {9999 * time.Millisecond, 0}, {10 * time.Second, 1}, {15 * time.Second, 2}, {time.Hour, 2}} {
		if got := s.Index(tc.at); got != tc.want {
			t.Errorf("Index(%s) = %d, want %d", tc.at, got, tc.want)
		}
	}
	if got := s.Offset(2); got != 15*time.Second {
		t.Errorf("Offset(2) = %s, want 15s", got)
	}
	if got := s.Offset(3); got != s.Duration() || got != 20*time.Second {
		t.Errorf("Offset(3) = %s, want the duration 20s", got)
	}
	if s.Find("down") != 2 || s.Find("nope") != -1 {
		t.Errorf("Find: got %d and %d", s.Find("down"), s.Find("nope"))
	}
}

func TestValidate(t *testing.T) {
	if err := demoScenario().Validate(); err != nil {
		t.Fatalf("valid scenario: %v", err)
	}
	bad := Scenario{Phases: []Phase{{Name: "x", Duration: 0, ErrorRate: 0.7, SlowRate: 0.5}, {Duration: time.Second, ErrorRate: -1}}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid scenario accepted")
	}
	for _, want := range []string{"length 0s", "more than 1", "no name", "between 0 and 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if (Scenario{}).Validate() == nil {
		t.Error("empty scenario accepted")
	}
}

func TestClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(demoScenario(), func() time.Time { return now })
	if i, p := c.Current(); i != 0 || p.Name != "healthy" || c.Over() || c.Elapsed() != 0 {
		t.Fatalf("before Start: phase %d %s, over %v, elapsed %s", i, p.Name, c.Over(), c.Elapsed())
	}
	c.Start()
	now = now.Add(12 * time.Second)
	if i, p := c.Current(); i != 1 || p.Name != "degraded" {
		t.Errorf("at 12s: phase %d %s, want 1 degraded", i, p.Name)
	}
	if got := c.Left(); got != 3*time.Second {
		t.Errorf("Left at 12s = %s, want 3s", got)
	}
	now = now.Add(8 * time.Second)
	if !c.Over() {
		t.Error("not over at 20s")
	}
	if i, _ := c.Current(); i != 2 {
		t.Errorf("after the end: phase %d, want the last (2)", i)
	}
}

func TestDescribe(t *testing.T) {
	s := demoScenario()
	for i, want := range []string{"every call succeeds quickly", "20% of calls fail, 30% take 1.5s", "100% of calls fail, health check fails"} {
		if got := s.Phases[i].Describe(1500 * time.Millisecond); got != want {
			t.Errorf("phase %d: %q, want %q", i, got, want)
		}
	}
}
