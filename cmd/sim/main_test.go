package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive/sim"
	"github.com/breakerbox/breakerbox/internal/outlock"
)

// timing masks the run's duration, the one figure that differs from run to run.
var timing = regexp.MustCompile(`in [0-9.]+s on [0-9]+ CPUs`)

func runSim(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	base := []string{"-out", t.TempDir(), "-bases", "30s", "-queues", "shared,limited", "-seeds", "3", "-compare", ""}
	if err := run(append(base, args...), &out); err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return timing.ReplaceAllString(out.String(), "in Xs on N CPUs")
}

// TestRowsFlag checks that -rows adds the per-seed rows of the providers named, and only of
// them and the phases asked for, before the sim: line, and leaves the rest of the output as it
// is without the flag.
func TestRowsFlag(t *testing.T) {
	plain := runSim(t)
	if strings.Contains(plain, "per seed") {
		t.Fatalf("without -rows the output has per-seed rows:\n%s", plain)
	}
	rows := runSim(t, "-rows", "30s/limited", "-phases", "degraded,recovered")
	head, rest, ok := strings.Cut(rows, "\npace per seed (-rows 30s/limited):\n\n")
	if !ok {
		t.Fatalf("no per-seed section:\n%s", rows)
	}
	section, tail, ok := strings.Cut(rest, "\n\n")
	if !ok {
		t.Fatalf("the per-seed section does not end:\n%s", rest)
	}
	if head+"\n"+tail != plain {
		t.Errorf("-rows changed the rest of the output:\nwithout:\n%s\nwith:\n%s", plain, rows)
	}
	lines := strings.Split(section, "\n")
	if len(lines) != 1+3*2 {
		t.Fatalf("want a header and 3 seeds x 2 phases, got %d lines:\n%s", len(lines), section)
	}
	want := []string{"1 30s limited degraded", "1 30s limited recovered", "2 30s limited degraded",
		"2 30s limited recovered", "3 30s limited degraded", "3 30s limited recovered"}
	for i, w := range want {
		if got := strings.Join(strings.Fields(lines[1+i])[:4], " "); got != w {
			t.Errorf("row %d starts %q, want %q", i+1, got, w)
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), "seed") {
		t.Errorf("no header: %q", lines[0])
	}
	if !strings.HasSuffix(strings.TrimSpace(rows), strings.TrimSpace(plain[strings.LastIndex(plain, "sim: "):])) {
		t.Errorf("the sim: line is not the last line, or differs:\n%s", rows)
	}
}

func TestParseRows(t *testing.T) {
	keep, err := parseRows("70s/fifo, 30s")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    sim.Provider
		want bool
	}{
		{sim.Provider{Base: 70 * time.Second, Discipline: sim.FIFO}, true},
		{sim.Provider{Base: 70 * time.Second, Discipline: sim.Shared}, false},
		{sim.Provider{Base: 30 * time.Second, Discipline: sim.Limited}, true},
		{sim.Provider{Base: 200 * time.Millisecond, Discipline: sim.FIFO}, false},
	} {
		if got := keep(c.p); got != c.want {
			t.Errorf("keep(%s) = %v, want %v", c.p, got, c.want)
		}
	}
	if keep, err := parseRows(""); err != nil || keep != nil {
		t.Errorf(`parseRows("") = %v, %v; want nil, nil`, keep != nil, err)
	}
	for _, bad := range []string{"fifo", "70s/lifo", "-1s", "70s/"} {
		if _, err := parseRows(bad); err == nil {
			t.Errorf("parseRows(%q) accepted", bad)
		}
	}
}

func TestCheckPhases(t *testing.T) {
	if err := checkPhases("degraded, recovered", true); err != nil {
		t.Error(err)
	}
	if err := checkPhases("", false); err != nil {
		t.Error(err)
	}
	if err := checkPhases("degraded", false); err == nil {
		t.Error("-phases without -rows accepted")
	}
	if err := checkPhases("slow", true); err == nil {
		t.Error("an unknown phase accepted")
	}
}

// TestSourceAndPollersFlags checks that -source and -pollers name the providers they play, and
// that what the ventilator could not run is refused before anything is played.
func TestSourceAndPollersFlags(t *testing.T) {
	if out := runSim(t, "-source", "sqs"); !strings.Contains(out, "30s limited sqs") {
		t.Errorf("-source sqs: no provider named sqs in the summary:\n%s", out)
	}
	if out := runSim(t, "-pollers", "2"); !strings.Contains(out, "30s limited x2") {
		t.Errorf("-pollers 2: no provider named x2 in the summary:\n%s", out)
	}
	for _, args := range [][]string{
		{"-source", "kafka"},
		{"-pollers", "0"},
		{"-source", "sqs", "-pollers", "2"},
	} {
		var out bytes.Buffer
		err := run(append([]string{"-out", t.TempDir(), "-bases", "30s", "-seeds", "1"}, args...), &out)
		if err == nil || out.Len() != 0 {
			t.Errorf("run %v: error %v after %d bytes of output; want an error and nothing played", args, err, out.Len())
		}
	}
}

// TestBadCommandLine checks that a command line whose meaning is not what it says is refused
// before anything is played, naming the flag at fault: an ignored argument, a provider or policy
// named twice (played and counted twice), -rows naming no provider played (an empty section), an
// unwritable -out.
func TestBadCommandLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-bases", "30s,30000ms"}, "-bases 30s,30000ms: 30s is named twice"},
		{[]string{"-queues", "shared,shared"}, "-queues shared,shared: shared is named twice"},
		{[]string{"-queues", "lifo"}, `-queues: sim: unknown queue discipline "lifo"`},
		{[]string{"-compare", "step,step"}, "step is named twice"},
		{[]string{"-compare", "pace"}, "pace is named twice"},
		{[]string{"-compare", "stpe"}, `unknown policy "stpe" (want pace, knee, step, aimd, gradient)`},
		{[]string{"-policy", ""}, `unknown policy ""`},
		{[]string{"-rows", "5s"}, "-rows 5s names none of the providers played"},
		{[]string{"-seeds", "0"}, "-seeds must be from 1 to 100000, got 0"},
		{[]string{"-out", filepath.Join(file, "out")}, "-out: create " + filepath.Join(file, "out")},
	} {
		var out bytes.Buffer
		args := append([]string{"-out", t.TempDir(), "-bases", "30s", "-queues", "shared", "-seeds", "1"}, c.args...)
		err := run(args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) || out.Len() != 0 {
			t.Errorf("sim %q: error %v after %d bytes of output; want %q and nothing played", c.args, err, out.Len(), c.want)
		}
	}
}

// TestChartWithoutItsProvider checks that a run whose -bases has no 200ms provider (the one the
// chart plays) says there is no chart and leaves none from an earlier run to pass for its own.
func TestChartWithoutItsProvider(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"-out", dir, "-bases", "200ms", "-queues", "shared", "-seeds", "1", "-compare", ""}, &out); err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(dir, "concurrency.svg")
	if _, err := os.Stat(chart); err != nil {
		t.Fatalf("with a 200ms provider: %v", err)
	}
	out.Reset()
	if err := run([]string{"-out", dir, "-bases", "30s", "-queues", "shared", "-seeds", "1", "-compare", ""}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(chart); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the earlier run's chart is still there (%v)", err)
	}
	if !strings.Contains(out.String(), "no concurrency.svg: the chart plays a 200ms provider, and -bases has none") {
		t.Errorf("the output does not say there is no chart:\n%s", out.String())
	}
}

// TestHugeSeeds checks that a -seeds too large to hold is refused: the list of seeds alone took
// 16 GB at 2000000000, and the run died out of memory.
func TestHugeSeeds(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-out", t.TempDir(), "-bases", "30s", "-seeds", "2000000000"}, &out)
	if err == nil || !strings.Contains(err.Error(), "-seeds must be from 1 to 100000, got 2000000000") {
		t.Errorf("error %v, want -seeds refused", err)
	}
}

// TestTwoAtOnce checks that a sim whose -out another sim is writing stops at once, saying so,
// instead of mixing its results.json and chart with the other's.
func TestTwoAtOnce(t *testing.T) {
	dir := t.TempDir()
	other, err := outlock.Lock(dir, "sim")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var out bytes.Buffer
	err = run([]string{"-out", dir, "-bases", "30s", "-queues", "shared", "-seeds", "1"}, &out)
	if err == nil || !strings.Contains(err.Error(), "-out "+dir+": in use by another run: another sim is writing there") || out.Len() != 0 {
		t.Errorf("error %v after %d bytes of output; want the folder named as in use, and nothing played", err, out.Len())
	}
}
