package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNamesFor(t *testing.T) {
	n := NamesFor("payments", "")
	if n.CheckRule != "breakerbox-payments" || n.Table != "breakerbox" || n.Stream != "orders" {
		t.Errorf("names without a run: %+v", n)
	}
	r := NamesFor("payments", "x1")
	for _, name := range []string{r.Table, r.DedupTable, r.DLQ, r.Stream, r.CheckRule, r.WakeRule} {
		if !strings.HasSuffix(name, "-x1") {
			t.Errorf("name %q is not suffixed by the run", name)
		}
	}
}

func TestSpeedup(t *testing.T) {
	if got := speedup(CheckSchedule, 2*time.Second); got != 30 {
		t.Errorf("rate(1 minute) every 2s: speedup %v, want 30", got)
	}
	if got := speedup(WakeSchedule, 2*time.Second); got != 300 {
		t.Errorf("rate(10 minutes) every 2s: speedup %v, want 300", got)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("module root %s has no go.mod", root)
	}
	if _, err := ModuleRoot(t.TempDir()); err == nil {
		t.Error("a directory outside any module has a module root")
	}
	// Another module's folder (-repo pointed at the wrong project) is refused saying so, instead
	// of the go build that follows failing on packages it cannot find.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ModuleRoot(other)
	if err == nil || !strings.Contains(err.Error(), `is in the module "example.com/other", not github.com/breakerbox/breakerbox`) {
		t.Errorf("another module's folder: %v; want it refused, naming both modules", err)
	}
}
