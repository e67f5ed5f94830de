package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two extensions and a runtime: the extensions register before the runtime starts, both get INVOKE
// with the runtime's request id, deadline and trace, the invoke ends only after the slow one called
// /event/next again, and Close delivers SHUTDOWN (spindown) with a deadline to both.
func TestInvokeOrderingDeadlinesAndShutdown(t *testing.T) {
	r := newRig(t, Config{})
	timeout := 5 * time.Second
	f := r.function(FunctionConfig{
		Name:       "ordering",
		Extensions: []string{r.exe("ext-slow"), r.exe("ext-basic")},
		Env:        []string{"HELPER_EXT_DELAY=300ms"},
		Timeout:    timeout,
	})

	t0 := time.Now()
	res := r.invoke("ordering", `{"action":"echo","marker":"first"}`)
	t1 := time.Now()
	es := r.entries() // read at once: whatever the invoke waited for is logged already
	reply := mustSucceed(t, res)

	// Ordering: both registered before the runtime started; the slow extension had finished its
	// INVOKE work (logged right before calling /event/next) when Invoke returned.
	rtStart := index(es, "runtime", "start")
	for _, ext := range []string{"ext-slow", "ext-basic"} {
		if reg := index(es, ext, "registered"); reg < 0 || rtStart < 0 || reg > rtStart {
			t.Errorf("%s registered at log position %d, runtime started at %d: want registration first", ext, reg, rtStart)
		}
	}
	done := find(es, "ext-slow", "invoke-done")
	if len(done) != 1 || !strings.Contains(string(done[0].Data), res.RequestID) {
		t.Fatalf("Invoke returned before ext-slow finished its INVOKE (entries %+v)", done)
	}

	// The runtime saw the request id, ARN, deadline and trace id.
	if reply.RequestID != res.RequestID || !isUUID(reply.RequestID) {
		t.Errorf("runtime request id %q, Result.RequestID %q", reply.RequestID, res.RequestID)
	}
	if reply.ARN != f.ARN() || f.ARN() != "arn:aws:lambda:us-east-1:123456789012:function:ordering" {
		t.Errorf("runtime ARN %q, function ARN %q", reply.ARN, f.ARN())
	}
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`).MatchString(reply.Trace) {
		t.Errorf("trace id %q", reply.Trace)
	}
	lo, hi := t0.Add(timeout).UnixMilli(), t1.Add(timeout).UnixMilli()
	if reply.DeadlineMs < lo || reply.DeadlineMs > hi {
		t.Errorf("runtime deadline %d not within [%d, %d] (invoke start/end + timeout)", reply.DeadlineMs, lo, hi)
	}

	// Both extensions got the same INVOKE, shaped like Lambda's.
	for _, ext := range []string{"ext-slow", "ext-basic"} {
		invokes := eventsOf[InvokeEvent](t, es, ext, EventInvoke)
		if len(invokes) != 1 {
			t.Fatalf("%s got %d INVOKE events, want 1", ext, len(invokes))
		}
		want := InvokeEvent{EventType: EventInvoke, DeadlineMs: reply.DeadlineMs, RequestID: res.RequestID, InvokedFunctionArn: f.ARN(),
			Tracing: Tracing{Type: "X-Amzn-Trace-Id", Value: reply.Trace}}
		if invokes[0] != want {
			t.Errorf("%s INVOKE = %+v, want %+v", ext, invokes[0], want)
		}
		for _, e := range find(es, ext, "event") {
			sameShape(t, ext+" INVOKE", e.Data, golden(t, "invoke_event.json"))
		}
		reg := find(es, ext, "registered")
		var body struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(reg[0].Data, &body); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, ext+" register response", body.Body, "register_response.json")
	}

	// A second invoke reuses the warm sandbox.
	mustSucceed(t, r.invoke("ordering", `{}`))
	if sb := f.Sandboxes(); len(sb) != 1 || sb[0].Inits != 1 || sb[0].Invokes != 2 || sb[0].State != "idle" {
		t.Errorf("sandboxes after two invokes: %+v", sb)
	}

	// Close: SHUTDOWN with reason spindown and a deadline 2 s (the default) after it started.
	c0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.env.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c1 := time.Now()
	es = r.entries()
	for _, ext := range []string{"ext-slow", "ext-basic"} {
		sd := eventsOf[ShutdownEvent](t, es, ext, EventShutdown)
		if len(sd) != 1 || sd[0].ShutdownReason != ShutdownSpindown {
			t.Fatalf("%s SHUTDOWN events %+v, want one with reason spindown", ext, sd)
		}
		if lo, hi := c0.Add(DefaultShutdownTimeout).UnixMilli(), c1.Add(DefaultShutdownTimeout).UnixMilli(); sd[0].DeadlineMs < lo || sd[0].DeadlineMs > hi {
			t.Errorf("%s SHUTDOWN deadline %d not within [%d, %d]", ext, sd[0].DeadlineMs, lo, hi)
		}
		if len(find(es, ext, "exiting")) != 1 {
			t.Errorf("%s did not exit after SHUTDOWN", ext)
		}
	}
	for _, e := range find(es, "ext-basic", "event") {
		if strings.Contains(string(e.Data), EventShutdown) {
			sameShape(t, "SHUTDOWN", e.Data, golden(t, "shutdown_event.json"))
		}
	}
	if sb := f.Sandboxes(); sb[0].State != "cold" || sb[0].RuntimePID != 0 {
		t.Errorf("sandbox after Close: %+v", sb[0])
	}
	if _, err := r.env.Invoke(ctx, "ordering", nil); err == nil {
		t.Error("Invoke after Close succeeded")
	}
}

// An extension that ignores SIGTERM and never returns from SHUTDOWN is SIGKILLed at the deadline,
// together with the child it started in its process group; it was handed its SHUTDOWN before the
// kill. Whether the extension got to log the event itself before the kill is up to the machine's
// scheduler (300 ms on a loaded machine is not much), so what it was sent is read from the
// emulator's log.
func TestShutdownKillsWhatIsLeftAtTheDeadline(t *testing.T) {
	r, logs := newLoggedRig(t)
	r.function(FunctionConfig{Name: "stubborn", Extensions: []string{r.exe("ext-stubborn")}, ShutdownTimeout: 300 * time.Millisecond})
	mustSucceed(t, r.invoke("stubborn", `{}`))

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.env.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v", d)
	}
	sl := shutdownLog(t, logs, "ext-stubborn")
	sent := sl.sent
	if len(sent) != 1 || sent[0].ShutdownReason != ShutdownSpindown {
		t.Fatalf("SHUTDOWN events sent %+v, want one with reason spindown", sent)
	}
	if lo, hi := start.Add(300*time.Millisecond).UnixMilli(), time.Now().Add(300*time.Millisecond).UnixMilli(); sent[0].DeadlineMs < lo || sent[0].DeadlineMs > hi {
		t.Errorf("SHUTDOWN deadline %d not within [%d, %d]", sent[0].DeadlineMs, lo, hi)
	}
	if sl.shutDown < 0 || sl.sentAt > sl.shutDown {
		t.Errorf("the sandbox's kill was logged at line %d, SHUTDOWN sent at line %d: killed before it was handed over", sl.shutDown, sl.sentAt)
	}
	if !slices.Contains(sl.killed, "ext-stubborn") {
		t.Errorf("killed %v, want the stubborn extension among them", sl.killed)
	}
	es := r.entries()
	// What the extension logged, if it got to, is what it was sent.
	if sd := eventsOf[ShutdownEvent](t, es, "ext-stubborn", EventShutdown); len(sd) > 1 || len(sd) == 1 && sd[0] != sent[0] {
		t.Errorf("the extension logged SHUTDOWN events %+v, want at most the one sent, %+v", sd, sent[0])
	}
	ext := find(es, "ext-stubborn", "registered")[0].PID
	var gc struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(find(es, "ext-stubborn", "grandchild")[0].Data, &gc); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stubborn extension and its child to be killed", func() bool {
		return processGone(ext) && processGone(gc.PID)
	})
}

// A runtime that ignores SIGTERM is SIGKILLed at the end of its share of the shutdown time (30%,
// as in AWS's emulator), so the extensions get their SHUTDOWN with the rest of it rather than at the
// deadline, when they can no longer act on it.
func TestARuntimeIgnoringSIGTERMLeavesTheExtensionsTheirShare(t *testing.T) {
	r, logs := newLoggedRig(t)
	r.function(FunctionConfig{Name: "deaf", Extensions: []string{r.exe("ext-basic")}, ShutdownTimeout: 400 * time.Millisecond,
		Env: []string{"HELPER_RUNTIME_SIGTERM=ignore"}})
	mustSucceed(t, r.invoke("deaf", `{}`))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.env.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sl := shutdownLog(t, logs, "ext-basic")
	if len(sl.sent) != 1 {
		t.Fatalf("SHUTDOWN events sent %+v, want one", sl.sent)
	}
	if sl.runtimeKilled < 0 || sl.runtimeKilled > sl.sentAt {
		t.Errorf("runtime killed at log line %d, SHUTDOWN sent at line %d: want the runtime killed (at its share) before SHUTDOWN", sl.runtimeKilled, sl.sentAt)
	}
	if !slices.Contains(sl.killed, "runtime") {
		t.Errorf("killed %v, want the runtime that ignored SIGTERM", sl.killed)
	}
}

// newLoggedRig is newRig with the emulator's log kept (and shown if the test fails).
func newLoggedRig(t *testing.T) (*rig, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	r := newRig(t, Config{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("emulator log:\n%s", logs.String())
		}
	})
	return r, logs
}

// shutdownSeen is what the emulator's log says of a shut down; positions are log line numbers (-1:
// not there).
type shutdownSeen struct {
	sent                            []ShutdownEvent // SHUTDOWN events sent to the extension
	sentAt, shutDown, runtimeKilled int             // the last SHUTDOWN sent; the end of the shut down (after its SIGKILLs); the runtime's kill at its share
	killed                          []string        // what the shut down killed
}

// shutdownLog reads the emulator's log about the shut down and extension ext.
func shutdownLog(t *testing.T, logs *lockedBuffer, ext string) shutdownSeen {
	t.Helper()
	out := shutdownSeen{sentAt: -1, shutDown: -1, runtimeKilled: -1}
	i := 0
	for line := range strings.Lines(logs.String()) {
		i++
		var l struct {
			Msg       string          `json:"msg"`
			Extension string          `json:"extension"`
			Event     json.RawMessage `json:"event"`
			Error     string          `json:"error"`
			Killed    []string        `json:"killed"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("emulator log line %q: %v", line, err)
		}
		switch {
		case l.Msg == "extension event sent" && l.Extension == ext && strings.Contains(string(l.Event), EventShutdown):
			var ev ShutdownEvent
			if err := json.Unmarshal(l.Event, &ev); err != nil || l.Error != "" {
				t.Fatalf("SHUTDOWN sent as %s (%v, send error %q)", l.Event, err, l.Error)
			}
			out.sent, out.sentAt = append(out.sent, ev), i
		case strings.HasPrefix(l.Msg, "runtime killed at the end of its share"):
			out.runtimeKilled = i
		case l.Msg == "sandbox shut down":
			out.killed, out.shutDown = l.Killed, i
		}
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestInitFailures(t *testing.T) {
	cases := []struct {
		name       string
		extensions []string
		env        []string
		errorType  string
		message    string
		golden     string
	}{
		{name: "extension init error", extensions: []string{"ext-initerror"}, errorType: "Extension.InitError",
			message: "extension ext-initerror failed to initialise: Extension.HelperFailure: helper refused to start", golden: "error_extension_init.json"},
		{name: "extension exits before registering", extensions: []string{"ext-basic", "ext-early"}, errorType: "Extension.Crash",
			message: "extension ext-early exited before registering: exit status 3"},
		{name: "runtime init error", extensions: []string{"ext-basic"}, env: []string{"HELPER_RUNTIME_INIT=error"}, errorType: "Runtime.HelperInit",
			message: "helper runtime cannot start"},
		{name: "runtime exits during init", extensions: []string{"ext-basic"}, env: []string{"HELPER_RUNTIME_INIT=exit"}, errorType: "Runtime.ExitError",
			message: "Runtime exited with error: exit status 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Config{})
			var exts []string
			for _, e := range tc.extensions {
				exts = append(exts, r.exe(e))
			}
			f := r.function(FunctionConfig{Extensions: exts, Env: tc.env})
			res := r.invoke(f.Name(), `{}`)
			ie := mustFail(t, res, tc.errorType)
			if !strings.HasSuffix(ie.Message, tc.message) {
				t.Errorf("message %q, want it to end with %q", ie.Message, tc.message)
			}
			if tc.golden != "" {
				sameShape(t, "init error", res.Payload, golden(t, tc.golden))
				if want := "RequestId: " + res.RequestID + " Error: " + tc.message; ie.Message != want {
					t.Errorf("message %q, want %q", ie.Message, want)
				}
			}
			sb := f.Sandboxes()[0]
			if sb.State != "cold" || sb.RuntimePID != 0 || slices.ContainsFunc(sb.Extensions, func(e ExtensionInfo) bool { return e.PID != 0 }) {
				t.Errorf("sandbox after a failed init: %+v", sb)
			}
			es := r.entries()
			if slices.Contains(tc.extensions, "ext-basic") && find(es, "ext-basic", "registered") != nil {
				sd := eventsOf[ShutdownEvent](t, es, "ext-basic", EventShutdown)
				if len(sd) != 1 || sd[0].ShutdownReason != ShutdownFailure {
					t.Errorf("ext-basic SHUTDOWN events %+v, want one with reason failure", sd)
				}
			}
			if len(find(es, "runtime", "invoke")) != 0 {
				t.Error("the runtime got an event although init failed")
			}
		})
	}
}

func TestFunctionTimeoutResetsTheSandbox(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Extensions: []string{r.exe("ext-basic")}, Timeout: 500 * time.Millisecond})
	res := r.invoke(f.Name(), `{"action":"sleep","sleep":"30s"}`)
	ie := mustFail(t, res, "Sandbox.Timedout")
	if want := "RequestId: " + res.RequestID + " Error: Task timed out after 0.50 seconds"; ie.Message != want {
		t.Errorf("message %q, want %q", ie.Message, want)
	}
	sameShape(t, "timeout error", res.Payload, golden(t, "error_timeout.json"))
	es := r.entries()
	sd := eventsOf[ShutdownEvent](t, es, "ext-basic", EventShutdown)
	if len(sd) != 1 || sd[0].ShutdownReason != ShutdownTimeout {
		t.Fatalf("SHUTDOWN events %+v, want one with reason timeout", sd)
	}
	firstPID := find(es, "runtime", "start")[0].PID
	if !processGone(firstPID) {
		t.Errorf("the timed-out runtime %d still runs", firstPID)
	}
	if sb := f.Sandboxes()[0]; sb.State != "cold" {
		t.Errorf("sandbox state %q after a timeout, want cold", sb.State)
	}

	reply := mustSucceed(t, r.invoke(f.Name(), `{}`))
	if reply.PID == firstPID {
		t.Error("the sandbox was not re-initialised after the timeout")
	}
	if sb := f.Sandboxes()[0]; sb.Inits != 2 {
		t.Errorf("inits = %d, want 2", sb.Inits)
	}
}

// With Freeze, the runtime and extensions are stopped between invokes: a heartbeat the extension
// writes every 2 ms does not move while frozen, and moves again during the next invoke.
func TestFreezeBetweenInvokes(t *testing.T) {
	r := newRig(t, Config{})
	hb := r.dir + "/heartbeat"
	f := r.function(FunctionConfig{Extensions: []string{r.exe("ext-heartbeat")}, Env: []string{"HELPER_HEARTBEAT=" + hb}, Freeze: true})
	mustSucceed(t, r.invoke(f.Name(), `{}`))

	sb := f.Sandboxes()[0]
	if !sb.Frozen || sb.RuntimePID == 0 || len(sb.Extensions) != 1 || sb.Extensions[0].PID == 0 {
		t.Fatalf("sandbox after invoke: %+v", sb)
	}
	for _, pid := range []int{sb.RuntimePID, sb.Extensions[0].PID} {
		if st := processState(pid); st != 'T' {
			t.Errorf("process %d state %q while frozen, want T (stopped)", pid, st)
		}
	}
	read := func() int {
		b, err := readFileRetry(hb)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	frozenAt := read()
	time.Sleep(300 * time.Millisecond)
	if now := read(); now != frozenAt {
		t.Fatalf("heartbeat moved from %d to %d while frozen", frozenAt, now)
	}

	mustSucceed(t, r.invoke(f.Name(), `{"action":"sleep","sleep":"200ms"}`))
	if after := read(); after <= frozenAt {
		t.Errorf("heartbeat %d after a thawed invoke, was %d: the sandbox was not thawed", after, frozenAt)
	}
	if sb := f.Sandboxes()[0]; !sb.Frozen || sb.Inits != 1 {
		t.Errorf("sandbox after second invoke: %+v", sb)
	}
}
