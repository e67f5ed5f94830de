package lambdaenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// processKind tells the runtime from the extensions.
type processKind int

const (
	kindRuntime processKind = iota
	kindExtension
)

// process is one child process of a sandbox, leader of its own process group.
type process struct {
	name string // "runtime" or the extension name
	kind processKind
	pid  int
	done chan struct{} // closed once the process has been waited for
	err  error         // the exit error, set before done is closed
}

// waitDelay bounds how long cmd.Wait waits for the output pipes after the process has exited (a
// grandchild may hold them open).
const waitDelay = 2 * time.Second

// startProcess starts argv in its own process group with a parent-death signal, its stdout and
// stderr going line by line to out. onExit runs (in its own goroutine) once the process has exited
// and its output has been flushed.
func startProcess(name string, kind processKind, argv, env []string, dir string, out *lineWriter, onExit func(*process)) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = waitDelay
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &process{name: name, kind: kind, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		out.Flush()
		p.err = err
		close(p.done)
		onExit(p)
	}()
	return p, nil
}

// exited reports whether the process has exited and been waited for.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signalGroup sends sig to the process's whole process group (children included).
func (p *process) signalGroup(sig syscall.Signal) {
	// ESRCH (the group is gone) is the only error possible for a group we created.
	_ = syscall.Kill(-p.pid, sig)
}

// stopped reports whether the kernel shows the process as stopped (state T in /proc/PID/stat);
// true where /proc cannot tell.
func (p *process) stopped() bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return true
	}
	return b[i+2] == 'T' || b[i+2] == 't'
}

// exitDescription describes how the process ended, e.g. "exit status 2" or "signal: killed".
func (p *process) exitDescription() string {
	if p.err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.String()
	}
	return p.err.Error()
}

// waitAll waits until every process in ps has exited or the deadline passes.
func waitAll(ps []*process, deadline time.Time) {
	for _, p := range ps {
		d := time.Until(deadline)
		if d <= 0 {
			return
		}
		t := time.NewTimer(d)
		select {
		case <-p.done:
		case <-t.C:
		}
		t.Stop()
	}
}
