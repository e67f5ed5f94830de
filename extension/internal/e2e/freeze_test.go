package e2e

import (
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// A sandbox frozen (SIGSTOP) for longer than the TTL reads the circuit again on the first GET after
// it is thawed (SIGCONT), and sees the change made meanwhile.
func TestFrozenLongerThanTheTTLReadsAgain(t *testing.T) {
	r := newRig(t, rigOptions{Freeze: true, Env: []string{"BREAKERBOX_CACHE_TTL=1s", "BREAKERBOX_CIRCUITS=inventory"}})
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Closed, Since: time.Now()})
	// The GET is served from the copy the init prefetched, or, when the init and the first invoke
	// took longer than the 1 s TTL (a loaded machine), from a read of its own: either way the
	// sandbox then holds a copy, and the freeze below outlasts its TTL.
	res := r.invoke(get("/v1/circuits/inventory"), get("/v1/stats")).Results
	first := decode[stats](t, res[1])
	if first.CacheHits+first.CacheMisses != 1 || first.StoreReads != 1+first.CacheMisses {
		t.Fatalf("first invoke: %s, want the GET served from the prefetched copy or from one read of its own", res[1].Body)
	}
	if sb := r.fn.Sandboxes(); len(sb) != 1 || !sb[0].Frozen {
		t.Fatalf("sandbox not frozen between invokes: %+v", sb)
	}
	r.put(circuit.Circuit{ID: "inventory", State: circuit.Open, Version: 2, Since: time.Now(), RetryAt: time.Now().Add(time.Hour), Reason: "tripped while frozen"})
	time.Sleep(2500 * time.Millisecond)

	res = r.invoke(get("/v1/circuits/inventory"), get("/v1/stats")).Results
	v := decode[view](t, res[0])
	st := decode[stats](t, res[1])
	if v.State != "OPEN" || v.Version != 2 || v.Stale || st.StoreReads != first.StoreReads+1 || st.CacheMisses != first.CacheMisses+1 {
		t.Fatalf("after the freeze: %s, stats %s; want a new read showing OPEN version 2", res[0].Body, res[1].Body)
	}
}
