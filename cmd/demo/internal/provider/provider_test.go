package provider

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/scenario"
)

// start runs a provider whose clock is in the phase at the given offset.
func start(t *testing.T, phases []scenario.Phase, at time.Duration) *Provider {
	t.Helper()
	now := time.Now()
	clock := scenario.NewClock(scenario.Scenario{Phases: phases}, func() time.Time { return now })
	clock.Start()
	now = now.Add(at)
	p, err := Start(Config{Clock: clock, Latency: time.Millisecond, SlowDelay: 50 * time.Millisecond, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestLedgerCountsSuccessesAndDuplicates(t *testing.T) {
	p := start(t, []scenario.Phase{{Name: "healthy", Duration: time.Minute, Healthy: true}}, 0)
	for _, id := range []string{"order-1", "order-2", "order-1"} {
		if code := post(t, p.CallURL(), `{"id":"`+id+`","amountCents":100}`); code != http.StatusOK {
			t.Fatalf("call %s: status %d", id, code)
		}
	}
	if got := p.Successes(); got["order-1"] != 2 || got["order-2"] != 1 || len(got) != 2 {
		t.Errorf("successes %v, want order-1 twice and order-2 once", got)
	}
	st := p.Stats()
	if st.Calls != 3 || st.Succeeded != 3 || st.Records != 2 || st.Duplicates != 1 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestDownPhaseFailsCallsAndHealth(t *testing.T) {
	p := start(t, []scenario.Phase{{Name: "healthy", Duration: time.Second, Healthy: true}, {Name: "down", Duration: time.Minute, ErrorRate: 1}}, 2*time.Second)
	if code := post(t, p.CallURL(), `{"id":"order-9"}`); code != http.StatusServiceUnavailable {
		t.Errorf("call while down: status %d, want 503", code)
	}
	resp, err := http.Get(p.HealthURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("health while down: %d, want 503", resp.StatusCode)
	}
	if len(p.Successes()) != 0 {
		t.Errorf("a failed call was counted as a success: %v", p.Successes())
	}
	if st := p.Stats(); st.Errors != 1 || st.HealthFailures != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestDegradedMixFollowsRates(t *testing.T) {
	p := start(t, []scenario.Phase{{Name: "degraded", Duration: time.Minute, ErrorRate: 0.3, SlowRate: 0.2, Healthy: true}}, 0)
	const n = 200
	fails := 0
	for range n {
		if v, _ := p.draw(p.cfg.Clock.Phases[0]); v == fail {
			fails++
		}
	}
	if fails < 40 || fails > 80 {
		t.Errorf("%d of %d draws failed, want about 30%%", fails, n)
	}
	resp, err := http.Get(p.HealthURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a degraded provider's health check answered %d, want 200", resp.StatusCode)
	}
}

func TestAbandonedCallIsNotASuccess(t *testing.T) {
	// The slow call takes a minute, and the client gives up as soon as the provider has it: the
	// order of the two is set by the test, not by a client timeout racing a loaded machine (a 10 ms
	// timeout once ran out before the call reached the provider at all).
	now := time.Now()
	clock := scenario.NewClock(scenario.Scenario{Phases: []scenario.Phase{{Name: "slow", Duration: time.Hour, SlowRate: 1, Healthy: true}}}, func() time.Time { return now })
	clock.Start()
	p, err := Start(Config{Clock: clock, Latency: time.Millisecond, SlowDelay: time.Minute, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	ctx, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.CallURL(), strings.NewReader(`{"id":"order-3"}`))
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	waitUntil(t, "the provider has the call", func() bool { return p.Stats().Calls == 1 })
	giveUp()
	if err := <-answered; err == nil {
		t.Fatal("the call answered before the client gave up")
	}
	waitUntil(t, "the provider saw the call abandoned", func() bool { return p.Stats().Abandoned == 1 })
	if st := p.Stats(); st.Abandoned != 1 || st.Succeeded != 0 || len(p.Successes()) != 0 {
		t.Errorf("stats %+v, successes %v: an abandoned call must not count", st, p.Successes())
	}
}

// waitUntil polls cond until it holds; the bound is only there so a broken provider fails the test
// rather than hang it, and is far beyond what a loaded machine needs.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRejectsCallsWithoutID(t *testing.T) {
	p := start(t, []scenario.Phase{{Name: "healthy", Duration: time.Minute, Healthy: true}}, 0)
	if code := post(t, p.CallURL(), `{"amount":1}`); code != http.StatusBadRequest {
		t.Errorf("call without id: %d, want 400", code)
	}
	if code := post(t, p.CallURL()+"?id=order-5", `not json`); code != http.StatusOK {
		t.Errorf("call with an id query parameter: %d, want 200", code)
	}
	if p.Stats().Calls != 1 {
		t.Errorf("calls %d, want 1 (the one without id is not a call)", p.Stats().Calls)
	}
}

func TestStartNeedsAClock(t *testing.T) {
	if _, err := Start(Config{}); err == nil {
		t.Error("Start without a clock succeeded")
	}
}
