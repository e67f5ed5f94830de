package emfsplit

import (
	"strings"
	"testing"
)

const emf = `{"BatchSize":3,"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"breakerbox","Dimensions":[["Circuit"]],"Metrics":[{"Name":"BatchSize","Unit":"Count"}]}]}}`

func TestSplit(t *testing.T) {
	var metrics, logs strings.Builder
	s := New(&metrics, &logs)
	in := "[ventilator#0 bootstrap] " + emf + "\n" +
		`[ventilator#0 bootstrap] {"level":"INFO","msg":"batch done"}` + "\n" +
		`[ventilator#0 breakerbox] {"msg":"mentions \"_aws\" but is no metric"}` + "\n" +
		"[ventilator#1 bootstrap] " + emf[:20]
	// Written in pieces, as pipes deliver it.
	for len(in) > 0 {
		n := min(7, len(in))
		if _, err := s.Write([]byte(in[:n])); err != nil {
			t.Fatal(err)
		}
		in = in[n:]
	}
	if _, err := s.Write([]byte(emf[20:] + "\n")); err != nil {
		t.Fatal(err)
	}
	if want := emf + "\n" + emf + "\n"; metrics.String() != want {
		t.Errorf("metrics:\n%s\nwant:\n%s", metrics.String(), want)
	}
	if got := strings.Count(logs.String(), "\n"); got != 2 || !strings.HasPrefix(logs.String(), "[ventilator#0 bootstrap] {") {
		t.Errorf("logs (%d lines):\n%s", got, logs.String())
	}
	if s.Metrics() != 2 || s.Err() != nil {
		t.Errorf("metrics %d, err %v", s.Metrics(), s.Err())
	}
}

func TestIsEMF(t *testing.T) {
	for in, want := range map[string]bool{
		emf:                   true,
		`{"_aws":{}}`:         false,
		`{"_aws":"x"}`:        false,
		`not json "_aws"`:     false,
		"":                    false,
		`  ` + emf + "  \r\n": true,
	} {
		if got := IsEMF([]byte(in)); got != want {
			t.Errorf("IsEMF(%.40q) = %v, want %v", in, got, want)
		}
	}
}

// Wake-up lines are counted by trigger, and the latest trigger is kept.
func TestWakes(t *testing.T) {
	s := New(nil, nil)
	for _, trigger := range []string{"schedule", "event", "event"} {
		line := `[ventilator#0 bootstrap] {"BatchSize":4,"Concurrency":2,"Circuit":"payments","wakeUp":true,"trigger":"` + trigger +
			`","_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"breakerbox","Dimensions":[["Circuit"]],"Metrics":[{"Name":"BatchSize","Unit":"Count"}]}]}}` + "\n"
		if _, err := s.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Write([]byte(emf + "\n")); err != nil { // a batch's line is no wake-up
		t.Fatal(err)
	}
	by, last := s.Wakes()
	if by["event"] != 2 || by["schedule"] != 1 || len(by) != 2 || last != "event" {
		t.Fatalf("Wakes() = %v, %q", by, last)
	}
	if c := s.Concurrency(); c != 2 {
		t.Fatalf("Concurrency() = %d, want the latest line's 2 (a line without it changes nothing)", c)
	}
}
