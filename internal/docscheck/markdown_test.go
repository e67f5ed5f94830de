package docscheck

import (
	"reflect"
	"testing"
)

func TestAnchorFollowsGitHub(t *testing.T) {
	for text, want := range map[string]string{
		"The flush rule, and how far a decision can be from the truth": "the-flush-rule-and-how-far-a-decision-can-be-from-the-truth",
		"The table (`internal/store`)":                                 "the-table-internalstore",
		"From Node.js":                                                 "from-nodejs",
		"The extension's variables":                                    "the-extensions-variables",
		"BREAKERBOX_TABLE and co":                                      "breakerbox_table-and-co",
	} {
		if got := Anchor(text); got != want {
			t.Errorf("Anchor(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestAnchorsSkipCodeAndNumberRepeats(t *testing.T) {
	md := "# Title\n\n## Usage\n\n```sh\n# not a heading\n```\n\n## Usage\n### Usage ##\n"
	want := map[string]bool{"title": true, "usage": true, "usage-1": true, "usage-2": true}
	if got := Anchors(md); !reflect.DeepEqual(got, want) {
		t.Errorf("Anchors = %v, want %v", got, want)
	}
}

func TestLinksSkipCode(t *testing.T) {
	md := "see [a](docs/a.md#x) and ![chart](c.svg \"title\")\n`[not](a-link.md)`\n```\n[nor](this.md)\n```\n[b](https://docs.aws.amazon.com/lambda/)\n"
	want := []Link{{"docs/a.md#x", 1}, {"c.svg", 1}, {"https://docs.aws.amazon.com/lambda/", 6}}
	if got := Links(md); !reflect.DeepEqual(got, want) {
		t.Errorf("Links = %v, want %v", got, want)
	}
}

func TestLines(t *testing.T) {
	for text, want := range map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\nb\n": 2} {
		if got := Lines(text); got != want {
			t.Errorf("Lines(%q) = %d, want %d", text, got, want)
		}
	}
}
