package circuit

import (
	"strings"
	"testing"
)

func TestValidateIDAcceptsTheAllowedAlphabet(t *testing.T) {
	for _, id := range []string{
		"a",
		"payments",
		"orders:eu-west-1",
		"svc_v2.internal",
		"ABC-xyz_0.9:",
		strings.Repeat("x", MaxIDLength),
	} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
}

func TestValidateIDRejectsWithAMessageNamingTheProblem(t *testing.T) {
	long := strings.Repeat("a", MaxIDLength+1)
	tests := []struct {
		name, id, want string
	}{
		{"empty", "", "invalid circuit id: empty; use 1-128 characters of A-Z a-z 0-9 . _ : -"},
		{"129 characters", long, `invalid circuit id "aaaaaaaaaaaaaaaaaaaa"...: 129 characters, at most 128 allowed`},
		{"129 multi-byte characters counted as characters", strings.Repeat("é", 129), `invalid circuit id "éééééééééééééééééééé"...: 129 characters, at most 128 allowed`},
		{"space", "my service", `invalid circuit id "my service": character ' ' at 2; use only A-Z a-z 0-9 . _ : -`},
		{"slash", "svc/a", `invalid circuit id "svc/a": character '/' at 3; use only A-Z a-z 0-9 . _ : -`},
		{"unicode named as itself", "café", `invalid circuit id "café": character 'é' at 3; use only A-Z a-z 0-9 . _ : -`},
		{"hash would clash with window keys", "a#0", `invalid circuit id "a#0": character '#' at 1; use only A-Z a-z 0-9 . _ : -`},
		{"control character", "a\x00", `invalid circuit id "a\x00": character '\x00' at 1; use only A-Z a-z 0-9 . _ : -`},
		{"invalid UTF-8", "a\xff", `invalid circuit id "a\xff": character '�' at 1; use only A-Z a-z 0-9 . _ : -`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateID(tt.id)
			if err == nil {
				t.Fatalf("ValidateID(%q) = nil, want error", tt.id)
			}
			if err.Error() != tt.want {
				t.Errorf("ValidateID(%q)\n got: %s\nwant: %s", tt.id, err, tt.want)
			}
		})
	}
}
