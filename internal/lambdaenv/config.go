package lambdaenv

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// Defaults applied by New and AddFunction to zero fields.
const (
	DefaultRegion          = "us-east-1"
	DefaultAccountID       = "123456789012"
	DefaultTimeout         = 3 * time.Second
	DefaultMemoryMB        = 128
	DefaultShutdownTimeout = 2 * time.Second
	DefaultInitTimeout     = 10 * time.Second
	DefaultMaxConcurrency  = 10
	// ManagedMinMemoryMB is the smallest function Lambda Managed Instances runs, and the default
	// MemoryMB there: "The minimum supported function size is 2GB and 1 vCPU"
	// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-best-practices.html).
	ManagedMinMemoryMB = 2048
)

// Config configures an Env.
type Config struct {
	// Addr is where Start listens for the Invoke API; default "127.0.0.1:0". It must be a loopback
	// address.
	Addr string
	// Upstream, when set, is the base URL (e.g. moto_server's) that every request other than an
	// Invoke of a local function is reverse-proxied to.
	Upstream string
	// Region and AccountID appear in ARNs and the processes' AWS_REGION; defaults us-east-1 and
	// 123456789012 (moto's account).
	Region    string
	AccountID string
	// Logger receives the Env's structured logs; default: discarded.
	Logger *slog.Logger
	// Output receives the processes' stdout and stderr, line by line, each line prefixed with
	// "[function#sandbox process] "; default os.Stderr. Functions may override it.
	Output io.Writer
}

// FunctionConfig describes a function: its runtime command, its extensions and its limits.
type FunctionConfig struct {
	// Name is the function name, 1-64 characters of [A-Za-z0-9_-].
	Name string
	// Command is the runtime's executable and arguments (the bootstrap), required.
	Command []string
	// Extensions are external extension executables. Each one's file name is its extension name.
	Extensions []string
	// ExtensionsDir, when set, adds every executable regular file in that directory (like
	// /opt/extensions), in name order.
	ExtensionsDir string
	// Env is the environment of every process (KEY=VALUE), to which the sandbox's per-index
	// variables and Lambda's reserved variables (AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME,
	// AWS_REGION, ...) are added; the reserved ones win. Pass os.Environ() to inherit.
	Env []string
	// SandboxEnv, when set, returns extra environment for the sandbox with the given index (0, 1,
	// ...), e.g. a distinct BREAKERBOX_PORT per sandbox.
	SandboxEnv func(index int) []string
	// Dir is the processes' working directory; default: the caller's.
	Dir string
	// Handler is reported to extensions at registration and set as _HANDLER; default: the base
	// name of Command[0].
	Handler string
	// Timeout is the function timeout; default 3s.
	Timeout time.Duration
	// MemoryMB is reported as AWS_LAMBDA_FUNCTION_MEMORY_SIZE; default 128, or ManagedMinMemoryMB
	// with ManagedConcurrency, which refuses less.
	MemoryMB int
	// ShutdownTimeout is how long SHUTDOWN may take before what is left is killed; default 2s.
	ShutdownTimeout time.Duration
	// InitTimeout bounds the init phase (extensions registering, runtime and extensions ready);
	// default 10s.
	InitTimeout time.Duration
	// Freeze stops (SIGSTOP) the sandbox's processes between invokes and continues them (SIGCONT)
	// before the next invoke or SHUTDOWN.
	Freeze bool
	// MaxConcurrency is the number of sandboxes the function may have; default 10. An invoke while
	// all are busy fails with ErrTooManyRequests.
	MaxConcurrency int
	// ManagedConcurrency, when above 0, runs the function on the Lambda Managed Instances model
	// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-execution-environment.html):
	// each sandbox serves up to this many invokes at once, the runtime gets
	// AWS_LAMBDA_MAX_CONCURRENCY with this value and may hold as many /runtime/invocation/next calls
	// at once, runtime and extensions see AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances,
	// extensions may register for SHUTDOWN only, and nothing is frozen. 0 is the default model.
	ManagedConcurrency int
	// Output overrides Config.Output for this function's processes.
	Output io.Writer
	// OnReport, when set, receives every invocation's InvokeReport (the figures of its REPORT
	// line, and the extensions' time after the runtime's answer) once the invocation has ended,
	// before Invoke returns. It must not block.
	OnReport func(InvokeReport)
	// TelemetryAcceptOnly serves the Telemetry API as AWS's Runtime Interface Emulator's default
	// model (and so `sam local invoke`) does: a registered extension's subscription is accepted
	// with 200 {} and no event is ever delivered. By default platform.runtimeDone is delivered as Lambda does.
	TelemetryAcceptOnly bool
}

var functionNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// withDefaults validates c and fills its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if err := checkLoopback(c.Addr); err != nil {
		return c, err
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.AccountID == "" {
		c.AccountID = DefaultAccountID
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Output == nil {
		c.Output = os.Stderr
	}
	return c, nil
}

// checkLoopback refuses listen addresses that are not on the loopback interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("lambdaenv: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("lambdaenv: listen address %q is not a loopback address (use 127.0.0.1)", addr)
	}
	return nil
}

// managed reports whether the function runs on the Lambda Managed Instances model.
func (fc FunctionConfig) managed() bool { return fc.ManagedConcurrency > 0 }

// perSandbox is how many invokes one sandbox serves at once: 1 in the default model.
func (fc FunctionConfig) perSandbox() int { return max(1, fc.ManagedConcurrency) }

// resolved is a validated FunctionConfig with its extension list expanded.
type resolved struct {
	FunctionConfig
	extensions []string // absolute paths, unique base names
}

// resolve validates fc, applies defaults and expands its extensions.
func (fc FunctionConfig) resolve() (resolved, error) {
	r := resolved{FunctionConfig: fc}
	if !functionNameRE.MatchString(fc.Name) {
		return r, fmt.Errorf("lambdaenv: function name %q: want 1-64 characters of [A-Za-z0-9_-]", fc.Name)
	}
	if len(fc.Command) == 0 || fc.Command[0] == "" {
		return r, fmt.Errorf("lambdaenv: function %s: Command (the runtime executable) is required", fc.Name)
	}
	if fc.Timeout < 0 || fc.ShutdownTimeout < 0 || fc.InitTimeout < 0 || fc.MemoryMB < 0 || fc.MaxConcurrency < 0 || fc.ManagedConcurrency < 0 {
		return r, fmt.Errorf("lambdaenv: function %s: negative timeout, memory or concurrency", fc.Name)
	}
	if fc.ManagedConcurrency > 0 && fc.Freeze {
		return r, fmt.Errorf("lambdaenv: function %s: Freeze and ManagedConcurrency exclude each other (Lambda Managed Instances never freeze an environment): drop one", fc.Name)
	}
	if r.Timeout == 0 {
		r.Timeout = DefaultTimeout
	}
	switch {
	case r.MemoryMB == 0 && fc.ManagedConcurrency > 0:
		r.MemoryMB = ManagedMinMemoryMB
	case r.MemoryMB == 0:
		r.MemoryMB = DefaultMemoryMB
	case fc.ManagedConcurrency > 0 && r.MemoryMB < ManagedMinMemoryMB:
		return r, fmt.Errorf("lambdaenv: function %s: MemoryMB %d: Lambda Managed Instances runs functions of %d MB or more: raise it", fc.Name, r.MemoryMB, ManagedMinMemoryMB)
	}
	if r.ShutdownTimeout == 0 {
		r.ShutdownTimeout = DefaultShutdownTimeout
	}
	if r.InitTimeout == 0 {
		r.InitTimeout = DefaultInitTimeout
	}
	if r.MaxConcurrency == 0 {
		r.MaxConcurrency = DefaultMaxConcurrency
	}
	if r.Handler == "" {
		r.Handler = filepath.Base(fc.Command[0])
	}
	paths := append([]string(nil), fc.Extensions...)
	if fc.ExtensionsDir != "" {
		found, err := executablesIn(fc.ExtensionsDir)
		if err != nil {
			return r, fmt.Errorf("lambdaenv: function %s: %w", fc.Name, err)
		}
		paths = append(paths, found...)
	}
	seen := map[string]string{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return r, fmt.Errorf("lambdaenv: function %s: extension %s: %w", fc.Name, p, err)
		}
		if err := checkExecutable(abs); err != nil {
			return r, fmt.Errorf("lambdaenv: function %s: extension %w", fc.Name, err)
		}
		name := filepath.Base(abs)
		if other, dup := seen[name]; dup {
			return r, fmt.Errorf("lambdaenv: function %s: extensions %s and %s have the same name %q", fc.Name, other, abs, name)
		}
		seen[name] = abs
		r.extensions = append(r.extensions, abs)
	}
	return r, nil
}

// executablesIn lists the executable regular files of dir (following symbolic links), by name.
func executablesIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("extensions directory: %w", err)
	}
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if checkExecutable(p) == nil {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkExecutable reports whether path is an executable regular file.
func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: %w", path, errors.New("not a regular file"))
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: %w", path, errors.New("not executable"))
	}
	return nil
}
