package lambdaenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// The test binary doubles as the helper processes: a symbolic link to it named "runtime" is a test
// runtime (built on aws-lambda-go), one named "ext-<mode>[-suffix]" is a test extension speaking the
// Extensions API over plain HTTP. They append what they see to the JSON-lines file $HELPER_LOG.
func TestMain(m *testing.M) {
	if os.Getenv("LAMBDAENV_HELPER_ROLE") == "grandchild" {
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	switch name := filepath.Base(os.Args[0]); {
	case name == "runtime":
		os.Exit(helperRuntime())
	case strings.HasPrefix(name, "ext-"):
		os.Exit(helperExtension(name))
	}
	mototest.Main(m)
}

// logEntry is one line of $HELPER_LOG.
type logEntry struct {
	Who  string          `json:"who"`
	What string          `json:"what"`
	PID  int             `json:"pid"`
	Data json.RawMessage `json:"data,omitempty"`
}

// hlog appends one entry to $HELPER_LOG with a single write (O_APPEND keeps lines whole).
func hlog(who, what string, data any) {
	path := os.Getenv("HELPER_LOG")
	if path == "" {
		return
	}
	raw, _ := json.Marshal(data)
	line, _ := json.Marshal(logEntry{Who: who, What: what, PID: os.Getpid(), Data: raw})
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper log:", err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

// helperRequest is the payload the test runtime understands.
type helperRequest struct {
	Action  string `json:"action"`
	Sleep   string `json:"sleep"`
	Message string `json:"message"`
	Key     string `json:"key"`
	Marker  string `json:"marker"`
}

// helperReply is what the test runtime answers to an "echo".
type helperReply struct {
	RequestID  string          `json:"requestId"`
	ARN        string          `json:"arn"`
	Trace      string          `json:"trace"`
	DeadlineMs int64           `json:"deadlineMs"`
	PID        int             `json:"pid"`
	Event      json.RawMessage `json:"event"`
	Value      string          `json:"value,omitempty"`
}

func helperRuntime() int {
	fmt.Fprintln(os.Stderr, "helper runtime starting")
	hlog("runtime", "start", nil)
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if os.Getenv("HELPER_RUNTIME_SIGTERM") == "ignore" {
		signal.Ignore(syscall.SIGTERM)
	}
	switch os.Getenv("HELPER_RUNTIME_INIT") {
	case "error":
		req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error",
			strings.NewReader(`{"errorMessage":"helper runtime cannot start","errorType":"Runtime.HelperInit"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.HelperInit")
		status, body := do(req)
		hlog("runtime", "init-error-sent", map[string]any{"status": status, "body": body})
		return 1
	case "exit":
		return 2
	case "internal":
		internalExtension(api)
	}
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		var req helperRequest
		_ = json.Unmarshal(raw, &req)
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		trace, _ := ctx.Value("x-amzn-trace-id").(string)
		hlog("runtime", "invoke", map[string]any{"requestId": lc.AwsRequestID, "deadlineMs": deadline.UnixMilli(), "marker": req.Marker})
		reply := helperReply{RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn, Trace: trace, DeadlineMs: deadline.UnixMilli(), PID: os.Getpid(), Event: raw}
		switch req.Action {
		case "error":
			return nil, errors.New(req.Message)
		case "sleep":
			d, _ := time.ParseDuration(req.Sleep)
			time.Sleep(d)
		case "exit":
			os.Exit(4)
		case "env":
			reply.Value = os.Getenv(req.Key)
		case "call":
			// Once the file Key exists, invoke the function whose Invoke API URL is Message, as
			// the ventilator invokes its workers, and answer its HTTP status.
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
				if _, err := os.Stat(req.Key); err == nil {
					break
				}
				if time.Now().After(deadline) {
					return nil, fmt.Errorf("call: %s never appeared", req.Key)
				}
			}
			client := &http.Client{Timeout: time.Minute}
			resp, err := client.Post(req.Message, "application/json", strings.NewReader(`{"action":"echo"}`))
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			reply.Value = strconv.Itoa(resp.StatusCode)
		case "barrier":
			// Wait until Key invocations have reached the barrier: only a runtime serving that
			// many at once gets through.
			dir := os.Getenv("HELPER_BARRIER_DIR")
			want, _ := strconv.Atoi(req.Key)
			_ = os.WriteFile(filepath.Join(dir, lc.AwsRequestID), nil, 0o644)
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
				if es, _ := os.ReadDir(dir); len(es) >= want {
					break
				}
				if time.Now().After(deadline) {
					return nil, fmt.Errorf("barrier: fewer than %s invocations at once", req.Key)
				}
			}
		}
		return reply, nil
	})
	return 0
}

// internalExtension registers an extension from inside the runtime process, as a runtime's own
// agent would: first (wrongly) for SHUTDOWN, then for INVOKE only, and serves its events.
func internalExtension(api string) {
	register := func(events string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/2020-01-01/extension/register", strings.NewReader(events))
		req.Header.Set("Lambda-Extension-Name", "internal-agent")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := register(`{"events":["INVOKE","SHUTDOWN"]}`)
	hlog("internal-agent", "register-shutdown", map[string]any{"status": resp.StatusCode, "body": body})
	resp, body = register(`{"events":["INVOKE"]}`)
	if resp == nil || resp.StatusCode != http.StatusOK {
		hlog("internal-agent", "register-failed", body)
		return
	}
	id := resp.Header.Get("Lambda-Extension-Identifier")
	hlog("internal-agent", "registered", nil)
	go func() {
		for {
			req, _ := http.NewRequest(http.MethodGet, "http://"+api+"/2020-01-01/extension/event/next", nil)
			req.Header.Set("Lambda-Extension-Identifier", id)
			status, body := do(req)
			if status != http.StatusOK {
				return
			}
			hlog("internal-agent", "event", json.RawMessage(body))
		}
	}()
}

// do runs a request and returns its status and body ("" on a transport error).
func do(req *http.Request) (int, string) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func helperExtension(name string) int {
	mode := strings.Split(name, "-")[1]
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension"
	hlog(name, "start", map[string]string{"initType": os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE"), "maxConcurrency": os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY")})
	if mode == "early" {
		fmt.Fprintln(os.Stderr, "giving up before registering")
		return 3
	}
	events := `{"events":["INVOKE","SHUTDOWN"]}`
	switch mode {
	case "noshutdown":
		events = `{"events":["INVOKE"]}`
	case "shutdownonly":
		events = `{"events":["SHUTDOWN"]}`
	}
	register := func() (*http.Response, string, error) {
		req, _ := http.NewRequest(http.MethodPost, api+"/register", strings.NewReader(events))
		req.Header.Set("Lambda-Extension-Name", name)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	resp, body, err := register()
	if err != nil || resp.StatusCode != http.StatusOK {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		hlog(name, "register-failed", map[string]any{"error": fmt.Sprint(err), "status": status, "body": body})
		return 1
	}
	id := resp.Header.Get("Lambda-Extension-Identifier")
	hlog(name, "registered", map[string]any{"id": id, "body": json.RawMessage(body)})
	var done chan RuntimeDoneRecord

	switch mode {
	case "double":
		resp, body, err := register()
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		hlog(name, "second-register", map[string]any{"status": status, "body": body})
	case "initerror":
		req, _ := http.NewRequest(http.MethodPost, api+"/init/error", strings.NewReader(`{"errorMessage":"helper refused to start","errorType":"Extension.HelperFailure"}`))
		req.Header.Set("Lambda-Extension-Identifier", id)
		req.Header.Set("Lambda-Extension-Function-Error-Type", "Extension.HelperFailure")
		status, body := do(req)
		hlog(name, "init-error-sent", map[string]any{"status": status, "body": body})
		return 1
	case "heartbeat":
		go heartbeat(os.Getenv("HELPER_HEARTBEAT"))
	case "telemetry":
		done = telemetryListener(name, id)
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		self, _ := os.Executable()
		child := exec.Command(self)
		child.Env = append(os.Environ(), "LAMBDAENV_HELPER_ROLE=grandchild")
		if err := child.Start(); err != nil {
			hlog(name, "grandchild-failed", err.Error())
			return 1
		}
		hlog(name, "grandchild", map[string]any{"pid": child.Process.Pid})
	}

	for {
		req, _ := http.NewRequest(http.MethodGet, api+"/event/next", nil)
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			hlog(name, "next-failed", err.Error())
			return 1
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			hlog(name, "next-failed", map[string]any{"status": resp.StatusCode, "body": string(raw)})
			return 1
		}
		var ev struct {
			EventType string `json:"eventType"`
			RequestID string `json:"requestId"`
		}
		_ = json.Unmarshal(raw, &ev)
		hlog(name, "event", json.RawMessage(raw))
		switch ev.EventType {
		case "INVOKE":
			if mode == "exiterror" {
				req, _ := http.NewRequest(http.MethodPost, api+"/exit/error", strings.NewReader(`{"errorMessage":"lost my config","errorType":"Extension.Broken"}`))
				req.Header.Set("Lambda-Extension-Identifier", id)
				req.Header.Set("Lambda-Extension-Function-Error-Type", "Extension.Broken")
				status, body := do(req)
				hlog(name, "exit-error-sent", map[string]any{"status": status, "body": body})
				return 1
			}
			if mode == "slow" {
				d, _ := time.ParseDuration(os.Getenv("HELPER_EXT_DELAY"))
				time.Sleep(d)
			}
			if done != nil {
				waitRuntimeDone(name, done, ev.RequestID)
			}
			hlog(name, "invoke-done", map[string]any{"requestId": ev.RequestID})
		case "SHUTDOWN":
			if mode == "stubborn" {
				select {}
			}
			hlog(name, "exiting", nil)
			return 0
		}
	}
}

// heartbeat writes an ever-increasing counter to path every 2 ms (atomically, by rename).
func heartbeat(path string) {
	for n := 1; ; n++ {
		tmp := path + ".tmp"
		_ = os.WriteFile(tmp, []byte(strconv.Itoa(n)), 0o644)
		_ = os.Rename(tmp, path)
		time.Sleep(2 * time.Millisecond)
	}
}

// testWriter sends output to the test log and drops it once the test is over.
type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	}
	return len(p), nil
}

// rig is a test's environment: an Env serving on loopback, a bin directory of helper links and the
// helper log.
type rig struct {
	t       *testing.T
	dir     string
	bin     string
	logPath string
	env     *Env
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	tw := &testWriter{t: t}
	t.Cleanup(func() { tw.mu.Lock(); tw.done = true; tw.mu.Unlock() })
	dir := t.TempDir()
	r := &rig{t: t, dir: dir, bin: filepath.Join(dir, "bin"), logPath: filepath.Join(dir, "helper.log")}
	if err := os.Mkdir(r.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(tw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Output == nil {
		cfg.Output = tw
	}
	env, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Start(); err != nil {
		t.Fatal(err)
	}
	r.env = env
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := env.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// exe returns the path of a helper link with the given name.
func (r *rig) exe(name string) string {
	r.t.Helper()
	self, err := os.Executable()
	if err != nil {
		r.t.Fatal(err)
	}
	p := filepath.Join(r.bin, name)
	if _, err := os.Lstat(p); err == nil {
		return p
	}
	if err := os.Symlink(self, p); err != nil {
		r.t.Fatal(err)
	}
	return p
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// function adds a function running the helper runtime, with the helper log in its environment.
func (r *rig) function(fc FunctionConfig) *Function {
	r.t.Helper()
	if fc.Name == "" {
		name := nonName.ReplaceAllString(r.t.Name(), "-")
		fc.Name = name[max(0, len(name)-64):]
	}
	if fc.Command == nil {
		fc.Command = []string{r.exe("runtime")}
	}
	// Init is bounded by what a loaded machine needs to start race-enabled helpers (it took more
	// than Lambda's 10 s with a dozen test binaries at once), not by Lambda's limit.
	if fc.InitTimeout == 0 {
		fc.InitTimeout = time.Minute
	}
	// GORACE: a race-enabled helper otherwise sleeps 1 s at exit.
	fc.Env = append([]string{"HELPER_LOG=" + r.logPath, "PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0"}, fc.Env...)
	f, err := r.env.AddFunction(fc)
	if err != nil {
		r.t.Fatal(err)
	}
	return f
}

// entries reads the helper log.
func (r *rig) entries() []logEntry {
	r.t.Helper()
	f, err := os.Open(r.logPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	var out []logEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e logEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			r.t.Fatalf("helper log line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// find returns the entries of who (a prefix) with the given what.
func find(es []logEntry, who, what string) []logEntry {
	var out []logEntry
	for _, e := range es {
		if strings.HasPrefix(e.Who, who) && e.What == what {
			out = append(out, e)
		}
	}
	return out
}

// index returns the position of the first entry of who with what, or -1.
func index(es []logEntry, who, what string) int {
	for i, e := range es {
		if e.Who == who && e.What == what {
			return i
		}
	}
	return -1
}

// eventsOf decodes the events an extension logged.
func eventsOf[T any](t *testing.T, es []logEntry, who, eventType string) []T {
	t.Helper()
	var out []T
	for _, e := range find(es, who, "event") {
		var head struct {
			EventType string `json:"eventType"`
		}
		if err := json.Unmarshal(e.Data, &head); err != nil {
			t.Fatal(err)
		}
		if head.EventType != eventType {
			continue
		}
		var v T
		if err := json.Unmarshal(e.Data, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// invoke invokes and fails the test on a platform error.
func (r *rig) invoke(name string, payload string) Result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := r.env.Invoke(ctx, name, []byte(payload))
	if err != nil {
		r.t.Fatalf("Invoke(%s, %s): %v", name, payload, err)
	}
	return res
}

// mustSucceed checks a Result is a success and decodes the helper's echo reply.
func mustSucceed(t *testing.T, res Result) helperReply {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("invoke failed: %s %s", res.FunctionError, res.Payload)
	}
	var reply helperReply
	if err := json.Unmarshal(res.Payload, &reply); err != nil {
		t.Fatalf("reply %s: %v", res.Payload, err)
	}
	return reply
}

// mustFail checks a Result is a function error of the given type and returns it.
func mustFail(t *testing.T, res Result, errorType string) *InvokeError {
	t.Helper()
	var ie *InvokeError
	if !errors.As(res.Err(), &ie) {
		t.Fatalf("want a %s function error, got success: %s", errorType, res.Payload)
	}
	if res.FunctionError != FunctionErrorUnhandled {
		t.Errorf("FunctionError = %q, want Unhandled", res.FunctionError)
	}
	if ie.Type != errorType {
		t.Fatalf("error type %q (%s), want %q", ie.Type, ie.Message, errorType)
	}
	return ie
}

// processGone reports whether pid no longer runs (no /proc entry, or a zombie).
func processGone(pid int) bool {
	st := processState(pid)
	return st == 0 || st == 'Z' || st == 'X'
}

// processState is the state letter of /proc/PID/stat (R, S, T, Z, ...), 0 if there is none.
func processState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// eventually polls cond every 10 ms until it holds or a generous timeout passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sameShape checks that got has exactly the keys of want, recursively, with values of the same JSON
// kinds: the captured examples in testdata fix the payloads' shape, the live values vary.
func sameShape(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: live payload %s: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: example payload %s: %v", what, want, err)
	}
	if d := shapeDiff("", g, w); d != "" {
		t.Errorf("%s: payload shape differs from the example at %s\n got: %s\nwant: %s", what, d, got, want)
	}
}

func shapeDiff(path string, g, w any) string {
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok || len(gv) != len(wv) {
			return path + " (object keys)"
		}
		for k, wx := range wv {
			gx, ok := gv[k]
			if !ok {
				return path + "." + k + " (missing)"
			}
			if d := shapeDiff(path+"."+k, gx, wx); d != "" {
				return d
			}
		}
	case []any:
		gv, ok := g.([]any)
		if !ok {
			return path + " (array)"
		}
		for i := range gv {
			if len(wv) > 0 {
				if d := shapeDiff(fmt.Sprintf("%s[%d]", path, i), gv[i], wv[0]); d != "" {
					return d
				}
			}
		}
	default:
		if fmt.Sprintf("%T", g) != fmt.Sprintf("%T", w) {
			return path + fmt.Sprintf(" (%T, want %T)", g, w)
		}
	}
	return ""
}

// golden reads a testdata file.
func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameJSON checks got and the testdata example are the same JSON document.
func sameJSON(t *testing.T, what string, got []byte, goldenName string) {
	t.Helper()
	want := golden(t, goldenName)
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: testdata/%s: %v", what, goldenName, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s:\n got: %s\nwant: %s (testdata/%s)", what, gb, wb, goldenName)
	}
}

// readFileRetry reads an integer file written by rename (retrying the rare empty read).
func readFileRetry(path string) (int, error) {
	var lastErr error
	for range 50 {
		b, err := os.ReadFile(path)
		if err == nil {
			n, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err == nil {
				return n, nil
			}
			lastErr = err
		} else {
			lastErr = err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, lastErr
}
