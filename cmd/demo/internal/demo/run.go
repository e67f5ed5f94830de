package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/cmd/demo/internal/chart"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/emfsplit"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/feeder"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/provider"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/scenario"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/stack"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/summary"
	"github.com/breakerbox/breakerbox/cmd/demo/internal/timeline"
	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/store"
)

// ErrInterrupted is returned (with the summary so far) when ctx ended before the demo did.
var ErrInterrupted = errors.New("demo interrupted")

// ErrVerdict is returned when the demo ran to its end but lost or duplicated records.
var ErrVerdict = errors.New("demo verdict: records lost or processed twice")

// teardownTimeout bounds the shutdown of the Lambda environment (SHUTDOWN to the extensions, then
// kill) and the final reads.
const teardownTimeout = 20 * time.Second

// Run runs the demo, printing the timeline and the summary to stdout (tty: stdout is a terminal).
// When ctx ends early (Ctrl-C) it stops feeding, takes everything down and still prints and returns
// the summary so far, with ErrInterrupted.
func Run(ctx context.Context, cfg Config, stdout io.Writer, tty bool) (summary.Summary, error) {
	if err := cfg.Validate(); err != nil {
		return summary.Summary{}, err
	}
	f, err := openFiles(cfg.Out)
	if err != nil {
		return summary.Summary{}, err
	}
	defer f.close()
	log := slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	color := cfg.Color == "always" || (cfg.Color == "auto" && tty && os.Getenv("NO_COLOR") == "")
	r := &run{cfg: cfg, files: f, log: log, out: timeline.NewPrinter(stdout, tty, color), stdout: stdout}
	return r.run(ctx)
}

// run is one run of the demo.
type run struct {
	cfg    Config
	files  *files
	log    *slog.Logger
	out    *timeline.Printer
	stdout io.Writer

	clock    *scenario.Clock
	endpoint *stack.Endpoint
	provider *provider.Provider
	stack    *stack.Stack
	res      stack.Resources
	feeder   *feeder.Feeder
	rec      *timeline.Recorder
	metrics  *emfsplit.Splitter
}

func (r *run) run(ctx context.Context) (summary.Summary, error) {
	defer r.teardown(ctx)
	if err := r.setup(ctx); err != nil {
		if ctx.Err() != nil {
			r.out.Line("  interrupted during set-up: nothing was fed; everything started is being stopped")
			return summary.Summary{Interrupted: true}, fmt.Errorf("%w during set-up: %w", ErrInterrupted, err)
		}
		return summary.Summary{}, err
	}
	interrupted := r.live(ctx)
	return r.finish(ctx, interrupted)
}

// setup builds the parts, starts the endpoint and the provider, creates the resources and brings
// the stack up.
func (r *run) setup(ctx context.Context) error {
	cfg := r.cfg
	sc := cfg.Scenario()
	r.clock = scenario.NewClock(sc, nil)
	r.out.Line("breakerbox demo: a payments provider goes %s on a compressed clock (%s), fed %v records/s",
		phaseNames(sc), cfg.Duration(), cfg.Rate)

	repo, err := stack.ModuleRoot(cfg.Repo)
	if err != nil {
		return err
	}
	start := time.Now()
	bins, err := stack.Build(ctx, repo, filepath.Join(cfg.Out, DirBin))
	if err != nil {
		return err
	}
	r.out.Line("  built the extension, ventilator, worker and checker in %.1fs (%s)", time.Since(start).Seconds(), filepath.Join(cfg.Out, DirBin))

	r.endpoint, err = stack.StartEndpoint(ctx, cfg.Endpoint)
	if err != nil {
		return err
	}
	if r.endpoint.Owned {
		r.out.Line("  moto_server on %s serves the AWS APIs (DynamoDB, Kinesis, SQS, EventBridge, Lambda's control plane)", r.endpoint.URL)
	} else {
		r.out.Line("  AWS APIs at AWS_ENDPOINT_URL=%s", r.endpoint.URL)
	}
	awsCfg := r.endpoint.AWSConfig()

	r.provider, err = provider.Start(provider.Config{Clock: r.clock, Latency: cfg.Latency, SlowDelay: cfg.SlowDelay, Seed: cfg.Seed, Logger: r.log.With("part", "provider")})
	if err != nil {
		return err
	}
	r.out.Line("  provider on %s: the worker calls POST /v1/charges, the checker probes GET /health", r.provider.URL())

	run := ""
	if !r.endpoint.Owned {
		run = strconv.FormatInt(time.Now().Unix()%1e6, 36)
	}
	r.res, err = stack.CreateResources(ctx, awsCfg, stack.NamesFor(cfg.Circuit, run))
	if err != nil {
		return err
	}
	r.metrics = emfsplit.New(r.files.metrics, r.files.functions)
	r.stack, err = stack.Up(ctx, stack.Config{
		Bin: bins, Endpoint: r.endpoint, Resources: r.res, Circuit: cfg.Circuit,
		ProviderURL: r.provider.CallURL(), HealthURL: r.provider.HealthURL(), CheckTimeout: time.Second,
		BaseEnv: baseEnv(filepath.Join(cfg.Out, DirBin)), CommonEnv: cfg.policyEnv(), VentilatorEnv: cfg.ventilatorEnv(),
		WorkerEnv:    []string{"PROVIDER_TIMEOUT=" + (cfg.SlowDelay + 3*time.Second).String()},
		InitialBatch: cfg.InitialBatch, MaxBatch: cfg.MaxBatch,
		CheckEvery: cfg.CheckEvery, WakeEvery: cfg.WakeEvery, PollInterval: 200 * time.Millisecond,
		FunctionTimeout: cfg.SlowDelay + 8*time.Second,
		Logger:          r.log.With("part", "lambdaenv"), Output: r.files.functions, VentilatorOutput: r.metrics,
	})
	if err != nil {
		return err
	}
	r.out.Line("  Kinesis stream %s → ventilator → worker → provider; circuit %q in table %s", r.res.Stream, cfg.Circuit, r.res.Table)
	how := fmt.Sprintf("shrinks above %.0f%% slow or failed calls", 100*cfg.BackoffRatio)
	if cfg.Policy == adaptive.PolicyKnee {
		how = "holds where latency starts to rise above its no-load baseline, backs off on errors"
	}
	r.out.Line("  the ventilator's concurrency (policy %s, at most %d calls in flight, over batches of %d..%d) %s; MAX_ATTEMPTS %d",
		cfg.Policy, cfg.MaxBatch, cfg.MinBatch, cfg.MaxBatch, how, cfg.Tries)
	if p, err := circuit.PolicyFromEnv(circuit.DefaultPolicy(), cfg.lookupPolicy); err == nil {
		r.out.Line("  the circuit trips at %.0f%% failed or %.0f%% slow calls over %s (at least %d calls) or %d failures in a row; open %s, doubling up to %s",
			100*p.FailureRate, 100*p.SlowCallRate, p.Window, p.MinCalls, p.ConsecutiveFailures, p.OpenDuration, p.MaxOpenDuration)
	}
	r.out.Line("  checker every %s (rule %s, %s compressed); the circuit's change to HALF_OPEN or CLOSED wakes the ventilator (rule %s), a schedule every %s is the backstop (rule %s, %s compressed), and its own schedule (rule %s-self, %s compressed) resumes it after a trip of its own while the circuit stays CLOSED",
		cfg.CheckEvery, r.res.CheckRule, stack.CheckSchedule, r.res.ChangeRule, cfg.WakeEvery, r.res.WakeRule, stack.WakeSchedule, r.res.WakeRule, stack.SelfWakeSchedule)
	if err := r.stack.Warm(ctx); err != nil {
		return err
	}
	if port, ok := r.stack.ExtensionPort(0); ok {
		r.out.Line("  ask the running extension about the circuit (token auth is off for local work: BREAKERBOX_AUTH=none):")
		r.out.Line("    curl -s http://127.0.0.1:%d/v1/circuits/%s", port, cfg.Circuit)
	}
	r.out.Line("  logs and metrics go to %s", cfg.Out)
	r.out.Line("")
	kc := kinesis.NewFromConfig(awsCfg)
	r.feeder, err = feeder.New(feeder.Config{Client: kc, StreamARN: r.res.StreamARN, Rate: cfg.Rate, Logger: r.log.With("part", "feeder")})
	return err
}

// baseEnv is what every process of the Lambda environment starts from: no AWS settings of the
// user's (no profile, no credentials file), only what finds programs and temporary files.
func baseEnv(bin string) []string {
	env := []string{
		"AWS_CONFIG_FILE=" + filepath.Join(bin, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(bin, "no-aws-credentials"),
	}
	for _, k := range []string{"PATH", "TMPDIR", "LANG", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func phaseNames(sc scenario.Scenario) string {
	names := make([]string, len(sc.Phases))
	for i, p := range sc.Phases {
		names[i] = p.Name
	}
	return strings.Join(names, " → ")
}

// live runs the scenario: feeds records while the phases last, then waits for the backlog. It
// reports whether ctx ended first.
func (r *run) live(ctx context.Context) bool {
	r.rec = timeline.NewRecorder(r.files.transitions)
	awsCfg := r.endpoint.AWSConfig()
	mon := &monitor{
		clock: r.clock, circuit: r.cfg.Circuit,
		circuits: store.New(dynamodb.NewFromConfig(awsCfg), r.res.Table, store.Options{Timeout: time.Second}),
		mapping:  r.stack.Mapping, concurrency: r.metrics.Concurrency, wakes: &wakeHold{wakes: r.wakeLines}, provider: r.provider, sqs: sqs.NewFromConfig(awsCfg), dlqURL: r.res.DLQURL,
		slow: r.cfg.SlowDelay, rec: r.rec, printer: r.out, log: r.log.With("part", "monitor"), rowEvery: r.cfg.RowEvery,
		fed: func() int { return r.feeder.Fed() },
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()

	r.out.Header()
	r.clock.Start()
	wg.Go(func() { r.stack.Run(runCtx) })
	wg.Go(func() { mon.run(runCtx) })
	feedCtx, stopFeed := context.WithTimeout(runCtx, r.cfg.Duration())
	defer stopFeed()
	fed := make(chan struct{})
	wg.Go(func() {
		defer close(fed)
		_ = r.feeder.Run(feedCtx)
	})
	<-fed
	if ctx.Err() != nil {
		return true
	}
	r.out.Line("  ── all phases over: %d records fed; waiting for the backlog while it shrinks (at most %s without progress) ──", r.feeder.Fed(), r.cfg.Drain)
	return r.drain(ctx)
}

// finish takes the Lambda environment down, reads the dead-letter queue and the dedup table, and
// writes the chart and the summary.
func (r *run) finish(ctx context.Context, interrupted bool) (summary.Summary, error) {
	r.out.EndProgress()
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	if interrupted {
		r.out.Line("\n  interrupted: stopping the feeder, the poller and the schedules; SHUTDOWN to the extensions")
	}
	if err := r.stack.Close(tctx); err != nil {
		r.log.Warn("close the Lambda environment", "error", err.Error())
	}
	awsCfg := r.endpoint.AWSConfig()
	dlq, err := deadLettered(tctx, sqs.NewFromConfig(awsCfg), r.res.DLQURL)
	if err != nil {
		r.log.Warn("dead-letter queue", "error", err.Error())
	}
	dedup, err := dedupStatuses(tctx, dynamodb.NewFromConfig(awsCfg), r.res.DedupTable)
	if err != nil {
		r.log.Warn("dedup table", "error", err.Error())
	}
	sc := r.clock.Scenario
	starts := map[string]time.Duration{}
	for i, p := range sc.Phases {
		starts[p.Name] = sc.Offset(i)
	}
	sum := summary.Compute(summary.Input{
		Fed: r.feeder.IDs(), Successes: r.provider.Successes(), DeadLettered: dlq, Dedup: dedup,
		Events: r.rec.Events(), PhaseStarts: starts, CaughtUp: caughtUp(r.rec.Samples(), starts, r.cfg.Rate), Interrupted: interrupted,
	})
	var errs []error
	if err := r.writeChart(); err != nil {
		errs = append(errs, err)
	}
	if err := r.rec.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := r.metrics.Err(); err != nil {
		errs = append(errs, fmt.Errorf("metrics: %w", err))
	}
	if by, _ := r.metrics.Wakes(); len(by) > 0 {
		r.out.Line("\n  wake-ups that re-enabled the mapping: %d by the circuit's state-change event, %d by the schedule", by["event"], by["schedule"])
	}
	r.out.Line("\n  files: %s (chart), %s (%d events), %s (%d EMF lines), %s, %s",
		r.files.path(FileChart), r.files.path(FileTransitions), len(r.rec.Events()), r.files.path(FileMetrics), r.metrics.Metrics(),
		r.files.path(FileLog), r.files.path(FileFunctions))
	var text strings.Builder
	if err := sum.Write(&text); err != nil {
		errs = append(errs, err)
	}
	r.out.Line("%s", strings.TrimRight(text.String(), "\n"))
	if err := os.WriteFile(r.files.path(FileSummary), []byte(text.String()), 0o644); err != nil {
		errs = append(errs, fmt.Errorf("summary file: %w", err))
	}
	r.log.Info("summary", "line", sum.Line())
	switch {
	case interrupted:
		errs = append(errs, ErrInterrupted)
	case sum.Lost > 0 || sum.Duplicates > 0:
		errs = append(errs, fmt.Errorf("%w: lost=%d duplicates=%d", ErrVerdict, sum.Lost, sum.Duplicates))
	}
	return sum, errors.Join(errs...)
}

// caughtUp is the first moment after the provider recovered when fewer records were waiting than
// a second's worth of feed: the outage's backlog was worked off. 0 if that never happened (or the
// scenario has no recovered phase).
func caughtUp(samples []timeline.Sample, starts map[string]time.Duration, rate float64) time.Duration {
	rec, ok := starts["recovered"]
	if !ok {
		return 0
	}
	limit := max(int(rate), 2)
	for _, s := range samples {
		if s.At >= rec && s.Fed-s.Done <= limit {
			return s.At
		}
	}
	return 0
}

// writeChart draws the timeline's samples to the chart file.
func (r *run) writeChart() error {
	samples := r.rec.Samples()
	if len(samples) == 0 {
		return nil
	}
	sc := r.clock.Scenario
	spans := make([]chart.Span, len(sc.Phases))
	for i, p := range sc.Phases {
		spans[i] = chart.Span{Name: p.Name, Start: sc.Offset(i).Seconds(), End: sc.Offset(i + 1).Seconds()}
	}
	if last := samples[len(samples)-1].At.Seconds(); last > spans[len(spans)-1].End {
		spans[len(spans)-1].End = last // the provider stays recovered while the backlog drains
	}
	f, err := os.Create(r.files.path(FileChart))
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	title := fmt.Sprintf("breakerbox demo: circuit %q, batch policy %s, %v records/s", r.cfg.Circuit, r.cfg.Policy, r.cfg.Rate)
	if err := chart.Write(f, chart.Input{Title: title, Phases: spans, Samples: samples}); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// teardown stops the provider and the endpoint (the Lambda environment is closed in finish, or here
// when set-up failed half-way).
func (r *run) teardown(ctx context.Context) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	if r.stack != nil {
		if err := r.stack.Close(tctx); err != nil {
			r.log.Warn("close the Lambda environment", "error", err.Error())
		}
	}
	if r.provider != nil {
		if err := r.provider.Close(tctx); err != nil {
			r.log.Warn("close the provider", "error", err.Error())
		}
	}
	if r.endpoint != nil {
		r.endpoint.Stop()
	}
}

// wakeLines is how many wake-up metric lines the ventilator has written so far and the latest one's
// trigger ("event" or "schedule").
func (r *run) wakeLines() (total int, last string) {
	by, last := r.metrics.Wakes()
	for _, n := range by {
		total += n
	}
	return total, last
}
