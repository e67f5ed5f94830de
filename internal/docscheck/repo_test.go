package docscheck

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// root is the repository, seen from this package's directory.
const root = "../.."

// maxREADMELines is the README's budget: what breakerbox is, a picture, Getting started, the two
// set-up commands and the contents; everything else lives in docs/.
const maxREADMELines = 400

// externalAllowed says which links may leave the repository: only AWS's documentation, cited for
// how Lambda behaves. Everything else a page needs is in the repository.
func externalAllowed(u *url.URL) bool {
	return u.Scheme == "https" && u.Host == "docs.aws.amazon.com"
}

// pages are the Markdown files a user reads, relative to the root.
func pages(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 9 {
		t.Fatalf("docs/ holds %d pages, want the nine of the README's contents", len(docs))
	}
	out := []string{"README.md", "layer/README.md"}
	for _, d := range docs {
		out = append(out, "docs/"+filepath.Base(d))
	}
	sort.Strings(out[2:])
	return out
}

func read(t *testing.T, rel string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestREADMEIsShortAndLinksEveryPage: the README stays a front page, and no page of docs/ is an
// orphan a newcomer cannot reach from it.
func TestREADMEIsShortAndLinksEveryPage(t *testing.T) {
	readme := read(t, "README.md")
	if n := Lines(readme); n > maxREADMELines {
		t.Errorf("README.md has %d lines, over the budget of %d: move the detail to the fitting page of docs/", n, maxREADMELines)
	}
	linked := map[string]bool{}
	for _, l := range Links(readme) {
		target, _, _ := strings.Cut(l.Target, "#")
		linked[path.Clean(target)] = true
	}
	for _, p := range pages(t) {
		if strings.HasPrefix(p, "docs/") && !linked[p] {
			t.Errorf("README.md does not link %s: add it to the contents", p)
		}
	}
	if !strings.Contains(readme, "make test") || !strings.Contains(readme, "make demo") {
		t.Error("README.md must show the two set-up commands, make demo and make test (.ci/run runs make test)")
	}
}

// TestEveryLinkResolves: every relative link of the README, docs/*.md and layer/README.md names a
// file of the repository and, with a #fragment into a Markdown page, one of its headings; a link
// out of the repository goes to AWS's documentation or nowhere.
func TestEveryLinkResolves(t *testing.T) {
	anchors := map[string]map[string]bool{}
	anchorsOf := func(rel string) map[string]bool {
		if a, ok := anchors[rel]; ok {
			return a
		}
		anchors[rel] = Anchors(read(t, rel))
		return anchors[rel]
	}
	checked := 0
	for _, page := range pages(t) {
		for _, l := range Links(read(t, page)) {
			checked++
			u, err := url.Parse(l.Target)
			if err != nil {
				t.Errorf("%s:%d: link %q does not parse: %v", page, l.Line, l.Target, err)
				continue
			}
			if u.Scheme != "" || u.Host != "" {
				if !externalAllowed(u) {
					t.Errorf("%s:%d: link %q leaves the repository: link a page of the repository (or cite docs.aws.amazon.com)", page, l.Line, l.Target)
				}
				continue
			}
			target := page
			if u.Path != "" {
				target = path.Clean(path.Join(path.Dir(page), u.Path))
			}
			if strings.HasPrefix(target, "../") {
				t.Errorf("%s:%d: link %q points outside the repository", page, l.Line, l.Target)
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
				t.Errorf("%s:%d: link %q: %s does not exist", page, l.Line, l.Target, target)
				continue
			}
			if u.Fragment == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s:%d: link %q has a fragment into %s, which has no headings", page, l.Line, l.Target, target)
				continue
			}
			if !anchorsOf(target)[u.Fragment] {
				t.Errorf("%s:%d: link %q: %s has no heading with the anchor #%s", page, l.Line, l.Target, target, u.Fragment)
			}
		}
	}
	if checked < 30 {
		t.Fatalf("found %d links in all the pages: the link pattern is broken", checked)
	}
}

// TestConfigurationListsEveryKnob: docs/configuration.md's table of per-circuit policy keys holds
// every knob of the model with its variable, and nothing else, so a new knob is documented too.
func TestConfigurationListsEveryKnob(t *testing.T) {
	page := read(t, "docs/configuration.md")
	row := regexp.MustCompile("(?m)^\\| `([a-z][A-Za-z]+)` \\| `(BREAKERBOX_[A-Z_]+)` \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(page, -1) {
		documented[m[1]] = m[2]
	}
	for _, k := range circuit.Knobs() {
		if env, ok := documented[k.Key]; !ok || env != k.Env {
			t.Errorf("docs/configuration.md's per-circuit policy table lacks the row | `%s` | `%s` |", k.Key, k.Env)
		}
		delete(documented, k.Key)
	}
	for key := range documented {
		t.Errorf("docs/configuration.md lists the policy key %s, which the model does not know", key)
	}
}
