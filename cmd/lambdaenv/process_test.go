package main

import (
	"bufio"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"
)

// processWait bounds each wait on the command: generous, since only a failure reaches it.
const processWait = 2 * time.Minute

// process is a lambdaenv command started by a test.
type process struct {
	cmd    *exec.Cmd
	exited chan error
	// stderr is everything it wrote on stderr.
	stderr *testkit.SyncBuffer
	// first is the first line it printed: the Invoke API's URL.
	first string
}

// start runs cmd, killed when t ends (its stderr then logged if t failed), and waits for its first
// line of output; the rest is drained until it exits.
func start(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	stderr := &testkit.SyncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan error, 1), stderr: stderr}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for first := true; sc.Scan(); first = false {
			if first {
				lines <- sc.Text()
			}
		}
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("lambdaenv stderr:\n%s", stderr.String())
		}
	})
	select {
	case p.first = <-lines:
	case <-time.After(processWait):
		t.Fatal("lambdaenv printed no URL")
	}
	return p
}

// stop sends SIGTERM and fails t unless the command exits with status 0.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("lambdaenv exited with %v, want status 0", err)
		}
	case <-time.After(processWait):
		t.Fatal("lambdaenv did not exit after SIGTERM")
	}
}
