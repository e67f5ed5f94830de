// Command bench measures the breakerbox extension (make bench): cache-hit GET throughput and latency
// next to a bare net/http handler answering the same JSON, DynamoDB reads per circuit under a steady
// lookup rate, start-up time, peak RSS and stripped binary size, and the time the extension adds
// after the runtime's answer per invocation (in lambdaenv, next to an extension that does nothing),
// healthy and failing, next to one counter write to the same moto. It builds the extension, starts
// moto_server, and drives the real binary through a minimal Extensions API (and lambdaenv for the
// last run). It prints figures, and last one summary line (see summary); it does not pass or fail
// on them.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/extension/internal/loadgen"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/motoserver"
	"github.com/breakerbox/breakerbox/internal/store"
)

func main() {
	switch filepath.Base(os.Args[0]) {
	case runtimeName:
		os.Exit(runBenchRuntime())
	case noopName:
		os.Exit(runNoopExtension())
	}
	bare := flag.String("serve-bare", "", "internal: serve the bare comparison handler on this address")
	body := flag.String("body", "", "internal: the body file of the bare handler")
	dur := flag.Duration("duration", time.Second, "measured time of each throughput run")
	rounds := flag.Int("rounds", 4, "throughput rounds, alternating bare and extension, so both see the same machine load")
	readsFor := flag.Duration("reads-duration", 10*time.Second, "length of the DynamoDB reads run (0: skipped)")
	readsRate := flag.Float64("reads-rate", 5000, "lookups per second in the DynamoDB reads run")
	starts := flag.Int("starts", 5, "start-ups measured")
	invokes := flag.Int("invokes", 200, "warm invocations per case in the after-the-answer run")
	flag.Parse()
	if *bare != "" {
		os.Exit(serveBare(*bare, *body))
	}
	if flag.NArg() > 0 {
		// The flag package stops at the first argument that is not a flag: what follows would be dropped.
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q (flags only, and every flag before them is read; -h lists them)\n", flag.Args())
		os.Exit(2)
	}
	if *rounds < 1 || *starts < 1 || *invokes < 1 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "bench: -rounds, -starts and -invokes must be at least 1, and -duration above 0")
		os.Exit(2)
	}
	if *readsFor < 0 || *readsFor > 0 && !(*readsRate > 0 && !math.IsInf(*readsRate, 1)) {
		fmt.Fprintf(os.Stderr, "bench: -reads-duration %s, -reads-rate %v: want a duration of 0 (skipped) or more, and a rate above 0 lookups/s\n", *readsFor, *readsRate)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dur, *rounds, *readsFor, *readsRate, *starts, *invokes); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dur time.Duration, rounds int, readsFor time.Duration, readsRate float64, starts, invokes int) error {
	dir, err := os.MkdirTemp("", "breakerbox-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "extensions", "breakerbox")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/breakerbox/breakerbox/extension")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build the extension: %w", err)
	}
	st, err := os.Stat(bin)
	if err != nil {
		return err
	}

	moto, err := motoserver.Start(ctx)
	if err != nil {
		return err
	}
	defer moto.Stop()
	proxy, err := startCountingProxy(moto.URL)
	if err != nil {
		return err
	}
	defer proxy.Close()
	const table, id = "breakerbox-bench", "inventory"
	db := dynamodb.NewFromConfig(moto.AWSConfig())
	if err := store.CreateTable(ctx, db, table); err != nil {
		return err
	}
	s := store.New(db, table, store.Options{Timeout: 10 * time.Second})
	if err := s.Put(ctx, circuit.Circuit{ID: id, State: circuit.Closed, Version: 1, Since: time.Now(), Reason: "2 successful probes"}); err != nil {
		return err
	}
	env := append(moto.Env(), "AWS_ENDPOINT_URL="+proxy.url, "BREAKERBOX_TABLE="+table, "BREAKERBOX_CIRCUITS="+id)

	fmt.Printf("breakerbox extension benchmarks (%s, GOMAXPROCS %d on this machine)\n\n", time.Now().UTC().Format(time.RFC3339), numCPU())

	// Start-up: process start → registered, prefetch done (the cache is warm before /register).
	var times []time.Duration
	for range starts {
		p, err := startExtension(ctx, bin, env)
		if err != nil {
			return err
		}
		times = append(times, p.startup)
		if _, err := p.stop(); err != nil {
			return err
		}
	}
	slices.Sort(times)

	ext, err := startExtension(ctx, bin, env)
	if err != nil {
		return err
	}
	path := "/v1/circuits/" + id
	first, err := ext.get(path)
	if err != nil {
		return err
	}
	stats0, err := ext.stats()
	if err != nil {
		return err
	}
	bodyFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyFile, first, 0o644); err != nil {
		return err
	}
	bare, err := startBare(ctx, bodyFile)
	if err != nil {
		return err
	}
	defer bare.stop()

	fmt.Printf("1. Cache-hit GET %s: keep-alive, closed loop, same load generator (extension/internal/loadgen);\n", path)
	fmt.Printf("   %d rounds of %s each, alternating bare and extension (ABBA) so both see the same machine load\n", rounds, dur)
	fmt.Printf("   answer (%d bytes): %s\n", len(first), first)
	fmt.Printf("   %-22s %5s %12s %10s %10s %8s\n", "server", "conns", "req/s", "p50", "p99", "errors")
	tok := map[string]string{"X-Breakerbox-Token": ext.token}
	getRatio := math.Inf(1) // the lowest throughput ratio over the connection counts
	for _, conns := range []int{1, 16, 64} {
		var b, e loadgen.Result
		var ratios []float64
		for round := range rounds {
			bareCfg := loadgen.Config{Addr: bare.addr, Path: path, Header: tok, Conns: conns, Warmup: 200 * time.Millisecond, Duration: dur}
			extCfg := bareCfg
			extCfg.Addr = ext.addr()
			first, second := bareCfg, extCfg
			if round%2 == 1 { // ABBA: neither server always goes first
				first, second = extCfg, bareCfg
			}
			r1, err := loadgen.Run(ctx, first)
			if err != nil {
				return err
			}
			r2, err := loadgen.Run(ctx, second)
			if err != nil {
				return err
			}
			rb, re := r1, r2
			if round%2 == 1 {
				rb, re = r2, r1
			}
			b, e = b.Merge(rb), e.Merge(re)
			ratios = append(ratios, re.RPS()/rb.RPS())
		}
		printRow("bare net/http handler", conns, b)
		printRow("breakerbox extension", conns, e)
		tr, pr := e.RPS()/b.RPS(), float64(e.Percentile(0.99))/float64(b.Percentile(0.99))
		getRatio = min(getRatio, tr)
		slices.Sort(ratios)
		fmt.Printf("   %-22s %5d %11.2fx %10s %9.2fx   (median round %.2fx) goal ≥0.80x throughput, ≤1.50x p99: %s\n",
			"extension / bare", conns, tr, "", pr, ratios[len(ratios)/2], verdict(tr >= 0.8 && pr <= 1.5))
	}

	fmt.Println("   same comparison with both handlers served from the bench process itself (isolates the handler's cost):")
	for _, conns := range []int{1, 16, 64} {
		b, e, err := inProcess(ctx, id, ext.token, first, conns, rounds, dur)
		if err != nil {
			return err
		}
		tr, pr := e.RPS()/b.RPS(), float64(e.Percentile(0.99))/float64(b.Percentile(0.99))
		fmt.Printf("   %-22s %5d %12.0f %10s %10s   extension %0.f req/s, p50 %s, p99 %s: %.2fx throughput, %.2fx p99\n",
			"in-process bare", conns, b.RPS(), us(b.Percentile(0.5)), us(b.Percentile(0.99)), e.RPS(), us(e.Percentile(0.5)), us(e.Percentile(0.99)), tr, pr)
	}

	if readsFor > 0 {
		if err := readsRun(ctx, ext, proxy, path, tok, stats0, readsFor, readsRate); err != nil {
			return err
		}
	}

	rss, err := ext.stop()
	if err != nil {
		return err
	}
	fmt.Println("\n3. Start-up, memory, size")
	fmt.Printf("   process start → registered with a warm cache (prefetch of 1 circuit from moto; billed as INIT): min %s, median %s, max %s over %d starts\n",
		ms(times[0]), ms(times[len(times)/2]), ms(times[len(times)-1]), len(times))
	fmt.Printf("   peak RSS of the extension over all of the above: %.1f MiB\n", float64(rss)/1024)
	fmt.Printf("   stripped binary (go build -trimpath -ldflags='-s -w', %s): %.1f MiB (%d bytes)\n", goarch(), float64(st.Size())/(1<<20), st.Size())

	af, err := afterRuntime(ctx, dir, bin, append(moto.Env(), "BREAKERBOX_TABLE="+table), &storeWriter{s: s, p: circuit.DefaultPolicy()}, invokes)
	if err != nil {
		return err
	}
	af.print(invokes)
	fmt.Println()
	fmt.Println(summary(getRatio, af))
	return nil
}

// summary is the bench's last line, every figure from this run: get-ratio is the lowest cache-hit
// GET throughput ratio (extension / bare handler) over 1, 16 and 64 connections; post-runtime the
// time after the runtime's answer per invocation, of breakerbox with a healthy report and of the
// no-op extension; failing-extra the median failing invocation's whole duration less the median
// healthy one's; store-write the median of one counter write to the same moto from this process.
func summary(getRatio float64, af afterFigures) string {
	return fmt.Sprintf("bench: get-ratio=%.2f post-runtime-healthy-p50=%s post-runtime-healthy-p99=%s post-runtime-noop-p50=%s post-runtime-noop-p99=%s failing-extra-p50=%s store-write-p50=%s",
		getRatio, msv(pct(af.healthy.after, 0.5)), msv(pct(af.healthy.after, 0.99)), msv(pct(af.noop.after, 0.5)), msv(pct(af.noop.after, 0.99)),
		msv(af.failingExtra()), msv(pct(af.storeWrite, 0.5)))
}

// msv is a duration in milliseconds with two decimals and the unit ("1.25ms").
func msv(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// readsRun is section 2: the DynamoDB reads a steady lookup rate of one circuit causes.
func readsRun(ctx context.Context, ext *extProc, proxy *countingProxy, path string, tok map[string]string, stats0 map[string]float64, readsFor time.Duration, readsRate float64) error {
	fmt.Printf("\n2. DynamoDB reads under %.0f lookups/s of one circuit for %s (CACHE_TTL default 5s ±10%% jitter)\n", readsRate, readsFor)
	gets0, batch0, stats1 := proxy.getItems.Load(), proxy.batchGets.Load(), must(ext.stats())
	r, err := loadgen.Run(ctx, loadgen.Config{Addr: ext.addr(), Path: path, Header: tok, Conns: 8, Duration: readsFor, Rate: readsRate})
	if err != nil {
		return err
	}
	gets := proxy.getItems.Load() - gets0
	stats2 := must(ext.stats())
	bound := int64(math.Ceil(readsFor.Seconds()/(5*0.9))) + 1
	fmt.Printf("   lookups: %d (%.0f/s, %d errors)\n", r.Requests, r.RPS(), r.Errors)
	fmt.Printf("   GetItem calls seen by the proxy in front of DynamoDB: %d (extension's own count: %.0f); BatchGetItem: %d\n",
		gets, stats2["storeReads"]-stats1["storeReads"], proxy.batchGets.Load()-batch0)
	fmt.Printf("   prefetch reads before the first query: %.0f; bound one per TTL: ≤ %d: %s\n", stats0["storeReads"], bound, verdict(gets <= bound))
	return nil
}

func printRow(name string, conns int, r loadgen.Result) {
	fmt.Printf("   %-22s %5d %12.0f %10s %10s %8d\n", name, conns, r.RPS(), us(r.Percentile(0.5)), us(r.Percentile(0.99)), r.Errors)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func must(m map[string]float64, err error) map[string]float64 {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: stats:", err)
		return map[string]float64{}
	}
	return m
}
