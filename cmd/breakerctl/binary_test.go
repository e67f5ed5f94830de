package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// TestBinary builds the real breakerctl and runs it against moto through the SDK's standard
// environment (AWS_ENDPOINT_URL and friends), as an operator would.
func TestBinary(t *testing.T) {
	srv := mototest.Shared(t)
	bin := filepath.Join(t.TempDir(), "breakerctl")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "BREAKERBOX_") {
			env = append(env, kv)
		}
	}
	env = append(env, srv.Env()...)
	env = append(env, fmt.Sprintf("BREAKERBOX_TABLE=ctl-bin-%d", seq.Add(1)), "BREAKERBOX_CHECKER_ARN="+checkerARN)
	exe := func(args ...string) (string, string, int) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), errOut.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("run %v: %v", args, err)
		}
		return out.String(), errOut.String(), 0
	}
	if _, errOut, code := exe(); code != exitUsage || !strings.Contains(errOut, "Usage:") {
		t.Fatalf("no arguments: exit %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{
		{"create-table"},
		{"force-open", "bin-svc", "--reason", "from the binary"},
		{"monitor", "add", "--id", "bin-svc", "--url", "https://bin.example/health"},
	} {
		if _, errOut, code := exe(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	out, errOut, code := exe("get", "bin-svc", "-o", "json")
	var v circuitView
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Override != "FORCED_OPEN" || v.Reason != "FORCED_OPEN: from the binary" {
		t.Fatalf("get: exit %d, %s %s", code, out, errOut)
	}
	out, _, _ = exe("monitor", "list")
	if !strings.Contains(out, "bin-svc") || !strings.Contains(out, "https://bin.example/health") {
		t.Fatalf("monitor list:\n%s", out)
	}
	if _, errOut, code := exe("monitor", "remove", "bin-svc"); code != 0 {
		t.Fatalf("monitor remove: %s", errOut)
	}
}
