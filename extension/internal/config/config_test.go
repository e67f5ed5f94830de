package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"BREAKERBOX_TABLE": "breakerbox"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Table: "breakerbox", Port: 4243, CacheTTL: 5 * time.Second, CacheSize: 1024, StaleTTL: 10 * time.Minute,
		StoreTimeout: 500 * time.Millisecond, FailMode: FailOpen, FlushInterval: time.Second, CounterShards: 4,
		Policy: circuit.DefaultPolicy(), LogLevel: slog.LevelInfo, EventBus: "default", PublishTimeout: 2 * time.Second,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestEveryVariable(t *testing.T) {
	c, err := Load(env(map[string]string{
		"BREAKERBOX_TABLE": "t", "BREAKERBOX_PORT": "5000", "BREAKERBOX_CACHE_TTL": "2s", "BREAKERBOX_CACHE_SIZE": "10",
		"BREAKERBOX_STALE_TTL": "0", "BREAKERBOX_STORE_TIMEOUT": "250ms", "BREAKERBOX_FAIL_MODE": "CLOSED",
		"BREAKERBOX_CIRCUITS": " inventory, payments:eu ,,inventory", "BREAKERBOX_FLUSH_INTERVAL": "200ms",
		"BREAKERBOX_COUNTER_SHARDS": "16", "BREAKERBOX_FAILURE_RATE": "25", "BREAKERBOX_HALF_OPEN_PROBES": "3",
		"BREAKERBOX_LOG_LEVEL": "debug", "AWS_SESSION_TOKEN": "secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 5000 || c.CacheTTL != 2*time.Second || c.CacheSize != 10 || c.StaleTTL != 0 || c.StoreTimeout != 250*time.Millisecond ||
		c.FailMode != FailClosed || c.FailMode.Allows() || c.FlushInterval != 200*time.Millisecond || c.CounterShards != 16 ||
		c.Policy.FailureRate != 0.25 || c.Policy.HalfOpenProbes != 3 || c.LogLevel != slog.LevelDebug || c.Token != "secret" {
		t.Errorf("config = %+v", c)
	}
	if strings.Join(c.Circuits, "|") != "inventory|payments:eu" {
		t.Errorf("circuits = %q, want trimmed, deduplicated, in order", c.Circuits)
	}
}

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		auth, session, token string
		ok                   bool
	}{
		{"", "", "", true},
		{"", "s", "s", true},
		{"none", "s", "", true},
		{"token", "s", "s", true},
		{"token", "", "", false},
		{"bearer", "s", "", false},
	} {
		c, err := Load(env(map[string]string{"BREAKERBOX_TABLE": "t", "BREAKERBOX_AUTH": tc.auth, "AWS_SESSION_TOKEN": tc.session}))
		if (err == nil) != tc.ok || (err == nil && c.Token != tc.token) {
			t.Errorf("AUTH=%q session=%q: token %q, err %v; want token %q ok %v", tc.auth, tc.session, c.Token, err, tc.token, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "BREAKERBOX_AUTH") {
			t.Errorf("error %q does not name BREAKERBOX_AUTH", err)
		}
	}
}

// Every bad value is reported, each by its variable's name, in one error.
func TestBadValuesAreAllNamed(t *testing.T) {
	bad := map[string]string{
		"BREAKERBOX_PORT":           "http",
		"BREAKERBOX_CACHE_TTL":      "5",
		"BREAKERBOX_CACHE_SIZE":     "0",
		"BREAKERBOX_STALE_TTL":      "-1s",
		"BREAKERBOX_STORE_TIMEOUT":  "0s",
		"BREAKERBOX_FAIL_MODE":      "sometimes",
		"BREAKERBOX_CIRCUITS":       "ok,not ok",
		"BREAKERBOX_FLUSH_INTERVAL": "1ms",
		"BREAKERBOX_COUNTER_SHARDS": "17",
		"BREAKERBOX_MIN_CALLS":      "0",
		"BREAKERBOX_LOG_LEVEL":      "loud",
	}
	_, err := Load(env(bad)) // BREAKERBOX_TABLE missing too
	if err == nil {
		t.Fatal("no error")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	if !strings.Contains(err.Error(), "BREAKERBOX_TABLE is required") {
		t.Errorf("error does not say BREAKERBOX_TABLE is required:\n%v", err)
	}
}

func TestPortRange(t *testing.T) {
	for _, p := range []string{"0", "65536", "-1", "+4243"} {
		if _, err := Load(env(map[string]string{"BREAKERBOX_TABLE": "t", "BREAKERBOX_PORT": p})); err == nil {
			t.Errorf("port %s accepted", p)
		}
	}
}

// The execution model comes from AWS_LAMBDA_INITIALIZATION_TYPE: only lambda-managed-instances is
// Lambda Managed Instances; every other value (or none) is the default model.
func TestExecutionModel(t *testing.T) {
	for v, want := range map[string]bool{"": false, "on-demand": false, "provisioned-concurrency": false, "snap-start": false, "lambda-managed-instances": true} {
		c, err := Load(env(map[string]string{"BREAKERBOX_TABLE": "t", "AWS_LAMBDA_INITIALIZATION_TYPE": v}))
		if err != nil || c.ManagedInstances != want {
			t.Errorf("AWS_LAMBDA_INITIALIZATION_TYPE=%q: ManagedInstances %v (%v), want %v", v, c.ManagedInstances, err, want)
		}
	}
}

func TestWarnUnknownNamesTheClosestVariable(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	n := WarnUnknown(log, []string{"BREAKERBOX_TABLE=t", "BREAKERBOX_FAILMODE=closed", "BREAKERBOX_DISABLED=true", "BREAKERBOX_CIRCUIT=inv", "HOME=/root"})
	if n != 1 {
		t.Fatalf("WarnUnknown found %d, want 1 (BREAKERBOX_DISABLED and BREAKERBOX_CIRCUIT are read by the clients and the ventilator):\n%s", n, buf.String())
	}
	var rec struct{ Level, Msg, Variable, Closest string }
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if rec.Level != "WARN" || rec.Variable != "BREAKERBOX_FAILMODE" || rec.Closest != "BREAKERBOX_FAIL_MODE" || !strings.Contains(rec.Msg, "did you mean BREAKERBOX_FAIL_MODE?") {
		t.Errorf("warning %s, want WARN naming BREAKERBOX_FAILMODE and BREAKERBOX_FAIL_MODE", buf.String())
	}
}
