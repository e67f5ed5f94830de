package lambdaenv

import (
	"encoding/json"
	"testing"
	"time"
)

// With TelemetryAcceptOnly the Telemetry API behaves as AWS's emulator's: every subscription of a
// registered extension, even one Lambda would refuse, is answered 200 {}, and nothing is delivered,
// so an extension that waits for platform.runtimeDone before /event/next holds every invocation
// until its timeout.
func TestTelemetryAcceptOnlyDeliversNothing(t *testing.T) {
	r := newRig(t, Config{})
	log := &reportLog{}
	f := r.function(FunctionConfig{Extensions: []string{r.exe("ext-telemetry")}, TelemetryAcceptOnly: true, Timeout: 2 * time.Second, InitTimeout: time.Minute, OnReport: log.add})
	res := r.invoke(f.Name(), `{"action":"echo"}`)
	mustFail(t, res, "Sandbox.Timedout")
	// The runtime answered at once: the result says so, and that the extension held the rest.
	if res.RuntimeDuration <= 0 || res.RuntimeDuration >= res.Duration || res.Duration < 2*time.Second {
		t.Errorf("runtime %s, whole invoke %s: want the runtime's answer before the 2s timeout the extension held it to", res.RuntimeDuration, res.Duration)
	}
	es := r.entries()
	for _, what := range []string{"bad-subscription", "subscribed"} {
		var sub struct {
			Status int
			Body   string
		}
		if s := find(es, "ext-telemetry", what); len(s) != 1 || json.Unmarshal(s[0].Data, &sub) != nil || sub.Status != 200 || sub.Body != "{}" {
			t.Errorf("%s: %+v, want 200 {} as AWS's emulator answers", what, s)
		}
	}
	if n := len(find(es, "ext-telemetry", "runtime-done")); n != 0 {
		t.Errorf("%d platform.runtimeDone delivered, want none", n)
	}
	if find(es, "runtime", "invoke") == nil {
		t.Errorf("the runtime never got the invocation: the timeout is not the extension's wait")
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.reports) != 1 || log.reports[0].Status != ReportTimeout {
		t.Errorf("reports %+v, want the one invocation timed out", log.reports)
	}
}
