package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/internal/extensionsapi"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// Names the bench binary answers to when it is started as a Lambda process.
const (
	runtimeName = "bench-runtime" // the function: reports one outcome per invocation
	noopName    = "noop"          // an extension that does nothing after the runtime's answer
)

// runBenchRuntime is the function of the after-the-answer run: each invocation reports one call
// outcome to the extension (BENCH_OUTCOME ok or fail, for circuit BENCH_CIRCUIT; none reports
// nothing) and answers.
func runBenchRuntime() int {
	outcome, id := os.Getenv("BENCH_OUTCOME"), os.Getenv("BENCH_CIRCUIT")
	c, err := client.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench runtime:", err)
		return 1
	}
	lambda.Start(func(ctx context.Context) (string, error) {
		if outcome != "none" {
			if err := c.Report(ctx, id, client.Outcome{OK: outcome == "ok", Latency: 5 * time.Millisecond}); err != nil {
				return "", err
			}
		}
		return "done", nil
	})
	return 0
}

// runNoopExtension registers for INVOKE and SHUTDOWN and asks for the next event as soon as it has
// one: the reference of what an extension costs when it does nothing after the runtime's answer.
func runNoopExtension() int {
	api, err := extensionsapi.New(os.Getenv("AWS_LAMBDA_RUNTIME_API"), extensionsapi.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "noop extension:", err)
		return 1
	}
	ctx := context.Background()
	if _, err := api.Register(ctx, noopName, extensionsapi.Invoke, extensionsapi.Shutdown); err != nil {
		fmt.Fprintln(os.Stderr, "noop extension:", err)
		return 1
	}
	for {
		ev, err := api.Next(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "noop extension:", err)
			return 1
		}
		if ev.EventType == extensionsapi.Shutdown {
			return 0
		}
	}
}

// afterCase is one configuration of the after-the-answer run.
type afterCase struct {
	name      string
	extension string // path of the extension executable
	outcome   string // BENCH_OUTCOME
	fn        *lambdaenv.Function
	// after is each warm invocation's time after the runtime's answer; whole its whole duration.
	after, whole []time.Duration
}

// Settings of the after-the-answer run. The flush interval is short and the invocations are spaced
// by more than it, so every failing invocation's report is due for a write (at most one per circuit
// per interval): the failing case measures the write each failure costs, not one in many.
const (
	afterFlushInterval = 20 * time.Millisecond
	afterGap           = 25 * time.Millisecond
)

// afterFigures are the after-the-answer run's results.
type afterFigures struct {
	noop, healthy, failing *afterCase
	storeWrite             []time.Duration // sorted
}

// afterRuntime measures, per invocation of a function frozen between invocations (the default
// model, in lambdaenv), the time from the runtime's answer to the end of the invocation (what the
// extension adds before the environment can freeze), and each invocation's whole duration. The
// three cases run side by side, one invocation of each per round, with one counter write made by
// this process to the same moto per round: all see the same machine load.
func afterRuntime(ctx context.Context, dir, extBin string, env []string, store *storeWriter, n int) (afterFigures, error) {
	self, err := os.Executable()
	if err != nil {
		return afterFigures{}, err
	}
	bin := filepath.Join(dir, "procs")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return afterFigures{}, err
	}
	runtime, noop := filepath.Join(bin, runtimeName), filepath.Join(bin, noopName)
	for _, link := range []string{runtime, noop} {
		if err := os.Symlink(self, link); err != nil {
			return afterFigures{}, err
		}
	}
	le, err := lambdaenv.New(lambdaenv.Config{Output: io.Discard})
	if err != nil {
		return afterFigures{}, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = le.Close(cctx)
	}()
	f := afterFigures{
		noop:    &afterCase{name: "no-op extension (reference), nothing reported", extension: noop, outcome: "none"},
		healthy: &afterCase{name: "breakerbox, healthy call reported", extension: extBin, outcome: "ok"},
		failing: &afterCase{name: "breakerbox, failing call reported", extension: extBin, outcome: "fail"},
	}
	cases := []*afterCase{f.noop, f.healthy, f.failing}
	for i, c := range cases {
		port, err := freePort()
		if err != nil {
			return f, err
		}
		c.fn, err = le.AddFunction(lambdaenv.FunctionConfig{
			Name:       "bench" + strconv.Itoa(i),
			Command:    []string{runtime},
			Extensions: []string{c.extension},
			Env: append([]string{"PATH=" + os.Getenv("PATH"), "BREAKERBOX_PORT=" + strconv.Itoa(port), "BREAKERBOX_AUTH=none",
				"BREAKERBOX_LOG_LEVEL=warn", "BENCH_OUTCOME=" + c.outcome, "BENCH_CIRCUIT=bench-after-" + c.outcome,
				"BREAKERBOX_FLUSH_INTERVAL=" + afterFlushInterval.String(),
				// Never trip: every failing invocation writes its counts and decides, as before a trip.
				"BREAKERBOX_CONSECUTIVE_FAILURES=0", "BREAKERBOX_MIN_CALLS=1000000000"}, env...),
			Timeout:        30 * time.Second,
			Freeze:         true,
			MaxConcurrency: 1,
		})
		if err != nil {
			return f, err
		}
	}
	for round := range n + 1 {
		for _, c := range cases {
			res, err := c.fn.Invoke(ctx, nil)
			if err == nil {
				err = res.Err()
			}
			if err != nil {
				return f, fmt.Errorf("%s: %w", c.name, err)
			}
			if round > 0 { // round 0 is the cold start
				c.after = append(c.after, res.Duration-res.RuntimeDuration)
				c.whole = append(c.whole, res.Duration)
			}
		}
		d, err := store.write(ctx)
		if err != nil {
			return f, fmt.Errorf("store write: %w", err)
		}
		if round > 0 {
			f.storeWrite = append(f.storeWrite, d)
		}
		time.Sleep(afterGap) // the functions are frozen meanwhile
	}
	for _, c := range cases {
		slices.Sort(c.after)
		slices.Sort(c.whole)
	}
	slices.Sort(f.storeWrite)
	return f, nil
}

// print writes the run's table.
func (f afterFigures) print(n int) {
	fmt.Printf("\n4. Time the extension adds after the runtime's answer, per invocation (default model, lambdaenv with\n")
	fmt.Printf("   freezing; %d warm invocations per case, the cases side by side, %s apart; flush interval %s so every\n", n, afterGap, afterFlushInterval)
	fmt.Printf("   failure is due for its write). breakerbox asks for its next event on INVOKE; a report that holds a\n")
	fmt.Printf("   failure writes it (bounded by the deadline) before the function answers; a healthy one only buffers.\n")
	fmt.Printf("   %-46s %9s %9s %9s %9s %12s\n", "case", "p50", "p90", "p99", "max", "whole p50")
	for _, c := range []*afterCase{f.noop, f.healthy, f.failing} {
		fmt.Printf("   %-46s %9s %9s %9s %9s %12s\n", c.name, ms(pct(c.after, 0.5)), ms(pct(c.after, 0.9)), ms(pct(c.after, 0.99)),
			ms(c.after[len(c.after)-1]), ms(pct(c.whole, 0.5)))
	}
	fmt.Printf("   %-46s %9s %9s %9s %9s\n", "one counter write to the same moto (this process)", ms(pct(f.storeWrite, 0.5)), ms(pct(f.storeWrite, 0.9)),
		ms(pct(f.storeWrite, 0.99)), ms(f.storeWrite[len(f.storeWrite)-1]))
	fmt.Printf("   failing invocation less a healthy one (whole durations, p50 less p50): %s\n", ms(f.failingExtra()))
}

// failingExtra is the median failing invocation's whole duration less the median healthy one's.
func (f afterFigures) failingExtra() time.Duration {
	return pct(f.failing.whole, 0.5) - pct(f.healthy.whole, 0.5)
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
