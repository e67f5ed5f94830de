// Command lambdaenv runs a Lambda function and its external extensions locally, the way the Lambda
// service does, like AWS's runtime interface emulator but with extensions from any folder:
//
//	lambdaenv -extensions DIR -addr 127.0.0.1:9001 [-name function] [-timeout 30s] [-freeze | -max-concurrency N] [-upstream URL] -- ./bootstrap args...
//
// Every executable in DIR is started as an external extension and the command as the function's
// runtime; both find the Runtime and Extensions APIs in AWS_LAMBDA_RUNTIME_API and inherit the rest
// of the environment. The Invoke API is served on -addr:
//
//	curl -d '{"hello":"world"}' http://127.0.0.1:9001/2015-03-31/functions/function/invocations
//
// -max-concurrency N runs the Lambda Managed Instances model instead of the default one: one
// environment serves up to N invocations at once, as AWS's emulator does when
// AWS_LAMBDA_MAX_CONCURRENCY is set. Other requests go to -upstream (e.g. moto_server) when it is
// set. On SIGINT or SIGTERM the
// extensions get SHUTDOWN with a 2 s deadline (-shutdown-timeout), what is left is killed, and
// lambdaenv exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// options are the command line's settings.
type options struct {
	extensions      string
	addr            string
	name            string
	upstream        string
	timeout         time.Duration
	shutdownTimeout time.Duration
	memory          int
	concurrency     int
	maxConcurrency  int // per environment: the Lambda Managed Instances model; 0 = the default model
	freeze          bool
	logLevel        slog.Level
	command         []string
}

// parseFlags reads and validates the command line.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("lambdaenv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lambdaenv [flags] -- RUNTIME-COMMAND [ARGS...]")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.extensions, "extensions", "", "directory whose executables run as external extensions (like /opt/extensions)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9001", "loopback address of the Invoke API")
	fs.StringVar(&o.name, "name", "function", "function name in the Invoke API path")
	fs.StringVar(&o.upstream, "upstream", "", "URL that every other request is proxied to (e.g. moto_server)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "function timeout")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", lambdaenv.DefaultShutdownTimeout, "SHUTDOWN deadline before what is left is killed")
	fs.IntVar(&o.memory, "memory", 0, fmt.Sprintf("memory size reported to the function, in MB (default %d, or %d with -max-concurrency, which refuses less)", lambdaenv.DefaultMemoryMB, lambdaenv.ManagedMinMemoryMB))
	fs.IntVar(&o.concurrency, "concurrency", lambdaenv.DefaultMaxConcurrency, "maximum number of sandboxes (concurrent invokes)")
	fs.BoolVar(&o.freeze, "freeze", false, "stop (SIGSTOP) the sandbox between invokes, as Lambda freezes it")
	fs.IntVar(&o.maxConcurrency, "max-concurrency", 0, "run the Lambda Managed Instances model: one environment serving up to N invocations at once (absent: the default model)")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.command = fs.Args()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["max-concurrency"] && o.maxConcurrency < 1:
		return o, fmt.Errorf("-max-concurrency %d: want at least 1 (leave it out for the default model)", o.maxConcurrency)
	case set["max-concurrency"] && o.freeze:
		return o, errors.New("-freeze and -max-concurrency exclude each other: Lambda Managed Instances never freeze an environment")
	case set["max-concurrency"] && set["concurrency"]:
		return o, errors.New("-concurrency and -max-concurrency exclude each other: -concurrency counts environments of the default model, and -max-concurrency runs one environment serving N invocations at once")
	}
	if o.maxConcurrency > 0 {
		o.concurrency = 1
	}
	switch {
	case len(o.command) == 0:
		return o, errors.New("missing the runtime command: lambdaenv [flags] -- ./bootstrap [args...]")
	case o.timeout <= 0:
		return o, fmt.Errorf("-timeout %v: want a positive duration", o.timeout)
	case o.shutdownTimeout <= 0:
		return o, fmt.Errorf("-shutdown-timeout %v: want a positive duration", o.shutdownTimeout)
	case set["memory"] && o.memory <= 0:
		return o, fmt.Errorf("-memory %d: want a positive number of MB", o.memory)
	case o.concurrency <= 0:
		return o, fmt.Errorf("-concurrency %d: want at least 1", o.concurrency)
	}
	// The runtime starts at the first invoke: a command that cannot run is said now, not then.
	// (It is looked up on PATH when it has no slash, as its start does.)
	if _, err := exec.LookPath(o.command[0]); err != nil {
		return o, fmt.Errorf("runtime command %q cannot be run: %w (give an executable's path, e.g. -- ./bootstrap)", o.command[0], err)
	}
	if o.extensions != "" {
		st, err := os.Stat(o.extensions)
		if err != nil {
			return o, fmt.Errorf("-extensions: %w", err)
		}
		if !st.IsDir() {
			return o, fmt.Errorf("-extensions %s: not a directory", o.extensions)
		}
	}
	return o, nil
}

// run is the command: it returns the exit status.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		report(stderr, err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	env, err := lambdaenv.New(lambdaenv.Config{Addr: o.addr, Upstream: o.upstream, Logger: logger, Output: stderr})
	if err != nil {
		report(stderr, err)
		return 2
	}
	if _, err := env.AddFunction(lambdaenv.FunctionConfig{
		Name:               o.name,
		Command:            o.command,
		ExtensionsDir:      o.extensions,
		Env:                environ,
		Timeout:            o.timeout,
		MemoryMB:           o.memory,
		ShutdownTimeout:    o.shutdownTimeout,
		Freeze:             o.freeze,
		MaxConcurrency:     o.concurrency,
		ManagedConcurrency: o.maxConcurrency,
	}); err != nil {
		report(stderr, err)
		return 2
	}
	if err := env.Start(); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			err = fmt.Errorf("cannot serve the Invoke API on %s: address already in use by another process; pick another -addr (e.g. -addr 127.0.0.1:0 for any free port) or stop that process", o.addr)
		}
		report(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "lambdaenv: Invoke API on %s/2015-03-31/functions/%s/invocations\n", env.URL(), o.name)

	<-ctx.Done()
	logger.Info("signal received: shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout+5*time.Second)
	defer cancel()
	if err := env.Close(closeCtx); err != nil {
		report(stderr, err)
		return 1
	}
	return 0
}

// report prints err on one line, prefixed once with the command's name (the library's errors
// already start with it).
func report(stderr io.Writer, err error) {
	fmt.Fprintln(stderr, "lambdaenv: "+strings.TrimPrefix(err.Error(), "lambdaenv: "))
}
