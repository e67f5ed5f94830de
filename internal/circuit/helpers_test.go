package circuit

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const cid = "payments"

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// okCall is a successful call that took n milliseconds.
func okCall(n int) Outcome { return Outcome{OK: true, Latency: ms(n)} }

// failCall is a failed call classified as err.
func failCall(err string) Outcome { return Outcome{Latency: ms(20), Err: err} }

// permitted marks o as made under permit.
func permitted(o Outcome, permit string) Outcome { o.Permit = permit; return o }

// probed marks o as the checker's active probe.
func probed(o Outcome) Outcome { o.Probe = true; return o }

// with returns a copy of c changed by f.
func with(c Circuit, f func(*Circuit)) Circuit { f(&c); return c }

// policy returns the default policy changed by f (nil: unchanged).
func policy(f func(*Policy)) Policy {
	p := DefaultPolicy()
	if f != nil {
		f(&p)
	}
	return p
}

// Prev circuits shared by the table tests. Version 5, last changed an hour ago.
var (
	closedV5 = Circuit{ID: cid, State: Closed, Version: 5, Since: t0.Add(-time.Hour), Reason: "2 successful probes", UpdatedAt: t0.Add(-time.Minute)}
	openV5   = Circuit{ID: cid, State: Open, Version: 5, Since: t0.Add(-10 * time.Second), RetryAt: t0.Add(20 * time.Second), OpenCount: 1,
		Reason: "3 consecutive failures; open for 30s", UpdatedAt: t0.Add(-10 * time.Second)}
	halfOpenV5 = Circuit{ID: cid, State: HalfOpen, Version: 5, Since: t0.Add(-5 * time.Second), OpenCount: 1,
		Probes: []Probe{{Permit: "p1", Until: t0.Add(25 * time.Second)}}, Reason: "open time over after 30s; probing", UpdatedAt: t0.Add(-5 * time.Second)}
)

// diff lists the fields in which two values of the same struct type differ, recursing into structs.
func diff(prefix string, got, want reflect.Value) []string {
	if got.Kind() == reflect.Struct && got.Type() != reflect.TypeOf(time.Time{}) {
		var out []string
		for i := 0; i < got.NumField(); i++ {
			out = append(out, diff(prefix+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))...)
		}
		return out
	}
	if got.Type() == reflect.TypeOf(time.Time{}) {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			return []string{fmt.Sprintf("%s = %v, want %v", prefix, g, w)}
		}
		return nil
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		return []string{fmt.Sprintf("%s = %#v, want %#v", prefix, got.Interface(), want.Interface())}
	}
	return nil
}

func checkResult(t *testing.T, got, want Result) {
	t.Helper()
	if d := diff("Result", reflect.ValueOf(got), reflect.ValueOf(want)); len(d) > 0 {
		t.Errorf("wrong result:\n\t%s", strings.Join(d, "\n\t"))
	}
}

func checkDecision(t *testing.T, got, want Decision) {
	t.Helper()
	if d := diff("Decision", reflect.ValueOf(got), reflect.ValueOf(want)); len(d) > 0 {
		t.Errorf("wrong decision:\n\t%s", strings.Join(d, "\n\t"))
	}
}

// unchanged is the result of a call that decides to write nothing.
func unchanged(prev Circuit) Result { return Result{Circuit: prev} }

// written is the result of a call that writes next (Version and UpdatedAt filled in) with tr.
func written(prev, next Circuit, now time.Time, tr Transition) Result {
	next.Version, next.UpdatedAt = prev.Version+1, now
	if tr.Happened() {
		tr.Version, tr.At = next.Version, now
	}
	return Result{Circuit: next, Changed: true, Transition: tr}
}

// repeat returns n copies of o.
func repeat(n int, o Outcome) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}
