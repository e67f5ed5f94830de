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
// outcome to the extension (BENCH_OUTCOME ok or fail; none reports nothing) and answers.
func runBenchRuntime() int {
	outcome := os.Getenv("BENCH_OUTCOME")
	c, err := client.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench runtime:", err)
		return 1
	}
	lambda.Start(func(ctx context.Context) (string, error) {
		if outcome != "none" {
			if err := c.Report(ctx, "bench-after", client.Outcome{OK: outcome == "ok", Latency: 5 * time.Millisecond}); err != nil {
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
}

// afterRuntime measures, per invocation of a function frozen between invocations (the default
// model, in lambdaenv), the time from the runtime's answer to the end of the invocation: what the
// extension adds before the environment can freeze. It prints the median, p90 and max per case.
func afterRuntime(ctx context.Context, dir, extBin string, env []string, n int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "procs")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	runtime, noop := filepath.Join(bin, runtimeName), filepath.Join(bin, noopName)
	for _, link := range []string{runtime, noop} {
		if err := os.Symlink(self, link); err != nil {
			return err
		}
	}
	fmt.Printf("\n4. Time the extension adds after the runtime's answer, per invocation (default model, lambdaenv with\n")
	fmt.Printf("   freezing; %d warm invocations per case; each reports one outcome; breakerbox waits for the Telemetry\n", n)
	fmt.Printf("   API's platform.runtimeDone, buffered at least 25 ms by Lambda, then flushes, then asks for the next event)\n")
	fmt.Printf("   %-44s %10s %10s %10s %12s\n", "extension, outcome reported", "median", "p90", "max", "runtime p50")
	for _, c := range []afterCase{
		{"no-op extension (reference), none", noop, "none"},
		{"breakerbox, healthy (ok): 0 writes", extBin, "ok"},
		{"breakerbox, failing: counts written + decided", extBin, "fail"},
	} {
		after, rt, err := afterRun(ctx, c, runtime, env, n)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Printf("   %-44s %10s %10s %10s %12s\n", c.name, ms(pct(after, 0.5)), ms(pct(after, 0.9)), ms(after[len(after)-1]), ms(pct(rt, 0.5)))
	}
	return nil
}

func afterRun(ctx context.Context, c afterCase, runtime string, env []string, n int) (after, rt []time.Duration, err error) {
	le, err := lambdaenv.New(lambdaenv.Config{Output: io.Discard})
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = le.Close(cctx)
	}()
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	fn, err := le.AddFunction(lambdaenv.FunctionConfig{
		Name:       "bench",
		Command:    []string{runtime},
		Extensions: []string{c.extension},
		Env: append([]string{"PATH=" + os.Getenv("PATH"), "BREAKERBOX_PORT=" + strconv.Itoa(port), "BREAKERBOX_AUTH=none",
			"BREAKERBOX_LOG_LEVEL=warn", "BENCH_OUTCOME=" + c.outcome,
			// Never trip: every failing invocation writes its counts and decides, as before a trip.
			"BREAKERBOX_CONSECUTIVE_FAILURES=0", "BREAKERBOX_MIN_CALLS=1000000000"}, env...),
		Timeout:        30 * time.Second,
		Freeze:         true,
		MaxConcurrency: 1,
	})
	if err != nil {
		return nil, nil, err
	}
	for i := range n + 1 {
		res, err := fn.Invoke(ctx, nil)
		if err != nil {
			return nil, nil, err
		}
		if err := res.Err(); err != nil {
			return nil, nil, err
		}
		if i == 0 {
			continue // the cold start
		}
		after = append(after, res.Duration-res.RuntimeDuration)
		rt = append(rt, res.RuntimeDuration)
	}
	slices.Sort(after)
	slices.Sort(rt)
	return after, rt, nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
