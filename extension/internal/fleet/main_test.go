package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/outlock"
)

// The test binary doubles as the command: run with FLEET_MAIN=1 it is `fleet`, so that the tests
// run the real program, signals and exit status included.
func TestMain(m *testing.M) {
	if os.Getenv("FLEET_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// processWait bounds each wait on the command: generous, since only a failure reaches it (a
// full-size simulation, which none of these tests should start, takes minutes).
const processWait = time.Minute

// command is the fleet command with args, killed when the test ends.
func command(t *testing.T, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), processWait)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FLEET_MAIN=1")
	return cmd
}

// fleet runs the command to its end and returns its exit status, stdout and stderr.
func fleet(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := command(t, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("fleet %q: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestSmallRun runs one shape once: the table on stdout ending with the fleet: line, and the three
// files in -out.
func TestSmallRun(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := fleet(t, "-out", dir, "-runs", "1", "-shapes", "dense")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "fleet: runs=13 ") {
		t.Errorf("last line %q, want fleet: runs=13 ... (1 shape x 13 kinds and rates)", last)
	}
	for _, f := range []string{"results.json", "table.md", "tripprob.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestBadCommandLine checks that a command line whose meaning is not what it says is refused
// (exit 2, the flag at fault named) before anything is simulated, instead of running something
// else: an ignored argument, -envs 0 taken as the default, a shape counted twice, -envs on no
// spread shape.
func TestBadCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-runs", "1", "-shapes", "dense", "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-runs", "1", "-shapes", "dense,spread", "-envs", "0"}, "-envs 0: want 1 to 500"},
		{[]string{"-runs", "1", "-shapes", "dense,spread", "-envs", "501"}, "-envs 501: want 1 to 500"},
		{[]string{"-runs", "1", "-shapes", "dense", "-envs", "20"}, "leaves spread out"},
		{[]string{"-runs", "1", "-shapes", "dense,dense"}, "dense is named twice"},
		{[]string{"-runs", "1", "-shapes", "dense,"}, "an empty shape name"},
		{[]string{"-runs", "1", "-shapes", ""}, "an empty shape name"},
		{[]string{"-runs", "1", "-shapes", "nope"}, `unknown traffic shape "nope"`},
		{[]string{"-runs", "0", "-shapes", "dense"}, "runs 0: want at least 1"},
		{[]string{"-runs", "1000000000", "-shapes", "sparse"}, "-runs 1000000000: at most 10000"},
		{[]string{"-runs", "1", "-shapes", "dense", "-cache-ttl", "-1s"}, "want both positive"},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
	} {
		code, stdout, stderr := fleet(t, append([]string{"-out", t.TempDir()}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("fleet %q: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
		if stdout != "" {
			t.Errorf("fleet %q printed a table:\n%s", c.args, stdout)
		}
	}
}

// TestUnwritableOut checks that an -out folder that cannot be written is reported before the
// simulation (minutes at the default size) starts, not after it.
func TestUnwritableOut(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(file, "out")
	code, _, stderr := fleet(t, "-out", out)
	if code != 1 || !strings.Contains(stderr, "-out: create "+out) || strings.Contains(stderr, "simulated in") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the -out folder's error before any simulation", code, stderr)
	}
}

// TestInterrupt checks that Ctrl-C (SIGINT) during a full-size simulation stops it, exiting 130
// with a line saying so (not 1 with the in-memory store's error, twice), and no table.
func TestInterrupt(t *testing.T) {
	cmd := command(t, "-out", t.TempDir())
	var stdout strings.Builder
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The first line on stderr says the simulation has started (and the signal is handled).
	stderr := bufio.NewReader(pipe)
	first, err := stderr.ReadString('\n')
	if !strings.HasPrefix(first, "fleet: simulating ") {
		t.Fatalf("first line on stderr %q (%v), want fleet: simulating ...", first, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || strings.TrimSpace(string(rest)) != "fleet: interrupted: no table and no files written" {
		t.Errorf("exit %d, stderr after the first line %q; want exit 130 and one line saying it was interrupted", code, rest)
	}
	if stdout.String() != "" {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
}

// TestTwoAtOnce checks that a fleet whose -out another fleet is writing stops at once, saying so,
// instead of mixing its files with the other's.
func TestTwoAtOnce(t *testing.T) {
	dir := t.TempDir()
	other, err := outlock.Lock(dir, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	code, stdout, stderr := fleet(t, "-out", dir, "-runs", "1", "-shapes", "dense")
	if code != 1 || !strings.Contains(stderr, "-out "+dir+": in use by another run: another fleet is writing there") || stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q; want exit 1, the folder named as in use, and no table", code, stderr, stdout)
	}
}
