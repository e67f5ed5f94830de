package motoserver

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// groupCPU sees a busy process group's CPU time grow, and an idle group's stand still: the two
// cases awaitStartUp tells apart (a slow start-up on a loaded machine, a stuck one).
func TestGroupCPUTellsBusyFromIdle(t *testing.T) {
	start := func(argv ...string) *exec.Cmd {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd
	}
	busy := start("sh", "-c", "while :; do :; done")
	idle := start("sleep", "600")
	first := groupCPU(busy.Process.Pid)
	if first < 0 {
		t.Fatal("groupCPU cannot read /proc")
	}
	// The idle group counts as idle once the forked test binary has become sleep.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", idle.Process.Pid)); strings.TrimSpace(string(b)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle process never became sleep")
		}
	}
	idleFirst := groupCPU(idle.Process.Pid)
	// Wait on the busy group's progress (a clock tick is 10 ms of CPU), bounded generously.
	for deadline := time.Now().Add(2 * time.Minute); groupCPU(busy.Process.Pid) == first; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a busy loop's CPU time stayed at %d ticks for 2 minutes", first)
		}
	}
	if got := groupCPU(idle.Process.Pid); got != idleFirst {
		t.Errorf("an idle group's CPU time moved from %d to %d ticks", idleFirst, got)
	}
}
