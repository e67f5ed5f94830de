package circuit

import "testing"

func TestParseStateAcceptsExactlyTheThreeStates(t *testing.T) {
	for _, s := range []State{Closed, Open, HalfOpen} {
		got, err := ParseState(string(s))
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v; want %q, nil", s, got, err, s)
		}
	}
}

func TestParseStateNeverReadsAnUnknownStateAsClosed(t *testing.T) {
	for _, s := range []string{"", "closed", "Open", "HALF-OPEN", "HALFOPEN", "FORCED_OPEN", "FORCED_CLOSED", " CLOSED", "CLOSED "} {
		got, err := ParseState(s)
		if err == nil {
			t.Errorf("ParseState(%q) = %q, nil; want an error", s, got)
			continue
		}
		if got != "" {
			t.Errorf("ParseState(%q) returned state %q with its error; want the zero State", s, got)
		}
		want := `unknown circuit state "` + s + `": want CLOSED, OPEN or HALF_OPEN`
		if err.Error() != want {
			t.Errorf("ParseState(%q) error\n got: %s\nwant: %s", s, err, want)
		}
	}
}

func TestParseOverride(t *testing.T) {
	for _, o := range []Override{NoOverride, ForcedOpen, ForcedClosed} {
		got, err := ParseOverride(string(o))
		if err != nil || got != o {
			t.Errorf("ParseOverride(%q) = %q, %v; want %q, nil", o, got, err, o)
		}
	}
	for _, s := range []string{"OPEN", "CLOSED", "forced_open", "FORCED", "NONE"} {
		got, err := ParseOverride(s)
		if err == nil {
			t.Errorf("ParseOverride(%q) = %q, nil; want an error", s, got)
			continue
		}
		want := `unknown override "` + s + `": want FORCED_OPEN, FORCED_CLOSED or none`
		if err.Error() != want {
			t.Errorf("ParseOverride(%q) error\n got: %s\nwant: %s", s, err, want)
		}
	}
}

func TestEffectiveAndLabelFollowTheOverride(t *testing.T) {
	tests := []struct {
		name      string
		state     State
		override  Override
		effective State
		label     string
		allows    bool
	}{
		{"closed", Closed, NoOverride, Closed, "CLOSED", true},
		{"open", Open, NoOverride, Open, "OPEN", false},
		{"half-open lets only permit holders through", HalfOpen, NoOverride, HalfOpen, "HALF_OPEN", false},
		{"forced open wins over closed", Closed, ForcedOpen, Open, "FORCED_OPEN", false},
		{"forced closed wins over open", Open, ForcedClosed, Closed, "FORCED_CLOSED", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Circuit{State: tt.state, Override: tt.override, Version: 1}
			if got := c.Effective(); got != tt.effective {
				t.Errorf("Effective() = %q, want %q", got, tt.effective)
			}
			if got := c.Label(); got != tt.label {
				t.Errorf("Label() = %q, want %q", got, tt.label)
			}
			if got := c.AllowsCalls(); got != tt.allows {
				t.Errorf("AllowsCalls() = %v, want %v", got, tt.allows)
			}
		})
	}
	if (&Circuit{}).Exists() {
		t.Error("zero Circuit Exists() = true, want false")
	}
	if !(&Circuit{Version: 1}).Exists() {
		t.Error("Circuit{Version: 1}.Exists() = false, want true")
	}
}
