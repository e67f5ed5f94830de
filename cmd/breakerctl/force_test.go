package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// TestForceAgainSaysTheNewReason: forcing a circuit already in that state writes the new reason
// (and a new version); the answer says so instead of only "already FORCED_OPEN".
func TestForceAgainSaysTheNewReason(t *testing.T) {
	c := newCtl(t)
	id := fmt.Sprintf("again-%d", seq.Add(1))
	c.must("force-open", id, "--reason", "maintenance until 14:00")
	out := c.must("force-open", id, "--reason", "maintenance until 16:00")
	if want := id + `: already FORCED_OPEN; reason now "FORCED_OPEN: maintenance until 16:00" (version 2)`; strings.TrimSpace(out) != want {
		t.Errorf("force-open again: %q, want %q", out, want)
	}
	if out := c.must("get", id); !strings.Contains(out, "maintenance until 16:00") {
		t.Errorf("get after force-open again:\n%s", out)
	}
}

// TestEndpointWithoutSchemeIsNamed: AWS_ENDPOINT_URL=127.0.0.1:5000, the scheme forgotten, ended
// in the SDK's "failed to resolve service endpoint, Failed to parse uri"; it is named before any
// call, with the form it takes.
func TestEndpointWithoutSchemeIsNamed(t *testing.T) {
	c := newCtl(t)
	for name, value := range map[string]string{
		"AWS_ENDPOINT_URL":             "127.0.0.1:5000",
		"AWS_ENDPOINT_URL_DYNAMODB":    "localhost:5000",
		"AWS_ENDPOINT_URL_EVENTBRIDGE": "ftp://127.0.0.1:5000",
	} {
		c.env[name] = value
		_, errOut, code := c.run("circuits")
		delete(c.env, name)
		want := fmt.Sprintf("%s=%q is not an endpoint URL: want http:// or https://, a host and a port, e.g. %s=http://127.0.0.1:5000", name, value, name)
		if code != exitError || !strings.Contains(errOut, want) {
			t.Errorf("%s=%s: exit %d %q, want exit %d and %q", name, value, code, errOut, exitError, want)
		}
	}
}

// TestOutboxLossIsLogged: while EventBridge refuses every publish, each override is kept in the
// circuit's outbox for a later writer; past its 32 entries the oldest is dropped, and breakerctl
// says so as a JSON log line on stderr instead of losing it in silence.
func TestOutboxLossIsLogged(t *testing.T) {
	c := newCtl(t)
	id := fmt.Sprintf("outbox-%d", seq.Add(1))
	var lastErr string
	for i := range 34 {
		cmd := "force-open"
		if i%2 == 1 {
			cmd = "force-closed"
		}
		_, errOut, code := c.run(cmd, id, "--reason", fmt.Sprintf("r%d", i), "--bus", "no-such-bus")
		if code != exitOK || !strings.Contains(errOut, "not published") {
			t.Fatalf("%s %d with no bus: exit %d %q, want exit 0 and a warning", cmd, i, code, errOut)
		}
		lastErr = errOut
	}
	var line struct {
		Level, Msg, Circuit string
	}
	for _, l := range strings.Split(lastErr, "\n") {
		if strings.HasPrefix(l, "{") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("log line %q: %v", l, err)
			}
		}
	}
	if line.Level != "ERROR" || !strings.Contains(line.Msg, "dropped from a full outbox") || line.Circuit != id {
		t.Errorf("stderr of the 34th override with the outbox full: %q; want a JSON error line naming the dropped change", lastErr)
	}
}

// TestConcurrentOperatorsSettleByConditionalWrite: operators forcing one circuit open and closed
// at once all succeed, each write lands once (the versions count them, none lost or repeated), and
// the circuit ends in the state of the last write.
func TestConcurrentOperatorsSettleByConditionalWrite(t *testing.T) {
	c := newCtl(t)
	id := fmt.Sprintf("race-%d", seq.Add(1))
	// A bus of its own: moto fails PutEvents on the default bus while any test's monitor rule is
	// there (it tries to invoke the rule's checker), and the outbox's records of those failures
	// would be writes of their own.
	bus := "ctl-" + id
	eb := eventbridge.NewFromConfig(mototest.Shared(t).AWSConfig())
	if _, err := eb.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	const n = 12
	type answer struct {
		out, errOut string
		code        int
	}
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := "force-open"
		if i%2 == 1 {
			cmd = "force-closed"
		}
		wg.Go(func() {
			out, errOut, code := c.run(cmd, id, "--reason", fmt.Sprintf("operator %d", i), "-o", "json", "--bus", bus)
			answers <- answer{out, errOut, code}
		})
	}
	wg.Wait()
	close(answers)
	versions := map[int64]bool{}
	for a := range answers {
		var r forceResult
		if a.code != exitOK || json.Unmarshal([]byte(a.out), &r) != nil {
			t.Fatalf("exit %d, stdout %q, stderr %q", a.code, a.out, a.errOut)
		}
		if r.PublishError != "" {
			t.Errorf("publish: %s", r.PublishError)
		}
		if versions[r.Circuit.Version] {
			t.Errorf("version %d written twice", r.Circuit.Version)
		}
		versions[r.Circuit.Version] = true
	}
	var last circuitView
	if err := json.Unmarshal([]byte(c.must("get", id, "-o", "json")), &last); err != nil {
		t.Fatal(err)
	}
	if last.Version != n || !versions[n] {
		t.Errorf("after %d concurrent overrides: version %d, versions answered %v; want %d, each once", n, last.Version, versions, n)
	}
}

// TestForceShowsTheVersionAfterTheOutboxWrite: a change whose publish failed is kept in the item;
// the next override publishes it and clears it from the item, a write of its own, and force's
// answer showed the version before that write, one behind what get shows.
func TestForceShowsTheVersionAfterTheOutboxWrite(t *testing.T) {
	c := newCtl(t)
	id := fmt.Sprintf("outboxver-%d", seq.Add(1))
	bus := "ctl-" + id // a bus of its own, as in TestConcurrentOperatorsSettleByConditionalWrite
	eb := eventbridge.NewFromConfig(mototest.Shared(t).AWSConfig())
	if _, err := eb.CreateEventBus(context.Background(), &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	c.must("force-open", id, "--reason", "a", "--bus", "no-such-bus")
	out := c.must("force-open", id, "--reason", "b", "--bus", bus, "-o", "json")
	var r forceResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var now circuitView
	if err := json.Unmarshal([]byte(c.must("get", id, "-o", "json")), &now); err != nil {
		t.Fatal(err)
	}
	if r.PublishError != "" || r.Circuit.Version != now.Version {
		t.Errorf("force-open answered version %d (publish error %q), get shows %d", r.Circuit.Version, r.PublishError, now.Version)
	}
}
