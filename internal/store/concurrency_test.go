package store_test

import (
	"errors"
	"testing"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

func goodCircuit(id string) circuit.Circuit {
	return circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: t0}
}

func TestUpdateGivesUpWithConflictAfterMaxAttempts(t *testing.T) {
	st, _ := newStore(t, store.Options{MaxAttempts: 3})
	ctx := ctxT(t)
	if err := st.Put(ctx, goodCircuit("busy")); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, err := st.Update(ctx, "busy", func(prev circuit.Circuit) (circuit.Result, error) {
		calls++
		next := prev
		next.Version = prev.Version + 5 // never the next version: always conflicts
		return circuit.Result{Circuit: next, Changed: true}, nil
	})
	if !errors.Is(err, store.ErrConflict) || calls != 3 {
		t.Fatalf("err = %v after %d decisions; want ErrConflict after 3", err, calls)
	}
}
