package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// The test binary doubles as the helper processes, picked by the name it is run under: "bootstrap"
// is a runtime (aws-lambda-go) that echoes, "ext-recorder" an extension that records its events.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "bootstrap":
		lambda.Start(func(ctx context.Context, ev json.RawMessage) (map[string]any, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			return map[string]any{"event": ev, "function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "requestId": lc.AwsRequestID,
				"passedThrough": os.Getenv("LAMBDAENV_TEST_VALUE"), "maxConcurrency": os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY"),
				"initType": os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE"), "pid": os.Getpid()}, nil
		})
		os.Exit(0)
	case "ext-recorder":
		os.Exit(recorder())
	}
	os.Exit(m.Run())
}

// recorder is the helper extension: it registers (for SHUTDOWN only on Lambda Managed Instances) and
// appends every event to $HELPER_LOG.
func recorder() int {
	logf := func(format string, args ...any) {
		f, err := os.OpenFile(os.Getenv("HELPER_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, format+"\n", args...)
			f.Close()
		}
	}
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension"
	events := `{"events":["INVOKE","SHUTDOWN"]}`
	if os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances" {
		events = `{"events":["SHUTDOWN"]}`
	}
	req, _ := http.NewRequest(http.MethodPost, api+"/register", strings.NewReader(events))
	req.Header.Set("Lambda-Extension-Name", "ext-recorder")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		logf("register failed: %v", err)
		return 1
	}
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Extension-Identifier")
	logf("registered value=%s", os.Getenv("LAMBDAENV_TEST_VALUE"))
	for {
		req, _ := http.NewRequest(http.MethodGet, api+"/event/next", nil)
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			logf("next failed: %v", err)
			return 1
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		logf("%s", body)
		if bytes.Contains(body, []byte(`"SHUTDOWN"`)) {
			return 0
		}
	}
}

// build compiles the command into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "lambdaenv")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The command as a real process: extensions from a directory, the runtime after --, an invoke over
// HTTP, then SIGTERM delivers SHUTDOWN and the command exits 0.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	extDir := filepath.Join(dir, "extensions")
	fnDir := filepath.Join(dir, "function")
	for _, d := range []string{extDir, fnDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(self, filepath.Join(extDir, "ext-recorder")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extDir, "README"), []byte("not an extension"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(fnDir, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "helper.log")

	cmd := exec.Command(bin, "-extensions", extDir, "-addr", "127.0.0.1:0", "-name", "hello", "-timeout", "10s", "--", filepath.Join(fnDir, "bootstrap"))
	cmd.Env = append(os.Environ(), "HELPER_LOG="+logPath, "LAMBDAENV_TEST_VALUE=passed", "GORACE=atexit_sleep_ms=0")
	proc := start(t, cmd)
	line := proc.first
	const prefix = "lambdaenv: Invoke API on "
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, "/2015-03-31/functions/hello/invocations") {
		t.Fatalf("first line %q", line)
	}
	url := strings.TrimPrefix(line, prefix)

	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(url, "application/json", strings.NewReader(`{"ping":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var reply struct {
		Event         json.RawMessage `json:"event"`
		Function      string          `json:"function"`
		RequestID     string          `json:"requestId"`
		PassedThrough string          `json:"passedThrough"`
	}
	if err := json.Unmarshal(body, &reply); err != nil || resp.StatusCode != 200 || string(reply.Event) != `{"ping":1}` || reply.Function != "hello" ||
		reply.PassedThrough != "passed" || resp.Header.Get("X-Amz-Executed-Version") != "$LATEST" || resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invoke: %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, err = client.Post(strings.Replace(url, "/hello/", "/other/", 1), "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown function: status %d, want 404", resp.StatusCode)
	}

	proc.stop(t)
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(logged)
	if !strings.Contains(log, "registered value=passed") || !strings.Contains(log, `"requestId":"`+reply.RequestID+`"`) ||
		!strings.Contains(log, `"eventType":"SHUTDOWN","shutdownReason":"spindown"`) {
		t.Errorf("extension log lacks the registration, the INVOKE or the SHUTDOWN:\n%s", log)
	}
	if !strings.Contains(proc.stderr.String(), `"msg":"sandbox initialised","function":"hello"`) {
		t.Errorf("stderr lacks the sandbox's logs:\n%s", proc.stderr.String())
	}
}

// Bad command lines are refused with a clear message and status 2, before anything starts.
func TestFlagValidation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args []string
		want string
	}{
		"no command":          {[]string{"-addr", "127.0.0.1:0"}, "missing the runtime command"},
		"missing extensions":  {[]string{"-extensions", filepath.Join(dir, "nope"), "--", "/bin/true"}, "-extensions"},
		"extensions not dir":  {[]string{"-extensions", file, "--", "/bin/true"}, "not a directory"},
		"public address":      {[]string{"-addr", "0.0.0.0:9001", "--", "/bin/true"}, "not a loopback address"},
		"zero timeout":        {[]string{"-timeout", "0s", "--", "/bin/true"}, "-timeout"},
		"bad name":            {[]string{"-name", "no/slashes", "--", "/bin/true"}, "function name"},
		"bad upstream":        {[]string{"-upstream", "::nope", "--", "/bin/true"}, "upstream"},
		"non-http upstream":   {[]string{"-upstream", "ftp://127.0.0.1:5000", "--", "/bin/true"}, `upstream "ftp://127.0.0.1:5000": want an absolute http URL`},
		"missing runtime":     {[]string{"--", filepath.Join(dir, "bootstrap")}, `runtime command "` + filepath.Join(dir, "bootstrap") + `" cannot be run`},
		"runtime not exec.":   {[]string{"--", file}, `runtime command "` + file + `" cannot be run`},
		"runtime not on PATH": {[]string{"--", "no-such-runtime-command"}, `runtime command "no-such-runtime-command" cannot be run`},
		"unknown flag":        {[]string{"-frobnicate", "--", "/bin/true"}, "flag provided but not defined"},
		"zero concurrency":    {[]string{"-concurrency", "0", "--", "/bin/true"}, "-concurrency"},
		"bad log level":       {[]string{"-log-level", "loud", "--", "/bin/true"}, "log-level"},
		"bad shutdown period": {[]string{"-shutdown-timeout", "-1s", "--", "/bin/true"}, "-shutdown-timeout"},
		"zero max conc.":      {[]string{"-max-concurrency", "0", "--", "/bin/true"}, "-max-concurrency 0: want at least 1"},
		"freeze and managed":  {[]string{"-max-concurrency", "8", "-freeze", "--", "/bin/true"}, "never freeze"},
		"both concurrencies":  {[]string{"-max-concurrency", "8", "-concurrency", "2", "--", "/bin/true"}, "exclude each other"},
		"zero memory":         {[]string{"-memory", "0", "--", "/bin/true"}, "-memory 0: want a positive number"},
		"managed under 2 GB":  {[]string{"-max-concurrency", "8", "-memory", "1024", "--", "/bin/true"}, "MemoryMB 1024: Lambda Managed Instances runs functions of 2048 MB or more"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // were it to start, it would stop at once
			if code := run(ctx, tc.args, nil, &out, &errOut); code != 2 {
				t.Errorf("exit status %d, want 2 (stderr %q)", code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
			if strings.Contains(errOut.String(), "lambdaenv: lambdaenv:") {
				t.Errorf("stderr %q names the command twice", errOut.String())
			}
		})
	}
	if code := run(context.Background(), []string{"-h"}, nil, io.Discard, io.Discard); code != 0 {
		t.Errorf("-h: status %d, want 0", code)
	}
}

// An -addr that another process holds is refused once, saying what failed and what to do.
func TestAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-addr", ln.Addr().String(), "--", "/bin/true"}, nil, &out, &errOut); code != 1 {
		t.Fatalf("exit status %d, want 1 (stderr %q)", code, errOut.String())
	}
	msg := errOut.String()
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		if strings.HasPrefix(l, "lambdaenv:") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || strings.Count(lines[0], "lambdaenv:") != 1 {
		t.Fatalf("stderr %q: want one error line naming the command once", msg)
	}
	for _, want := range []string{"Invoke API on " + ln.Addr().String(), "address already in use", "pick another -addr", "127.0.0.1:0"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("error %q lacks %q", lines[0], want)
		}
	}
}

// -max-concurrency runs the Lambda Managed Instances model: one environment (one runtime process)
// serves concurrent invokes, the runtime sees AWS_LAMBDA_MAX_CONCURRENCY, runtime and extension see
// the initialization type, the extension (registered for SHUTDOWN only) gets no INVOKE, and SIGTERM
// still delivers SHUTDOWN.
func TestCommandManagedInstances(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	extDir := filepath.Join(dir, "extensions")
	if err := os.Mkdir(extDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(extDir, "ext-recorder")); err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(dir, "bootstrap")
	if err := os.Symlink(self, bootstrap); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "helper.log")
	cmd := exec.Command(bin, "-extensions", extDir, "-addr", "127.0.0.1:0", "-max-concurrency", "8", "--", bootstrap)
	cmd.Env = append(os.Environ(), "HELPER_LOG="+logPath, "GORACE=atexit_sleep_ms=0")
	proc := start(t, cmd)
	url := strings.TrimPrefix(proc.first, "lambdaenv: Invoke API on ")

	type reply struct {
		MaxConcurrency string `json:"maxConcurrency"`
		InitType       string `json:"initType"`
		PID            int    `json:"pid"`
	}
	client := &http.Client{Timeout: 30 * time.Second}
	replies := make([]reply, 8)
	errs := make(chan error, len(replies))
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() {
			resp, err := client.Post(url, "application/json", strings.NewReader(`{}`))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" || json.Unmarshal(body, &replies[i]) != nil {
				errs <- fmt.Errorf("invoke: %d %s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, r := range replies {
		if r.MaxConcurrency != "8" || r.InitType != "lambda-managed-instances" || r.PID != replies[0].PID {
			t.Fatalf("replies %+v: want AWS_LAMBDA_MAX_CONCURRENCY=8, lambda-managed-instances, one runtime process", replies)
		}
	}

	proc.stop(t)
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if log := string(logged); strings.Contains(log, `"INVOKE"`) || !strings.Contains(log, `"eventType":"SHUTDOWN","shutdownReason":"spindown"`) {
		t.Errorf("extension log: want SHUTDOWN and no INVOKE:\n%s", log)
	}
}
