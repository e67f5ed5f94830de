package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout is the function timeout when Config.Timeout is zero.
const DefaultTimeout = 3 * time.Second

// startPatience bounds how long Start waits for the emulator's invoke port to answer, a bound for
// a loaded machine, not a target.
const startPatience = time.Minute

// Config describes one emulator and the function it runs.
type Config struct {
	// Binary is the aws-lambda-rie executable, from Build. Required.
	Binary string
	// Bootstrap is the function's runtime executable. Required. In the default model the emulator
	// runs it as its command-line argument; on Lambda Managed Instances it is found at
	// /var/runtime/bootstrap, where the emulator looks for it.
	Bootstrap string
	// Extensions are external extension executables, each placed in /opt/extensions under its
	// base name (the extension's name).
	Extensions []string
	// MaxConcurrency, when above 0, runs the Lambda Managed Instances model: the emulator gets
	// AWS_LAMBDA_MAX_CONCURRENCY with this value and serves that many invocations at once.
	MaxConcurrency int
	// Timeout is the function timeout, given to the emulator in whole seconds
	// (AWS_LAMBDA_FUNCTION_TIMEOUT, at least 1); default DefaultTimeout.
	Timeout time.Duration
	// Env is the emulator's environment (KEY=VALUE), which it passes on to the runtime and the
	// extensions; the variables above are added to it. Nothing is inherited from the test process.
	Env []string
	// Output, when set, also receives the emulator's stdout and stderr: its own logs, the START,
	// END and REPORT lines, and the runtime's and extensions' output.
	Output io.Writer
}

// Emulator is a running aws-lambda-rie in its own mount and PID namespaces.
type Emulator struct {
	// URL is the emulator's base URL, e.g. http://127.0.0.1:41234; Invoke posts to
	// URL + InvokePath.
	URL string
	// RuntimeAPI is the host:port of the Runtime and Extensions APIs it serves.
	RuntimeAPI string

	cfg    Config
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
	out    *syncBuffer
	client *http.Client

	stopOnce sync.Once
	stopErr  error
}

// InvokePath is the one function's Invoke API path, as AWS's emulator serves it.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Start prepares the emulator's private /opt/extensions, /var/runtime and /var/task, starts it on
// two free loopback ports (its invoke port and its Runtime API) and waits until its invoke port
// answers. The function's init runs on the first invocation in the default model, at once on Lambda
// Managed Instances. A port taken between choosing and binding it is chosen again.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	if cfg.Binary == "" || cfg.Bootstrap == "" {
		return nil, errors.New("rie: Config.Binary (from rie.Build) and Config.Bootstrap (the runtime) are required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < time.Second || cfg.Timeout%time.Second != 0 {
		return nil, fmt.Errorf("rie: Timeout %v: AWS's emulator takes whole seconds (AWS_LAMBDA_FUNCTION_TIMEOUT), at least 1s", cfg.Timeout)
	}
	if cfg.MaxConcurrency < 0 {
		return nil, fmt.Errorf("rie: MaxConcurrency %d: want 0 (the default model) or more", cfg.MaxConcurrency)
	}
	if cfg.MaxConcurrency > 0 && os.Getuid() != 0 {
		return nil, privilegeHint(fmt.Errorf("rie: Lambda Managed Instances under AWS's emulator need root: it runs the runtime and extensions as uid %d, gid %d, which a user namespace of one user cannot map", sandboxUID, sandboxGID))
	}
	dir, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		e, err := launch(ctx, cfg, dir)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// errPortTaken marks a start that failed because a chosen port was taken meanwhile.
var errPortTaken = errors.New("a chosen port was taken")

// prepare lays out the emulator's private directories: extensions/ (bound at /opt/extensions),
// runtime/ (at /var/runtime), task/ (at /var/task) and ovl/ (the tmpfs of the overlays).
func prepare(cfg Config) (string, error) {
	dir, err := os.MkdirTemp("", "rie-")
	if err != nil {
		return "", fmt.Errorf("rie: %w", err)
	}
	fail := func(err error) (string, error) {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("rie: %w", err)
	}
	for _, d := range []string{"extensions", "runtime", "task", "ovl"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return fail(err)
		}
	}
	// On Lambda Managed Instances the emulator runs the runtime and extensions as another user
	// (sandboxUID), so they are placed here, world-readable, rather than linked to where they
	// were built (go build's directories are private to their owner).
	if err := os.Chmod(dir, 0o755); err != nil {
		return fail(err)
	}
	link := func(src, dst string) error {
		st, err := os.Stat(src)
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", src)
		}
		return placeExecutable(src, dst)
	}
	for _, x := range cfg.Extensions {
		if err := link(x, filepath.Join(dir, "extensions", filepath.Base(x))); err != nil {
			return fail(fmt.Errorf("extension: %w", err))
		}
	}
	if err := link(cfg.Bootstrap, filepath.Join(dir, "runtime", "bootstrap")); err != nil {
		return fail(fmt.Errorf("bootstrap: %w", err))
	}
	return dir, nil
}

// launch starts one emulator process on fresh ports and waits for its invoke port.
func launch(ctx context.Context, cfg Config, dir string) (*Emulator, error) {
	invokePort, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	e := &Emulator{
		URL:        "http://127.0.0.1:" + strconv.Itoa(invokePort),
		RuntimeAPI: "127.0.0.1:" + strconv.Itoa(apiPort),
		cfg:        cfg,
		dir:        dir,
		done:       make(chan struct{}),
		out:        &syncBuffer{},
		// The emulator answers when the invocation ends; its own timeout bounds that, and this
		// bound only catches an emulator that never answers at all.
		client: &http.Client{Timeout: cfg.Timeout + 2*time.Minute},
	}
	args := []string{
		"--runtime-interface-emulator-address", "127.0.0.1:" + strconv.Itoa(invokePort),
		"--runtime-api-address", e.RuntimeAPI,
	}
	if cfg.MaxConcurrency == 0 {
		// The default model runs its argument; Lambda Managed Instances look in the default
		// locations only, where /var/runtime/bootstrap is this same file.
		args = append(args, "/var/runtime/bootstrap")
	}
	env := append([]string(nil), cfg.Env...)
	env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(cfg.Timeout/time.Second)))
	if cfg.MaxConcurrency > 0 {
		env = append(env, "AWS_LAMBDA_MAX_CONCURRENCY="+strconv.Itoa(cfg.MaxConcurrency))
	}
	cmd, err := isolated(dir, cfg.Binary, args, env)
	if err != nil {
		return nil, err
	}
	var w io.Writer = e.out
	if cfg.Output != nil {
		w = io.MultiWriter(e.out, cfg.Output)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, privilegeHint(fmt.Errorf("rie: start %s in a private mount namespace: %w", cfg.Binary, err))
	}
	e.cmd = cmd
	go func() { _ = cmd.Wait(); close(e.done) }()

	wait, cancel := context.WithTimeout(ctx, startPatience)
	defer cancel()
	for {
		// Its own listener, not another process's that took the port meanwhile.
		if ok, err := listensOn(cmd.Process.Pid, invokePort); err == nil && ok {
			return e, nil
		}
		select {
		case <-e.done:
			out := e.out.String()
			err := fmt.Errorf("rie: the emulator exited during start-up (%v); its output:\n%s", cmd.ProcessState, out)
			switch {
			case strings.Contains(out, "address already in use"):
				return nil, fmt.Errorf("%w: %w", errPortTaken, err)
			case strconv.Itoa(cmd.ProcessState.ExitCode()) == isolateFailed:
				return nil, privilegeHint(err)
			}
			return nil, err
		case <-wait.Done():
			e.kill()
			return nil, fmt.Errorf("rie: invoke port %d not answering after %v: %w; its output:\n%s", invokePort, startPatience, wait.Err(), e.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Response is the emulator's answer to an invocation.
type Response struct {
	Status int
	// ErrorType is the Error-Type header (e.g. Runtime.Unavailable on Lambda Managed Instances),
	// empty when there is none.
	ErrorType string
	Body      []byte
}

// Invoke posts payload to the function and returns the emulator's answer.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+InvokePath, bytes.NewReader(payload))
	if err != nil {
		return Response{}, fmt.Errorf("rie: invoke: %w", err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("rie: invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("rie: invoke: read the answer: %w", err)
	}
	return Response{Status: resp.StatusCode, ErrorType: resp.Header.Get("Error-Type"), Body: body}, nil
}

// Output returns everything the emulator and its processes have written so far.
func (e *Emulator) Output() string { return e.out.String() }

// Stop ends the emulator as a container's stop does: SIGTERM, on which it sends SHUTDOWN to the
// extensions and stops the runtime, then waits for it to exit until ctx is done, then kills it.
// Every process it started dies with it (they live in its PID namespace). It returns an error when
// the emulator had to be killed or exited non-zero. Safe to call more than once.
func (e *Emulator) Stop(ctx context.Context) error {
	e.stopOnce.Do(func() {
		defer os.RemoveAll(e.dir)
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
			if st := e.cmd.ProcessState; st != nil && !st.Success() {
				e.stopErr = fmt.Errorf("rie: the emulator exited with %v after SIGTERM", st)
			}
		case <-ctx.Done():
			e.kill()
			e.stopErr = fmt.Errorf("rie: the emulator did not exit after SIGTERM (%w): killed", ctx.Err())
		}
	})
	return e.stopErr
}

// kill ends the emulator and, with it, its PID namespace.
func (e *Emulator) kill() {
	_ = e.cmd.Process.Kill()
	<-e.done
}

// Exited is closed when the emulator process has exited.
func (e *Emulator) Exited() <-chan struct{} { return e.done }

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
