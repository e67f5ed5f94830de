package circuit

import "fmt"

// MaxIDLength is the longest circuit id accepted.
const MaxIDLength = 128

// ValidateID checks that id is 1–128 characters of [A-Za-z0-9._:-].
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("invalid circuit id: empty; use 1-%d characters of A-Z a-z 0-9 . _ : -", MaxIDLength)
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("invalid circuit id %.20q...: %d characters, at most %d allowed", id, len(id), MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return fmt.Errorf("invalid circuit id %q: character %q at %d; use only A-Z a-z 0-9 . _ : -", id, c, i)
		}
	}
	return nil
}
