package circuit

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// env returns a getenv over a fixed map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultPolicyIsTheDesignTable(t *testing.T) {
	want := Policy{
		FailureRate:         0.50,             // failure rate threshold 50 %
		MinCalls:            10,               // minimum calls 10
		ConsecutiveFailures: 3,                // consecutive failures 3
		RecentSpan:          10 * time.Second, // recent span 10 s
		SlowCall:            1 * time.Second,  // slow call duration 1 s
		SlowCallRate:        0.50,             // slow call rate threshold 50 %
		Window:              60 * time.Second, // window 60 s
		OpenDuration:        30 * time.Second, // open duration 30 s
		BackoffMultiplier:   2,                // backoff multiplier 2
		MaxOpenDuration:     10 * time.Minute, // max open duration 10 min
		HalfOpenProbes:      1,                // half-open probes 1
		SuccessThreshold:    2,                // success threshold 2
		ProbeLease:          30 * time.Second, // probe lease 30 s
	}
	p := DefaultPolicy()
	if p != want {
		t.Fatalf("DefaultPolicy() =\n%+v\nwant\n%+v", p, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
	if got := p.BucketWidth(); got != 10*time.Second {
		t.Errorf("BucketWidth() = %v, want 10s (60s / %d buckets)", got, Buckets)
	}
	if Buckets != 6 || Jitter != 0.10 || MaxIDLength != 128 {
		t.Errorf("Buckets, Jitter, MaxIDLength = %d, %v, %d; want 6, 0.1, 128", Buckets, Jitter, MaxIDLength)
	}
}

func TestEnvVarsAndOverrideKeys(t *testing.T) {
	wantEnv := []string{
		"BREAKERBOX_FAILURE_RATE", "BREAKERBOX_MIN_CALLS", "BREAKERBOX_CONSECUTIVE_FAILURES", "BREAKERBOX_RECENT_SPAN",
		"BREAKERBOX_SLOW_CALL", "BREAKERBOX_SLOW_CALL_RATE", "BREAKERBOX_WINDOW", "BREAKERBOX_OPEN_DURATION", "BREAKERBOX_MAX_OPEN_DURATION",
		"BREAKERBOX_BACKOFF_MULTIPLIER", "BREAKERBOX_HALF_OPEN_PROBES", "BREAKERBOX_SUCCESS_THRESHOLD", "BREAKERBOX_PROBE_LEASE",
	}
	if got := EnvVars(); !slices.Equal(got, wantEnv) {
		t.Errorf("EnvVars() = %q\nwant %q", got, wantEnv)
	}
	wantKeys := []string{
		"backoffMultiplier", "consecutiveFailures", "failureRate", "halfOpenProbes", "maxOpenDuration", "minCalls",
		"openDuration", "probeLease", "recentSpan", "slowCall", "slowCallRate", "successThreshold", "window",
	}
	if got := OverrideKeys(); !slices.Equal(got, wantKeys) {
		t.Errorf("OverrideKeys() = %q\nwant %q", got, wantKeys)
	}
}

func TestPolicyFromEnvWithNothingSetKeepsTheBase(t *testing.T) {
	base := DefaultPolicy()
	base.MinCalls = 7
	got, err := PolicyFromEnv(base, env(nil))
	if err != nil || got != base {
		t.Fatalf("PolicyFromEnv(empty env) = %+v, %v; want the base unchanged", got, err)
	}
	// Blank values count as unset.
	got, err = PolicyFromEnv(base, env(map[string]string{"BREAKERBOX_MIN_CALLS": "  "}))
	if err != nil || got != base {
		t.Fatalf("PolicyFromEnv(blank value) = %+v, %v; want the base unchanged", got, err)
	}
}

func TestPolicyFromEnvSetsEveryKnob(t *testing.T) {
	vars := map[string]string{
		"BREAKERBOX_FAILURE_RATE":         "25",
		"BREAKERBOX_MIN_CALLS":            "20",
		"BREAKERBOX_CONSECUTIVE_FAILURES": "0",
		"BREAKERBOX_RECENT_SPAN":          "0s",
		"BREAKERBOX_SLOW_CALL":            "250ms",
		"BREAKERBOX_SLOW_CALL_RATE":       " 80% ", // spaces trimmed, % accepted
		"BREAKERBOX_WINDOW":               "2m",
		"BREAKERBOX_OPEN_DURATION":        "5s",
		"BREAKERBOX_MAX_OPEN_DURATION":    "1h",
		"BREAKERBOX_BACKOFF_MULTIPLIER":   "1.5",
		"BREAKERBOX_HALF_OPEN_PROBES":     "3",
		"BREAKERBOX_SUCCESS_THRESHOLD":    "4",
		"BREAKERBOX_PROBE_LEASE":          "10s",
	}
	for _, v := range EnvVars() {
		if _, ok := vars[v]; !ok {
			t.Fatalf("test does not set %s: every variable must be covered", v)
		}
	}
	want := Policy{
		FailureRate: 0.25, MinCalls: 20, ConsecutiveFailures: 0, SlowCall: 250 * time.Millisecond,
		SlowCallRate: 0.80, Window: 2 * time.Minute, OpenDuration: 5 * time.Second, MaxOpenDuration: time.Hour,
		BackoffMultiplier: 1.5, HalfOpenProbes: 3, SuccessThreshold: 4, ProbeLease: 10 * time.Second,
	}
	got, err := PolicyFromEnv(DefaultPolicy(), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("PolicyFromEnv =\n%+v\nwant\n%+v", got, want)
	}
	if got.BucketWidth() != 20*time.Second {
		t.Errorf("BucketWidth() = %v, want 20s", got.BucketWidth())
	}
}

func TestPolicyFromEnvBadValueNamesTheVariable(t *testing.T) {
	const pct = "out of range: give a percentage from 1 to 100, e.g. 50"
	tests := []struct {
		name, variable, value, want string
	}{
		{"fraction refused, not guessed", "BREAKERBOX_FAILURE_RATE", "0.5", `BREAKERBOX_FAILURE_RATE="0.5": ` + pct},
		{"zero percent", "BREAKERBOX_FAILURE_RATE", "0", `BREAKERBOX_FAILURE_RATE="0": ` + pct},
		{"over 100 percent", "BREAKERBOX_FAILURE_RATE", "101%", `BREAKERBOX_FAILURE_RATE="101%": ` + pct},
		{"NaN percent", "BREAKERBOX_FAILURE_RATE", "NaN", `BREAKERBOX_FAILURE_RATE="NaN": ` + pct},
		{"not a number", "BREAKERBOX_FAILURE_RATE", "half", `BREAKERBOX_FAILURE_RATE="half": not a number: give a percentage from 1 to 100, e.g. 50`},
		{"slow rate fraction", "BREAKERBOX_SLOW_CALL_RATE", "0.9", `BREAKERBOX_SLOW_CALL_RATE="0.9": ` + pct},
		{"min calls not an integer", "BREAKERBOX_MIN_CALLS", "ten", `BREAKERBOX_MIN_CALLS="ten": strconv.ParseInt: parsing "ten": invalid syntax`},
		{"min calls zero", "BREAKERBOX_MIN_CALLS", "0", `policy from environment: BREAKERBOX_MIN_CALLS="0": policy minCalls must be at least 1`},
		{"consecutive failures negative", "BREAKERBOX_CONSECUTIVE_FAILURES", "-1", `policy from environment: BREAKERBOX_CONSECUTIVE_FAILURES="-1": policy consecutiveFailures must be 0 (off) or more`},
		{"consecutive failures not an integer", "BREAKERBOX_CONSECUTIVE_FAILURES", "3.5", `BREAKERBOX_CONSECUTIVE_FAILURES="3.5": strconv.Atoi: parsing "3.5": invalid syntax`},
		{"slow call without unit", "BREAKERBOX_SLOW_CALL", "1000", `BREAKERBOX_SLOW_CALL="1000": time: missing unit in duration "1000"`},
		{"slow call zero", "BREAKERBOX_SLOW_CALL", "0s", `policy from environment: BREAKERBOX_SLOW_CALL="0s": policy slowCall must be a positive duration`},
		{"window not a multiple of 6s", "BREAKERBOX_WINDOW", "7s", `policy from environment: BREAKERBOX_WINDOW="7s": policy window must be a multiple of 6s (it is cut into 6 buckets of whole seconds)`},
		{"window too short", "BREAKERBOX_WINDOW", "1s", `policy from environment: BREAKERBOX_WINDOW="1s": policy window must be a multiple of 6s (it is cut into 6 buckets of whole seconds)`},
		{"window garbage", "BREAKERBOX_WINDOW", "a minute", `BREAKERBOX_WINDOW="a minute": time: invalid duration "a minute"`},
		{"open duration negative", "BREAKERBOX_OPEN_DURATION", "-30s", `policy from environment: BREAKERBOX_OPEN_DURATION="-30s": policy openDuration must be a positive duration`},
		{"open duration above the unset max", "BREAKERBOX_OPEN_DURATION", "20m", `policy from environment: BREAKERBOX_MAX_OPEN_DURATION (not set), BREAKERBOX_OPEN_DURATION="20m": policy maxOpenDuration must be at least openDuration`},
		{"max open duration below open duration", "BREAKERBOX_MAX_OPEN_DURATION", "10s", `policy from environment: BREAKERBOX_MAX_OPEN_DURATION="10s", BREAKERBOX_OPEN_DURATION (not set): policy maxOpenDuration must be at least openDuration`},
		{"backoff multiplier below 1", "BREAKERBOX_BACKOFF_MULTIPLIER", "0.5", `policy from environment: BREAKERBOX_BACKOFF_MULTIPLIER="0.5": policy backoffMultiplier must be at least 1`},
		{"backoff multiplier NaN", "BREAKERBOX_BACKOFF_MULTIPLIER", "NaN", `policy from environment: BREAKERBOX_BACKOFF_MULTIPLIER="NaN": policy backoffMultiplier must be at least 1`},
		{"backoff multiplier garbage", "BREAKERBOX_BACKOFF_MULTIPLIER", "x2", `BREAKERBOX_BACKOFF_MULTIPLIER="x2": strconv.ParseFloat: parsing "x2": invalid syntax`},
		{"half-open probes zero", "BREAKERBOX_HALF_OPEN_PROBES", "0", `policy from environment: BREAKERBOX_HALF_OPEN_PROBES="0": policy halfOpenProbes must be at least 1`},
		{"half-open probes garbage", "BREAKERBOX_HALF_OPEN_PROBES", "one", `BREAKERBOX_HALF_OPEN_PROBES="one": strconv.Atoi: parsing "one": invalid syntax`},
		{"success threshold zero", "BREAKERBOX_SUCCESS_THRESHOLD", "0", `policy from environment: BREAKERBOX_SUCCESS_THRESHOLD="0": policy successThreshold must be at least 1`},
		{"success threshold garbage", "BREAKERBOX_SUCCESS_THRESHOLD", "2x", `BREAKERBOX_SUCCESS_THRESHOLD="2x": strconv.Atoi: parsing "2x": invalid syntax`},
		{"probe lease zero", "BREAKERBOX_PROBE_LEASE", "0", `policy from environment: BREAKERBOX_PROBE_LEASE="0": policy probeLease must be a positive duration`},
		{"recent span negative", "BREAKERBOX_RECENT_SPAN", "-5s", `policy from environment: BREAKERBOX_RECENT_SPAN="-5s": policy recentSpan must be 0 (off) or a whole number of seconds, e.g. 10s`},
		{"recent span fractional", "BREAKERBOX_RECENT_SPAN", "2500ms", `policy from environment: BREAKERBOX_RECENT_SPAN="2500ms": policy recentSpan must be 0 (off) or a whole number of seconds, e.g. 10s`},
		{"recent span without unit", "BREAKERBOX_RECENT_SPAN", "10", `BREAKERBOX_RECENT_SPAN="10": time: missing unit in duration "10"`},
		{"probe lease garbage", "BREAKERBOX_PROBE_LEASE", "30", `BREAKERBOX_PROBE_LEASE="30": time: missing unit in duration "30"`},
	}
	covered := map[string]bool{}
	base := DefaultPolicy()
	for _, tt := range tests {
		covered[tt.variable] = true
		t.Run(tt.name, func(t *testing.T) {
			got, err := PolicyFromEnv(base, env(map[string]string{tt.variable: tt.value}))
			if err == nil {
				t.Fatalf("%s=%q: no error, policy %+v", tt.variable, tt.value, got)
			}
			if err.Error() != tt.want {
				t.Errorf("%s=%q:\n got: %s\nwant: %s", tt.variable, tt.value, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("error %q does not name %s", err, tt.variable)
			}
			if got != base {
				t.Errorf("on error PolicyFromEnv returned %+v, want the base", got)
			}
		})
	}
	for _, v := range EnvVars() {
		if !covered[v] {
			t.Errorf("no bad-value case for %s", v)
		}
	}
}

func TestPolicyFromEnvReportsEveryBadVariable(t *testing.T) {
	_, err := PolicyFromEnv(DefaultPolicy(), env(map[string]string{
		"BREAKERBOX_FAILURE_RATE": "0.5",
		"BREAKERBOX_WINDOW":       "soon",
	}))
	want := `BREAKERBOX_FAILURE_RATE="0.5": out of range: give a percentage from 1 to 100, e.g. 50` + "\n" +
		`BREAKERBOX_WINDOW="soon": time: invalid duration "soon"`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	_, err = PolicyFromEnv(DefaultPolicy(), env(map[string]string{
		"BREAKERBOX_MIN_CALLS":        "0",
		"BREAKERBOX_HALF_OPEN_PROBES": "0",
	}))
	want = "policy from environment: " +
		`BREAKERBOX_MIN_CALLS="0": policy minCalls must be at least 1` + "\n" +
		`BREAKERBOX_HALF_OPEN_PROBES="0": policy halfOpenProbes must be at least 1`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestPercentagesAreWholePercentsNotFractions(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"1", 0.01}, {"50", 0.50}, {"50%", 0.50}, {"62.5", 0.625}, {"100", 1}, {"100%", 1},
	}
	for _, tt := range tests {
		got, err := parsePercent(tt.in)
		if err != nil || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("parsePercent(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"0.5", "0.99", "0", "-50", "100.1", "1000", "NaN", "Inf", "", "%", "50%%", "fifty"} {
		if got, err := parsePercent(in); err == nil {
			t.Errorf("parsePercent(%q) = %v, nil; want an error", in, got)
		}
	}
}

func TestWithOverrides(t *testing.T) {
	base := DefaultPolicy()
	t.Run("nil map is the policy itself", func(t *testing.T) {
		got, err := base.WithOverrides(nil)
		if err != nil || got != base {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("every key applies on top", func(t *testing.T) {
		got, err := base.WithOverrides(map[string]string{
			"failureRate": "75%", "minCalls": "5", "consecutiveFailures": "10", "slowCall": "2s",
			"slowCallRate": "90", "window": "30s", "openDuration": "1m", "maxOpenDuration": "30m",
			"backoffMultiplier": "3", "halfOpenProbes": "2", "successThreshold": "5", "probeLease": " 45s ",
			"recentSpan": "5s",
		})
		want := Policy{
			FailureRate: 0.75, MinCalls: 5, ConsecutiveFailures: 10, RecentSpan: 5 * time.Second, SlowCall: 2 * time.Second,
			SlowCallRate: 0.90, Window: 30 * time.Second, OpenDuration: time.Minute, MaxOpenDuration: 30 * time.Minute,
			BackoffMultiplier: 3, HalfOpenProbes: 2, SuccessThreshold: 5, ProbeLease: 45 * time.Second,
		}
		if err != nil || got != want {
			t.Fatalf("got %+v, %v\nwant %+v", got, err, want)
		}
	})
	t.Run("one key leaves the others", func(t *testing.T) {
		got, err := base.WithOverrides(map[string]string{"minCalls": "100"})
		want := base
		want.MinCalls = 100
		if err != nil || got != want {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	errTests := []struct {
		name string
		m    map[string]string
		want string
	}{
		{"unknown key", map[string]string{"failure_rate": "50"},
			`unknown policy key "failure_rate": want one of backoffMultiplier, consecutiveFailures, failureRate, halfOpenProbes, maxOpenDuration, minCalls, openDuration, probeLease, recentSpan, slowCall, slowCallRate, successThreshold, window`},
		{"env variable name is not a key", map[string]string{"BREAKERBOX_MIN_CALLS": "5"},
			`unknown policy key "BREAKERBOX_MIN_CALLS": want one of backoffMultiplier, consecutiveFailures, failureRate, halfOpenProbes, maxOpenDuration, minCalls, openDuration, probeLease, recentSpan, slowCall, slowCallRate, successThreshold, window`},
		{"fraction", map[string]string{"failureRate": "0.5"},
			`policy failureRate="0.5": out of range: give a percentage from 1 to 100, e.g. 50`},
		{"bad duration", map[string]string{"openDuration": "30"},
			`policy openDuration="30": time: missing unit in duration "30"`},
		{"empty value", map[string]string{"minCalls": ""},
			`policy minCalls="": strconv.ParseInt: parsing "": invalid syntax`},
		{"parses but invalid", map[string]string{"halfOpenProbes": "0"},
			`policy halfOpenProbes must be at least 1`},
		{"several, in key order", map[string]string{"window": "7", "minCalls": "x", "zzz": "1"},
			`policy minCalls="x": strconv.ParseInt: parsing "x": invalid syntax` + "\n" +
				`policy window="7": time: missing unit in duration "7"` + "\n" +
				`unknown policy key "zzz": want one of backoffMultiplier, consecutiveFailures, failureRate, halfOpenProbes, maxOpenDuration, minCalls, openDuration, probeLease, recentSpan, slowCall, slowCallRate, successThreshold, window`},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 { // map order must not change the message
				got, err := base.WithOverrides(tt.m)
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				if err.Error() != tt.want {
					t.Fatalf("\n got: %s\nwant: %s", err, tt.want)
				}
				if got != base {
					t.Fatalf("on error returned %+v, want the receiver unchanged", got)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Policy)
		want   string
	}{
		{"failure rate zero", func(p *Policy) { p.FailureRate = 0 }, "policy failureRate must be a percentage from 1 to 100"},
		{"failure rate above one", func(p *Policy) { p.FailureRate = 50 }, "policy failureRate must be a percentage from 1 to 100"},
		{"failure rate NaN", func(p *Policy) { p.FailureRate = math.NaN() }, "policy failureRate must be a percentage from 1 to 100"},
		{"slow call rate negative", func(p *Policy) { p.SlowCallRate = -0.5 }, "policy slowCallRate must be a percentage from 1 to 100"},
		{"min calls zero", func(p *Policy) { p.MinCalls = 0 }, "policy minCalls must be at least 1"},
		{"consecutive failures negative", func(p *Policy) { p.ConsecutiveFailures = -1 }, "policy consecutiveFailures must be 0 (off) or more"},
		{"slow call zero", func(p *Policy) { p.SlowCall = 0 }, "policy slowCall must be a positive duration"},
		{"window zero", func(p *Policy) { p.Window = 0 }, "policy window must be a multiple of 6s (it is cut into 6 buckets of whole seconds)"},
		{"window of fractional buckets", func(p *Policy) { p.Window = 61 * time.Second }, "policy window must be a multiple of 6s (it is cut into 6 buckets of whole seconds)"},
		{"open duration zero", func(p *Policy) { p.OpenDuration = 0; p.MaxOpenDuration = time.Minute }, "policy openDuration must be a positive duration"},
		{"max below open duration", func(p *Policy) { p.MaxOpenDuration = 29 * time.Second }, "policy maxOpenDuration must be at least openDuration"},
		{"max open duration past the limit", func(p *Policy) { p.MaxOpenDuration = math.MaxInt64 }, "policy maxOpenDuration must be at most 168h0m0s (an outage longer than that is an operator's FORCED_OPEN)"},
		{"backoff below one", func(p *Policy) { p.BackoffMultiplier = 0.99 }, "policy backoffMultiplier must be at least 1"},
		{"backoff NaN", func(p *Policy) { p.BackoffMultiplier = math.NaN() }, "policy backoffMultiplier must be at least 1"},
		{"half-open probes zero", func(p *Policy) { p.HalfOpenProbes = 0 }, "policy halfOpenProbes must be at least 1"},
		{"success threshold zero", func(p *Policy) { p.SuccessThreshold = 0 }, "policy successThreshold must be at least 1"},
		{"probe lease negative", func(p *Policy) { p.ProbeLease = -time.Second }, "policy probeLease must be a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.modify(&p)
			err := p.Validate()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("edge values are valid", func(t *testing.T) {
		p := DefaultPolicy()
		p.FailureRate, p.SlowCallRate, p.MinCalls, p.ConsecutiveFailures = 1, 0.01, 1, 0
		p.Window, p.BackoffMultiplier, p.MaxOpenDuration = 6*time.Second, 1, p.OpenDuration
		if err := p.Validate(); err != nil {
			t.Fatalf("Validate() = %v, want nil", err)
		}
	})
	t.Run("every bad knob is reported, each one a knob error", func(t *testing.T) {
		err := Policy{}.Validate()
		want := []string{
			"policy failureRate must be a percentage from 1 to 100",
			"policy slowCallRate must be a percentage from 1 to 100",
			"policy minCalls must be at least 1",
			"policy slowCall must be a positive duration",
			"policy window must be a multiple of 6s (it is cut into 6 buckets of whole seconds)",
			"policy openDuration must be a positive duration",
			"policy backoffMultiplier must be at least 1",
			"policy halfOpenProbes must be at least 1",
			"policy successThreshold must be at least 1",
			"policy probeLease must be a positive duration",
		}
		if err == nil || err.Error() != strings.Join(want, "\n") {
			t.Fatalf("Validate() =\n%v\nwant\n%s", err, strings.Join(want, "\n"))
		}
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ke *knobError
			if !errors.As(e, &ke) {
				t.Errorf("%v is not a knobError", e)
				continue
			}
			if _, ok := knobByKey(ke.key); !ok {
				t.Errorf("knobError key %q is not a policy key", ke.key)
			}
		}
	})
}
