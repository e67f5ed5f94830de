package lambdaenv

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCloseServesWhatInvokesInFlightCall: an invoke in flight when Close starts that then invokes
// another function of the Env (the ventilator its workers) is answered, not refused with 503, which
// its SDK retried with backoff until the caller's deadline: Ctrl-C on the demo took 17 s so.
func TestCloseServesWhatInvokesInFlightCall(t *testing.T) {
	r := newRig(t, Config{})
	r.function(FunctionConfig{Name: "callee"})
	r.function(FunctionConfig{Name: "caller"})
	gate := filepath.Join(r.dir, "gate")
	payload, _ := json.Marshal(helperRequest{Action: "call", Key: gate, Message: r.env.URL() + "/2015-03-31/functions/callee/invocations"})
	type outcome struct {
		res Result
		err error
	}
	called := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := r.env.Invoke(ctx, "caller", payload)
		called <- outcome{res, err}
	}()
	eventually(t, "the caller's invoke", func() bool {
		for _, sb := range r.env.funcs["caller"].Sandboxes() {
			if sb.Busy {
				return true
			}
		}
		return false
	})
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		closed <- r.env.Close(ctx)
	}()
	eventually(t, "Close to start", func() bool {
		r.env.mu.Lock()
		defer r.env.mu.Unlock()
		return r.env.closed
	})
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := <-called
	if o.err != nil {
		t.Fatalf("caller: %v", o.err)
	}
	if reply := mustSucceed(t, o.res); reply.Value != "200" {
		t.Errorf("the callee answered the caller in flight with status %s during Close, want 200", reply.Value)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}
