// Command demo runs breakerbox on one machine, without an AWS account: moto_server serves the AWS
// APIs, the local Lambda environment runs the extension, the ventilator, the worker and the checker
// built from this repository, and a provider goes healthy → degraded → down → recovered on a
// compressed clock while records are fed to a Kinesis stream. It prints a live timeline and a
// summary measured from the provider's own ledger, and writes a chart, the transitions and the
// metric lines to out/demo. `make demo` runs it; -h lists the flags.
//
// Exit status: 0 when the demo ran to its end with no record lost or processed twice, 2 when some
// were, 130 when interrupted (after printing the summary so far), 1 on any other error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/demo"
)

func main() {
	cfg := demo.DefaultConfig()
	cfg.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
	fs := flag.NewFlagSet("demo", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: demo [flags]\n\nRuns breakerbox on this machine against a provider that degrades, goes down and recovers.\nAWS_ENDPOINT_URL, when set, is used instead of starting moto_server.\n\n")
		fs.PrintDefaults()
	}
	cfg.RegisterFlags(fs)
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demo: unexpected arguments %q (flags only; -h lists them)\n", fs.Args())
		os.Exit(1)
	}
	os.Exit(run(cfg))
}

// run runs the demo until it ends or SIGINT/SIGTERM, and returns the exit status.
func run(cfg demo.Config) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once; its children die with it (Pdeathsig)
	}()
	_, err := demo.Run(ctx, cfg, os.Stdout, isTerminal(os.Stdout))
	switch {
	case err == nil:
		return 0
	case errors.Is(err, demo.ErrInterrupted):
		return 130
	case errors.Is(err, demo.ErrVerdict):
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 2
	default:
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
