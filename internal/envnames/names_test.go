package envnames

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestKnownIsSortedAndUnique(t *testing.T) {
	if !slices.IsSorted(Known) {
		t.Errorf("Known is not sorted: IsKnown searches it")
	}
	if len(slices.Compact(slices.Clone(Known))) != len(Known) {
		t.Errorf("Known holds a name twice")
	}
}

func TestClosestNamesTheIntendedVariable(t *testing.T) {
	for typo, want := range map[string]string{
		"BREAKERBOX_FAILMODE":     "BREAKERBOX_FAIL_MODE",
		"BREAKERBOX_DISABLE":      "BREAKERBOX_DISABLED",
		"BREAKERBOX_TABEL":        "BREAKERBOX_TABLE",
		"BREAKERBOX_CACHETTL":     "BREAKERBOX_CACHE_TTL",
		"BREAKERBOX_FLUSH_INTERV": "BREAKERBOX_FLUSH_INTERVAL",
		"BREAKERBOX_PROT":         "BREAKERBOX_PORT",
	} {
		if got := Closest(typo); got != want {
			t.Errorf("Closest(%s) = %s, want %s", typo, got, want)
		}
	}
}

func TestFindReportsOnlyUnknownBreakerboxVariables(t *testing.T) {
	got := Find([]string{"PATH=/bin", "BREAKERBOX_TABLE=t", "BREAKERBOX_FAILMODE=closed", "BREAKERBOX_DISABLED=true",
		"BREAKERBOX_CIRCUIT=inventory", "BREAKERBOX_FAILMODE=open", "breakerbox_port=1", "BREAKERBOX_DISABLE=true"})
	want := []Unknown{{"BREAKERBOX_FAILMODE", "BREAKERBOX_FAIL_MODE"}, {"BREAKERBOX_DISABLE", "BREAKERBOX_DISABLED"}}
	if !slices.Equal(got, want) {
		t.Errorf("Find = %v, want %v", got, want)
	}
	if msg := want[0].Message(); !strings.Contains(msg, "BREAKERBOX_FAILMODE") || !strings.Contains(msg, "did you mean BREAKERBOX_FAIL_MODE?") {
		t.Errorf("message %q does not name both variables", msg)
	}
}

// Every BREAKERBOX_ name in the Go code (tests aside) is on Known, and every name on Known is read
// somewhere: a part that starts reading a new variable adds it here, or every other part would warn
// that it is unknown.
func TestKnownMatchesTheCode(t *testing.T) {
	root := filepath.Join("..", "..")
	lit := regexp.MustCompile(`"(BREAKERBOX_[A-Z0-9_]+)"`)
	used := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "out", "build", "bin", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.HasPrefix(p, filepath.Join(root, "internal", "envnames")) {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = append(used[m[1]], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range used {
		if !IsKnown(name) {
			t.Errorf("%s is read in %s but is not on envnames.Known: add it there and to the Python and Node copies", name, files[0])
		}
	}
	for _, name := range Known {
		if used[name] == nil {
			t.Errorf("%s is on envnames.Known but no Go code reads it: remove it (and from the Python and Node copies)", name)
		}
	}
}
