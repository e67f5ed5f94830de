package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the command: run with BENCH_MAIN=1 it is `bench`, so that the tests
// run the real program.
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestBadCommandLine checks that a command line whose meaning is not what it says is refused with
// exit status 2 before anything is built or started: an argument that made the flag package drop
// every flag after it (the whole benchmark then ran with the defaults), a rate of NaN or below
// zero, a negative duration.
func TestBadCommandLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"50", "-rounds", "0"}, `unexpected arguments ["50" "-rounds" "0"]`},
		{[]string{"-reads-rate", "NaN"}, "-reads-rate NaN: want"},
		{[]string{"-reads-rate", "-5"}, "-reads-rate -5: want"},
		{[]string{"-reads-rate", "0"}, "-reads-rate 0: want"},
		{[]string{"-reads-duration", "-1s"}, "-reads-duration -1s"},
		{[]string{"-rounds", "0"}, "-rounds, -starts and -invokes must be at least 1"},
	} {
		// Generous: only a failure (the benchmark running) reaches it.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), "BENCH_MAIN=1")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		_ = cmd.Run()
		cancel()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(stderr.String(), c.want) || stdout.Len() != 0 {
			t.Errorf("bench %q: exit %d, stderr %q, %d bytes on stdout; want exit 2, %q and nothing run", c.args, code, stderr.String(), stdout.Len(), c.want)
		}
	}
}
