package sim

import (
	"strings"
	"testing"
)

// TestParseNames checks that sources and disciplines are read by their names, and that an unknown
// name is refused with the names there are.
func TestParseNames(t *testing.T) {
	for _, src := range Sources {
		if got, err := ParseSource(src.String()); err != nil || got != src {
			t.Errorf("ParseSource(%q) = %v, %v", src, got, err)
		}
	}
	for _, d := range Disciplines {
		if got, err := ParseDiscipline(d.String()); err != nil || got != d {
			t.Errorf("ParseDiscipline(%q) = %v, %v", d, got, err)
		}
	}
	if _, err := ParseSource("kafka"); err == nil || !strings.Contains(err.Error(), `"kafka" (want one of kinesis, sqs)`) {
		t.Errorf("ParseSource(kafka) error = %v", err)
	}
	if _, err := ParseDiscipline("lifo"); err == nil || !strings.Contains(err.Error(), "shared, fifo, limited") {
		t.Errorf("ParseDiscipline(lifo) error = %v", err)
	}
}
