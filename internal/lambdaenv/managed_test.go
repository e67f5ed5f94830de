package lambdaenv

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// On Lambda Managed Instances one sandbox serves ManagedConcurrency invokes at once (the barrier
// lets none through until all four are inside the one runtime together), the runtime and the extension
// see the model's variables, nothing is frozen, and SHUTDOWN still comes with a deadline.
func TestManagedInstancesServeConcurrentInvokes(t *testing.T) {
	r := newRig(t, Config{})
	barrier := t.TempDir()
	f := r.function(FunctionConfig{
		Extensions:         []string{r.exe("ext-shutdownonly")},
		Env:                []string{"HELPER_BARRIER_DIR=" + barrier},
		ManagedConcurrency: 4,
		MaxConcurrency:     1,
		Timeout:            2 * time.Minute,
		InitTimeout:        time.Minute,
	})
	var wg sync.WaitGroup
	results := make([]Result, 4)
	for i := range results {
		wg.Go(func() { results[i] = r.invoke(f.Name(), `{"action":"barrier","key":"4"}`) })
	}
	wg.Wait()
	pids := map[int]bool{}
	for _, res := range results {
		pids[mustSucceed(t, res).PID] = true
	}
	if len(pids) != 1 {
		t.Errorf("invokes ran in %d runtime processes, want 1 (one environment)", len(pids))
	}
	if sbs := f.Sandboxes(); len(sbs) != 1 || sbs[0].Frozen || sbs[0].Invokes != 4 {
		t.Errorf("sandboxes: %+v, want one, not frozen, 4 invokes", sbs)
	}
	// No MemoryMB given: the model's smallest function, 2 GB.
	for key, want := range map[string]string{"AWS_LAMBDA_MAX_CONCURRENCY": "4", "AWS_LAMBDA_INITIALIZATION_TYPE": InitTypeManagedInstances, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"} {
		if got := mustSucceed(t, r.invoke(f.Name(), `{"action":"env","key":"`+key+`"}`)).Value; got != want {
			t.Errorf("runtime's %s = %q, want %q", key, got, want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.env.Close(ctx); err != nil {
		t.Fatal(err)
	}
	es := r.entries()
	var start struct{ InitType, MaxConcurrency string }
	if s := find(es, "ext-shutdownonly", "start"); len(s) != 1 || json.Unmarshal(s[0].Data, &start) != nil ||
		start.InitType != InitTypeManagedInstances || start.MaxConcurrency != "" {
		t.Errorf("extension start: %+v; want AWS_LAMBDA_INITIALIZATION_TYPE=%s and no AWS_LAMBDA_MAX_CONCURRENCY (the runtime's)", start, InitTypeManagedInstances)
	}
	evs := eventsOf[ShutdownEvent](t, es, "ext-shutdownonly", EventShutdown)
	if len(evs) != 1 || evs[0].ShutdownReason != ShutdownSpindown || evs[0].DeadlineMs <= 0 {
		t.Errorf("SHUTDOWN events %+v, want one spindown with a deadline", evs)
	}
	if n := len(eventsOf[InvokeEvent](t, es, "ext-shutdownonly", EventInvoke)); n != 0 {
		t.Errorf("%d INVOKE events reached the extension, want 0", n)
	}
}

// An extension that registers for INVOKE on Lambda Managed Instances is refused with 403
// Extension.InvalidEventType; it exits, and the init fails with Extension.Crash.
func TestManagedInstancesRefuseInvokeRegistration(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Extensions: []string{r.exe("ext-full")}, ManagedConcurrency: 2})
	res := r.invoke(f.Name(), `{}`)
	if e := mustFail(t, res, "Extension.Crash"); !strings.Contains(e.Message, "ext-full") {
		t.Errorf("init failure %q does not name the extension", e.Message)
	}
	failed := find(r.entries(), "ext-full", "register-failed")
	if len(failed) != 1 {
		t.Fatalf("register-failed entries: %d, want 1", len(failed))
	}
	var got struct {
		Status int
		Body   string
	}
	if err := json.Unmarshal(failed[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	var doc ErrorResponse
	if err := json.Unmarshal([]byte(got.Body), &doc); err != nil || got.Status != 403 || doc.ErrorType != "Extension.InvalidEventType" || !strings.Contains(doc.ErrorMessage, "SHUTDOWN only") {
		t.Errorf("register answer %d %s, want 403 Extension.InvalidEventType saying SHUTDOWN only", got.Status, got.Body)
	}
}

// A configuration that asks for both models at once is refused with a clear error.
func TestManagedInstancesNeverFreeze(t *testing.T) {
	r := newRig(t, Config{})
	_, err := r.env.AddFunction(FunctionConfig{Name: "both", Command: []string{r.exe("runtime")}, ManagedConcurrency: 2, Freeze: true})
	if err == nil || !strings.Contains(err.Error(), "Freeze and ManagedConcurrency") {
		t.Fatalf("AddFunction: %v, want the Freeze/ManagedConcurrency conflict", err)
	}
}

// Lambda Managed Instances runs functions of 2 GB or more
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-best-practices.html): a
// smaller one is refused, saying so; the default model keeps its 128 MB default.
func TestManagedInstancesNeedTwoGigabytes(t *testing.T) {
	r := newRig(t, Config{})
	_, err := r.env.AddFunction(FunctionConfig{Name: "small", Command: []string{r.exe("runtime")}, ManagedConcurrency: 2, MemoryMB: 2047})
	if err == nil || !strings.Contains(err.Error(), "MemoryMB 2047: Lambda Managed Instances runs functions of 2048 MB or more") {
		t.Fatalf("AddFunction with 2047 MB on Lambda Managed Instances: %v, want it refused", err)
	}
	f := r.function(FunctionConfig{Name: "default-model", Command: []string{r.exe("runtime")}})
	if got := mustSucceed(t, r.invoke(f.Name(), `{"action":"env","key":"AWS_LAMBDA_FUNCTION_MEMORY_SIZE"}`)).Value; got != "128" {
		t.Errorf("default model without MemoryMB: AWS_LAMBDA_FUNCTION_MEMORY_SIZE = %q, want 128", got)
	}
}

// On Lambda Managed Instances the Runtime API takes up to AWS_LAMBDA_MAX_CONCURRENCY invocations at
// once: with both of a 2-concurrency sandbox's invocations running, a third /next is refused with
// 403 and a message that says why.
func TestManagedInstancesBoundConcurrentNext(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Name: "bounded", Command: []string{r.exe("runtime")}, ManagedConcurrency: 2})
	sb, err := f.acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer f.release(sb)
	// Stand in for the runtime: a generation whose two workers hold an invocation each.
	sb.mu.Lock()
	g := newGeneration()
	g.phase = phaseInvoke
	g.runtime = &process{}
	for range 2 {
		inv := &invocation{id: newUUID()}
		g.current[inv.id], g.inflight[inv.id] = inv, inv
	}
	sb.gen = g
	sb.mu.Unlock()
	defer func() { sb.mu.Lock(); sb.gen = nil; sb.mu.Unlock() }()

	resp, err := http.Get("http://" + sb.addr + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc ErrorResponse
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusForbidden ||
		doc.ErrorType != errInvalidStateTransition || !strings.Contains(doc.ErrorMessage, "AWS_LAMBDA_MAX_CONCURRENCY is 2") {
		t.Errorf("third /next: %d %+v (%v), want 403 naming AWS_LAMBDA_MAX_CONCURRENCY", resp.StatusCode, doc, err)
	}
}

// On Lambda Managed Instances an invoke that times out fails alone: the environment the other
// invocations share is not reset, and the runtime's late answer is taken and dropped, so its
// worker serves the next invocation.
func TestManagedInstancesTimeoutFailsOneInvoke(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{ManagedConcurrency: 2, MaxConcurrency: 1, Timeout: 300 * time.Millisecond, InitTimeout: time.Minute})
	first := mustSucceed(t, r.invoke(f.Name(), `{"action":"echo"}`))
	mustFail(t, r.invoke(f.Name(), `{"action":"sleep","sleep":"1s"}`), "Sandbox.Timedout")
	if again := mustSucceed(t, r.invoke(f.Name(), `{"action":"echo"}`)); again.PID != first.PID {
		t.Errorf("runtime pid %d after the timeout, want %d: the environment was reset", again.PID, first.PID)
	}
	// Once the late answer has come back, both workers serve again.
	f.mu.Lock()
	sb := f.sandboxes[0]
	f.mu.Unlock()
	eventually(t, "the late answer taken", func() bool {
		sb.mu.Lock()
		defer sb.mu.Unlock()
		return sb.gen != nil && len(sb.gen.current) == 0
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { mustSucceed(t, r.invoke(f.Name(), `{"action":"echo"}`)) })
	}
	wg.Wait()
	if sbs := f.Sandboxes(); len(sbs) != 1 || sbs[0].Inits != 1 {
		t.Errorf("sandboxes %+v: want one environment initialised once", sbs)
	}
}
