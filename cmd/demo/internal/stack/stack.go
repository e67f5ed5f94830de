package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// Function names in the local Lambda environment (and in moto).
const (
	Ventilator = "ventilator"
	Worker     = "worker"
	Checker    = "checker"
)

// Schedules of the rules, as a deployment would have them; the schedulers compress them.
const (
	CheckSchedule = "rate(1 minute)"
	WakeSchedule  = "rate(10 minutes)"
	// SelfWakeSchedule and SelfWakeInput are the ventilator's own wake (SelfWake in template.yaml):
	// after a trip of its controller's own, with the circuit still CLOSED, no state change comes.
	SelfWakeSchedule = "rate(1 minute)"
	SelfWakeInput    = `{"source":"breakerbox.ventilator","detail-type":"Ventilator Wake"}`
)

// FirstExtensionPort is the port of the first ventilator sandbox's extension when it is free (the
// extension's default, 4243); later sandboxes try the following ports.
const FirstExtensionPort = 4243

// Config is what Up needs.
type Config struct {
	// Bin are the built executables.
	Bin Binaries
	// Endpoint serves the AWS APIs.
	Endpoint *Endpoint
	// Resources are the created tables, stream and queue.
	Resources Resources
	// Circuit is the circuit guarding the provider.
	Circuit string
	// ProviderURL is what the worker calls; HealthURL what the checker probes, within CheckTimeout.
	ProviderURL, HealthURL string
	CheckTimeout           time.Duration
	// BaseEnv is the environment every process starts from (PATH and the like); CommonEnv is added
	// to every function (the circuit policy knobs); VentilatorEnv to the ventilator (the batch
	// controller and its limits); WorkerEnv to the worker.
	BaseEnv, CommonEnv, VentilatorEnv, WorkerEnv []string
	// InitialBatch is the mapping's batch size at creation; MaxBatch bounds the worker's
	// concurrency (one sandbox per concurrent record).
	InitialBatch, MaxBatch int
	// CheckEvery and WakeEvery are how often the checker and the ventilator's wake-up run.
	CheckEvery, WakeEvery time.Duration
	// PollInterval is the event source poller's pause after an empty poll.
	PollInterval time.Duration
	// FunctionTimeout bounds every invoke of the ventilator and the worker.
	FunctionTimeout time.Duration
	// Logger receives the stack's and the Lambda environment's logs.
	Logger *slog.Logger
	// Output receives the functions' and extensions' output; VentilatorOutput the ventilator's.
	Output, VentilatorOutput io.Writer
}

// Stack is the running system.
type Stack struct {
	cfg     Config
	env     *lambdaenv.Env
	poller  *lambdaenv.Poller
	check   *lambdaenv.Scheduler
	wake    *lambdaenv.Scheduler
	mapping string

	mu    sync.Mutex
	ports map[int]int
}

// Up creates the event source mapping, starts the local Lambda environment with the three
// functions, and creates the EventBridge rules. Close takes it down, also after an error.
func Up(ctx context.Context, cfg Config) (*Stack, error) {
	if cfg.Endpoint == nil || cfg.Logger == nil {
		return nil, errors.New("stack: an Endpoint and a Logger are required")
	}
	s := &Stack{cfg: cfg, ports: map[int]int{}}
	awsCfg := cfg.Endpoint.AWSConfig()
	env, err := lambdaenv.New(lambdaenv.Config{Upstream: cfg.Endpoint.URL, Logger: cfg.Logger, Output: cfg.Output})
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	if err := env.Start(); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s.env = env

	uuid, err := lambdaenv.CreateMapping(ctx, awsCfg, lambdaenv.MappingInput{
		FunctionName: Ventilator, EventSourceArn: cfg.Resources.StreamARN, BatchSize: int32(cfg.InitialBatch), ReportBatchItemFailures: true,
	})
	if err != nil {
		return s, fmt.Errorf("stack: %w", err)
	}
	s.mapping = uuid

	base := append(append(append([]string{}, cfg.BaseEnv...), cfg.Endpoint.Env()...), "AWS_ENDPOINT_URL_LAMBDA="+env.URL())
	// Every part publishes the transitions it writes (the checker, and the extension in the
	// ventilator's sandbox) on the demo's own bus, where the state-change rule listens.
	base = append(base, "BREAKERBOX_TABLE="+cfg.Resources.Table, "BREAKERBOX_EVENT_BUS="+cfg.Resources.EventBus)
	base = append(base, cfg.CommonEnv...)
	ventEnv := append(append([]string{}, base...),
		"BREAKERBOX_CIRCUIT="+cfg.Circuit,
		"BREAKERBOX_CIRCUITS="+cfg.Circuit,
		"BREAKERBOX_AUTH=none",
		"WORKER_FUNCTION="+Worker,
		"DEDUP_TABLE="+cfg.Resources.DedupTable,
		"DLQ_URL="+cfg.Resources.DLQURL,
		"ESM_UUID="+uuid,
		"EVENT_SOURCE_ARN="+cfg.Resources.StreamARN,
		"INVOKE_TIMEOUT="+cfg.FunctionTimeout.String(),
	)
	ventEnv = append(ventEnv, cfg.VentilatorEnv...)
	workerEnv := append(append([]string{}, base...), "PROVIDER_URL="+cfg.ProviderURL)
	workerEnv = append(workerEnv, cfg.WorkerEnv...)

	fns := []lambdaenv.FunctionConfig{
		{
			Name: Ventilator, Command: []string{cfg.Bin.Ventilator}, Extensions: []string{cfg.Bin.Extension},
			// Above INVOKE_TIMEOUT + 4 × AWS_CALL_TIMEOUT (5s) + 2s, so records start in a batch and the
			// settle step keeps its reserve.
			Env: ventEnv, SandboxEnv: s.sandboxEnv, Timeout: ventilatorTimeout(cfg.FunctionTimeout),
			// One sandbox for the batches (one shard), one for a wake-up arriving during a batch.
			MaxConcurrency: 2, Output: cfg.VentilatorOutput,
		},
		{Name: Worker, Command: []string{cfg.Bin.Worker}, Env: workerEnv, Timeout: cfg.FunctionTimeout, MaxConcurrency: cfg.MaxBatch},
		{Name: Checker, Command: []string{cfg.Bin.Checker}, Env: base,
			Timeout: 10 * time.Second, MaxConcurrency: 2},
	}
	for _, fc := range fns {
		if _, err := env.AddFunction(fc); err != nil {
			return s, fmt.Errorf("stack: %w", err)
		}
	}

	fn := func(name string) string {
		f, _ := env.Function(name)
		return f.ARN()
	}
	input, err := json.Marshal(map[string]string{"id": cfg.Circuit, "url": cfg.HealthURL, "timeout": cfg.CheckTimeout.String()})
	if err != nil {
		return s, fmt.Errorf("stack: checker input: %w", err)
	}
	if err := PutRule(ctx, awsCfg, Rule{Name: cfg.Resources.CheckRule, Schedule: CheckSchedule, FunctionARN: fn(Checker), Input: string(input)}); err != nil {
		return s, err
	}
	if err := PutRule(ctx, awsCfg, Rule{Name: cfg.Resources.WakeRule, Schedule: WakeSchedule, FunctionARN: fn(Ventilator)}); err != nil {
		return s, err
	}
	// The self-wake's name starts with the backstop's, so the wake scheduler (rules by name prefix)
	// runs both, compressed alike.
	if err := PutRule(ctx, awsCfg, Rule{Name: cfg.Resources.WakeRule + "-self", Schedule: SelfWakeSchedule, FunctionARN: fn(Ventilator), Input: SelfWakeInput}); err != nil {
		return s, err
	}
	if err := PutChangeRule(ctx, awsCfg, cfg.Resources.EventBus, cfg.Resources.ChangeRule, cfg.Circuit); err != nil {
		return s, err
	}

	s.poller, err = lambdaenv.NewPoller(ctx, lambdaenv.PollerConfig{
		AWS: awsCfg, MappingUUID: uuid, Invoker: env, PollInterval: cfg.PollInterval,
		InvokeTimeout: ventilatorTimeout(cfg.FunctionTimeout) + 10*time.Second, Logger: cfg.Logger.With("part", "poller"),
	})
	if err != nil {
		return s, fmt.Errorf("stack: %w", err)
	}
	eb := eventbridge.NewFromConfig(awsCfg)
	s.check, err = lambdaenv.NewScheduler(lambdaenv.SchedulerConfig{
		Invoker: env, Speedup: speedup(CheckSchedule, cfg.CheckEvery), EventBridge: eb, RulePrefix: cfg.Resources.CheckRule,
		RefreshInterval: time.Second, Logger: cfg.Logger.With("part", "checker-schedule"),
	})
	if err != nil {
		return s, fmt.Errorf("stack: %w", err)
	}
	s.wake, err = lambdaenv.NewScheduler(lambdaenv.SchedulerConfig{
		Invoker: env, Speedup: speedup(WakeSchedule, cfg.WakeEvery), EventBridge: eb, RulePrefix: cfg.Resources.WakeRule,
		RefreshInterval: time.Second, Logger: cfg.Logger.With("part", "wake-schedule"),
		SQS: sqs.NewFromConfig(awsCfg), EventRules: []lambdaenv.EventRule{{Name: cfg.Resources.ChangeRule, EventBus: cfg.Resources.EventBus, Function: fn(Ventilator)}},
	})
	if err != nil {
		return s, fmt.Errorf("stack: %w", err)
	}
	return s, nil
}

// ventilatorTimeout is the ventilator's function timeout when one worker call may take invoke: room for
// a few rounds of calls after the reserve for one call with its dedup writes and the settle step.
func ventilatorTimeout(invoke time.Duration) time.Duration {
	return 2*invoke + 30*time.Second
}

// speedup is the compression that makes schedule fire every every.
func speedup(schedule string, every time.Duration) float64 {
	period, err := lambdaenv.ParseRate(schedule)
	if err != nil || every <= 0 {
		return 1
	}
	return float64(period) / float64(every)
}

// sandboxEnv gives each ventilator sandbox's extension its own port: 4243, 4244, ... when free,
// else any free port.
func (s *Stack) sandboxEnv(i int) []string {
	port := FirstExtensionPort + i
	if !portFree(port) {
		if p, err := freePort(); err == nil {
			port = p
		}
	}
	s.mu.Lock()
	s.ports[i] = port
	s.mu.Unlock()
	return []string{"BREAKERBOX_PORT=" + strconv.Itoa(port)}
}

// ExtensionPort is the port of the extension in the ventilator's sandbox i, once it started.
func (s *Stack) ExtensionPort(i int) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.ports[i]
	return p, ok
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// MappingUUID is the event source mapping's UUID.
func (s *Stack) MappingUUID() string { return s.mapping }

// Mapping returns what the poller last read of the mapping, and its counters.
func (s *Stack) Mapping() lambdaenv.PollerStats {
	if s.poller == nil {
		return lambdaenv.PollerStats{}
	}
	return s.poller.Stats()
}

// Schedules returns the checker's and the wake-up's scheduler counters.
func (s *Stack) Schedules() (check, wake lambdaenv.SchedulerStats) {
	if s.check != nil {
		check = s.check.Stats()
	}
	if s.wake != nil {
		wake = s.wake.Stats()
	}
	return check, wake
}

// Warm starts the ventilator's first sandbox (and its extension) with a wake-up, which does nothing
// while the ventilator is not tripped, so the extension answers before the first record and the
// first batch pays no cold start.
//
// The extension's port is chosen free (sandboxEnv) but bound by the extension a moment later, and
// another program (a second demo, say) may take it in between: the extension then fails its init
// with Extension.ListenFailed. Lambda initialises the sandbox again on the next invoke, and
// sandboxEnv, asked again, finds the port taken and picks another; so Warm tries up to
// warmAttempts times before it gives up.
func (s *Stack) Warm(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ev := `{"version":"0","id":"demo-warm-up","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`
	var err error
	for range warmAttempts {
		var res lambdaenv.Result
		res, err = s.env.Invoke(ctx, Ventilator, []byte(ev))
		if err == nil {
			err = res.Err()
		}
		if err == nil || !strings.Contains(err.Error(), listenFailed) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("stack: warm the ventilator: %w", err)
	}
	return nil
}

// listenFailed is the error code of an extension that could not bind BREAKERBOX_PORT, and
// warmAttempts how many initialisations Warm tries when that happens.
const (
	listenFailed = "Extension.ListenFailed"
	warmAttempts = 3
)

// Run polls the stream and fires the schedules until ctx ends, then waits for them to stop.
func (s *Stack) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.poller.Run(ctx) })
	wg.Go(func() { _ = s.check.Run(ctx) })
	wg.Go(func() { _ = s.wake.Run(ctx) })
	wg.Wait()
}

// Close shuts the Lambda environment down: SHUTDOWN to every extension, then whatever is left is
// killed when ctx ends. The endpoint is not stopped here.
func (s *Stack) Close(ctx context.Context) error {
	if s.env == nil {
		return nil
	}
	if err := s.env.Close(ctx); err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	return nil
}
