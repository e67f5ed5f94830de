package underrie

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Lambda Managed Instances under AWS's emulator (AWS_LAMBDA_MAX_CONCURRENCY=16): the extension
// registers for SHUTDOWN only; 16 invocations in flight at once are all answered by the function,
// while a 17th is refused with Runtime.Unavailable; a failure reported last is written by the
// SHUTDOWN flush, and the extension shuts down cleanly.
func TestManagedInstancesSixteenAtOnce(t *testing.T) {
	const n = 16
	// A long flush interval: only SHUTDOWN can write the last failure.
	r := newRig(t, 60*time.Second, n, "BREAKERBOX_FLUSH_INTERVAL=10m")

	// The function runs as the emulator's sandbox user: these directories are for everyone.
	dir, err := os.MkdirTemp("", "underrie-managed-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	for _, d := range []string{dir, started, release} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	inFlight := func() int {
		entries, _ := os.ReadDir(started)
		return len(entries)
	}

	// The emulator refuses an invocation that finds no idle runtime (Runtime.Unavailable), and
	// the runtime's 16 workers ask for work one by one after the init: until 16 are in flight, a
	// refused invocation is sent again.
	answers := make(chan reply, n)
	var retries atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				resp, err := r.invoke(request{Circuit: "inventory", Started: started, Release: release})
				if err != nil {
					t.Error(err)
					return
				}
				if resp.ErrorType == "Runtime.Unavailable" && inFlight() < n {
					retries.Add(1)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				answers <- r.answer(resp)
				return
			}
		})
	}
	waitFor(t, "16 invocations in flight", func() bool { return inFlight() == n })
	t.Logf("16 in flight after %d invocations refused while the workers came up", retries.Load())
	over, err := r.invoke(request{Circuit: "inventory"})
	if err != nil {
		t.Fatal(err)
	}
	if over.Status == 200 || over.ErrorType != "Runtime.Unavailable" {
		t.Errorf("a 17th invocation while 16 are in flight was answered %d %q %s, want it refused with Runtime.Unavailable", over.Status, over.ErrorType, over.Body)
	}
	if err := os.WriteFile(filepath.Join(release, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(answers)
	got := 0
	for a := range answers {
		if !a.Called || a.Err != "" {
			t.Errorf("invocation answered %+v, want the call made", a)
		}
		got++
	}
	if got != n {
		t.Fatalf("%d of %d concurrent invocations answered", got, n)
	}

	resp, err := r.invoke(request{Circuit: "payments", Fail: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := r.answer(resp); !a.Called {
		t.Fatalf("the failing call: %+v, want it made", a)
	}
	stop, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := r.emu.Stop(stop); err != nil {
		t.Fatal(err)
	}
	out := r.emu.Output()
	if !strings.Contains(out, `"shut down cleanly"`) {
		t.Errorf("the extension did not log that it shut down cleanly after SHUTDOWN")
	}
	if strings.Contains(out, "DATA RACE") {
		t.Errorf("the race detector reported a data race")
	}
	if !strings.Contains(out, "subscribed to [SHUTDOWN]") && !strings.Contains(out, `"managedInstances":true`) {
		t.Errorf("the extension did not start in the Lambda Managed Instances model")
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), patience)
	defer cancel2()
	window, err := r.store.ReadWindow(ctx, "payments", 16, circuit.DefaultPolicy(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var failures int64
	for _, b := range window {
		failures += b.Counts.Failures
	}
	if failures != 1 {
		t.Errorf("payments' window after SHUTDOWN holds %d failures, want the 1 reported last", failures)
	}
}
