package lambdaenv

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The Telemetry API: a bad subscription is refused with 400 and the reason; a good one gets
// platform.runtimeDone for every invocation (success, error), delivered to the listener on
// sandbox.localdomain, and an extension that waits for it before /event/next holds the freeze back
// until it came.
func TestTelemetryDeliversRuntimeDone(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Extensions: []string{r.exe("ext-telemetry")}, Freeze: true, Timeout: time.Minute, InitTimeout: time.Minute})
	okRes := r.invoke(f.Name(), `{"action":"echo"}`)
	ok := mustSucceed(t, okRes)
	// The extension held the invoke open after the runtime's answer for at least the 25 ms the
	// subscription buffers events.
	if okRes.RuntimeDuration <= 0 || okRes.Duration-okRes.RuntimeDuration < 25*time.Millisecond {
		t.Errorf("runtime %s, whole invoke %s: want the extension's wait for runtimeDone (≥25ms) after the answer", okRes.RuntimeDuration, okRes.Duration)
	}
	failed := r.invoke(f.Name(), `{"action":"error","message":"boom"}`)
	if failed.FunctionError == "" {
		t.Fatalf("the failing invoke succeeded: %s", failed.Payload)
	}
	es := r.entries()

	var bad struct {
		Status int
		Body   string
	}
	if b := find(es, "ext-telemetry", "bad-subscription"); len(b) != 1 || json.Unmarshal(b[0].Data, &bad) != nil ||
		bad.Status != 400 || !strings.Contains(bad.Body, "schemaVersion") {
		t.Errorf("bad subscription answered %d %s, want 400 naming schemaVersion", bad.Status, bad.Body)
	}
	var sub struct{ Status int }
	if s := find(es, "ext-telemetry", "subscribed"); len(s) != 1 || json.Unmarshal(s[0].Data, &sub) != nil || sub.Status != 200 {
		t.Fatalf("subscription: %+v", s)
	}
	got := map[string]string{}
	for _, e := range find(es, "ext-telemetry", "runtime-done") {
		var rec RuntimeDoneRecord
		if err := json.Unmarshal(e.Data, &rec); err != nil {
			t.Fatal(err)
		}
		got[rec.RequestID] = rec.Status
	}
	if got[ok.RequestID] != "success" || got[failed.RequestID] != "error" || len(got) != 2 {
		t.Errorf("runtimeDone statuses %v, want %s success and %s error", got, ok.RequestID, failed.RequestID)
	}
	if n := len(find(es, "ext-telemetry", "invoke-flushed")); n != 2 {
		t.Errorf("the extension saw runtimeDone before /event/next for %d invokes, want 2", n)
	}
	if sbs := f.Sandboxes(); len(sbs) != 1 || !sbs[0].Frozen {
		t.Errorf("sandbox not frozen after the invokes: %+v", sbs)
	}
}
