package circuit

import (
	"fmt"
	"unicode/utf8"
)

// MaxIDLength is the longest circuit id accepted.
const MaxIDLength = 128

// ValidateID checks that id is 1–128 characters of [A-Za-z0-9._:-].
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("invalid circuit id: empty; use 1-%d characters of A-Z a-z 0-9 . _ : -", MaxIDLength)
	}
	if n := utf8.RuneCountInString(id); n > MaxIDLength {
		return fmt.Errorf("invalid circuit id %.20q...: %d characters, at most %d allowed", id, n, MaxIDLength)
	}
	// Range over runes, not bytes, so a non-ASCII character is named as itself ('é', not 'Ã').
	for i, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return fmt.Errorf("invalid circuit id %q: character %q at %d; use only A-Z a-z 0-9 . _ : -", id, c, i)
		}
	}
	return nil
}
