// Command lambdaenv runs a Lambda function and its external extensions locally, the way the Lambda
// service does, like AWS's runtime interface emulator but with extensions from any folder:
//
//	lambdaenv -extensions DIR -addr 127.0.0.1:9001 [-name function] [-timeout 30s] [-freeze] [-upstream URL] -- ./bootstrap args...
//
// Every executable in DIR is started as an external extension and the command as the function's
// runtime; both find the Runtime and Extensions APIs in AWS_LAMBDA_RUNTIME_API and inherit the rest
// of the environment. The Invoke API is served on -addr:
//
//	curl -d '{"hello":"world"}' http://127.0.0.1:9001/2015-03-31/functions/function/invocations
//
// Other requests go to -upstream (e.g. moto_server) when it is set. On SIGINT or SIGTERM the
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
	"os/signal"
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
	fs.IntVar(&o.memory, "memory", lambdaenv.DefaultMemoryMB, "memory size reported to the function, in MB")
	fs.IntVar(&o.concurrency, "concurrency", lambdaenv.DefaultMaxConcurrency, "maximum number of sandboxes (concurrent invokes)")
	fs.BoolVar(&o.freeze, "freeze", false, "stop (SIGSTOP) the sandbox between invokes, as Lambda freezes it")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.command = fs.Args()
	switch {
	case len(o.command) == 0:
		return o, errors.New("missing the runtime command: lambdaenv [flags] -- ./bootstrap [args...]")
	case o.timeout <= 0:
		return o, fmt.Errorf("-timeout %v: want a positive duration", o.timeout)
	case o.shutdownTimeout <= 0:
		return o, fmt.Errorf("-shutdown-timeout %v: want a positive duration", o.shutdownTimeout)
	case o.memory <= 0:
		return o, fmt.Errorf("-memory %d: want a positive number of MB", o.memory)
	case o.concurrency <= 0:
		return o, fmt.Errorf("-concurrency %d: want at least 1", o.concurrency)
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
		fmt.Fprintln(stderr, "lambdaenv:", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))
	env, err := lambdaenv.New(lambdaenv.Config{Addr: o.addr, Upstream: o.upstream, Logger: logger, Output: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "lambdaenv:", err)
		return 2
	}
	if _, err := env.AddFunction(lambdaenv.FunctionConfig{
		Name:            o.name,
		Command:         o.command,
		ExtensionsDir:   o.extensions,
		Env:             environ,
		Timeout:         o.timeout,
		MemoryMB:        o.memory,
		ShutdownTimeout: o.shutdownTimeout,
		Freeze:          o.freeze,
		MaxConcurrency:  o.concurrency,
	}); err != nil {
		fmt.Fprintln(stderr, "lambdaenv:", err)
		return 2
	}
	if err := env.Start(); err != nil {
		fmt.Fprintln(stderr, "lambdaenv:", err)
		return 1
	}
	fmt.Fprintf(stdout, "lambdaenv: Invoke API on %s/2015-03-31/functions/%s/invocations\n", env.URL(), o.name)

	<-ctx.Done()
	logger.Info("signal received: shutting down")
	closeCtx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout+5*time.Second)
	defer cancel()
	if err := env.Close(closeCtx); err != nil {
		fmt.Fprintln(stderr, "lambdaenv:", err)
		return 1
	}
	return 0
}
