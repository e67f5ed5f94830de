package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// built is the breakerctl binary the binary tests share, built once per test process.
var built struct {
	once sync.Once
	path string
	err  error
	dir  string
}

// binary returns the path of the real breakerctl, built on first use (one go build for every test
// that runs the binary, not one each).
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "breakerctl-bin-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "breakerctl")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", built.path, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// TestBinary builds the real breakerctl and runs it against moto through the SDK's standard
// environment (AWS_ENDPOINT_URL and friends), as an operator would.
func TestBinary(t *testing.T) {
	srv := mototest.Shared(t)
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
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

// TestBinaryNamesTheMissingSetting: run as an operator would with one AWS setting missing, the
// binary says which one and how to set it, without the SDK's noise (checksum warnings about a local
// server's error page, the IMDSv1 notice) in front. No case reaches beyond loopback: IMDS is off and
// the one case without AWS_ENDPOINT_URL fails on its credentials before any request.
func TestBinaryNamesTheMissingSetting(t *testing.T) {
	srv := mototest.Shared(t)
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"BREAKERBOX_TABLE=ctl-missing"}
	creds := []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test"}
	endpoint := "AWS_ENDPOINT_URL=" + srv.URL
	region := "AWS_REGION=us-east-1"
	closed := fmt.Sprintf("AWS_ENDPOINT_URL=http://127.0.0.1:%d", testkit.FreePort(t))
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"no region", append([]string{endpoint}, creds...), []string{"no AWS region: set AWS_REGION"}},
		{"no credentials", []string{endpoint, region}, []string{"no AWS credentials found", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}},
		{"no endpoint, no credentials", []string{region}, []string{"no AWS credentials found", "AWS_ENDPOINT_URL is not set", "AWS_ENDPOINT_URL=http://127.0.0.1:5000"}},
		{"nothing at the endpoint", append([]string{closed, region}, creds...), []string{"nothing answers at http://127.0.0.1:", "fix AWS_ENDPOINT_URL"}},
	} {
		cmd := exec.CommandContext(ctx, bin, "circuits")
		cmd.Env = append(append([]string{}, base...), tc.env...)
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitError {
			t.Errorf("%s: %v, want exit %d; stderr %q", tc.name, err, exitError, errOut.String())
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut.String(), w) {
				t.Errorf("%s: stderr %q does not say %q", tc.name, errOut.String(), w)
			}
		}
		for _, noise := range []string{"checksum", "IMDSv1", "check the table name"} {
			if strings.Contains(errOut.String(), noise) {
				t.Errorf("%s: stderr has %q: %q", tc.name, noise, errOut.String())
			}
		}
	}
}

// TestBinaryNoCredentialsWithoutSDKNoise: with no credentials and an instance metadata service
// that refuses tokens (a laptop's network, a container's), the SDK logs "falling back to IMDSv1"
// from the credential chain LoadDefaultConfig builds; breakerctl's own error says what to set, and
// the SDK's notice is not printed raw before it.
func TestBinaryNoCredentialsWithoutSDKNoise(t *testing.T) {
	srv := mototest.Shared(t)
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer imds.Close()
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "circuits")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "none"),
		"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" + srv.URL, "BREAKERBOX_TABLE=ctl-nocreds"}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitError || !strings.Contains(errOut.String(), "no AWS credentials found") {
		t.Fatalf("%v, stderr %q; want exit %d, no AWS credentials found", err, errOut.String(), exitError)
	}
	if strings.Contains(errOut.String(), "IMDSv1") || strings.Contains(errOut.String(), "SDK ") {
		t.Errorf("stderr has the SDK's own log line: %q", errOut.String())
	}
}
