package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Invoker runs a function synchronously; *Env implements it.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) (Result, error)
}

// PollerConfig configures a Poller.
type PollerConfig struct {
	// AWS is the SDK configuration of the local AWS endpoint (moto_server): the poller reads the
	// mapping through its Lambda API and the records through its Kinesis or SQS API.
	AWS aws.Config
	// MappingUUID is the event source mapping to emulate (see CreateMapping).
	MappingUUID string
	// Invoker runs the function, usually the Env.
	Invoker Invoker
	// FunctionName, when set, overrides the function the mapping names.
	FunctionName string
	// PollInterval is the pause after a poll that found nothing or failed, and between checks of a
	// disabled mapping; default 1s. A poll that delivered records is followed at once by the next.
	PollInterval time.Duration
	// InvokeTimeout bounds one invoke; default 15 minutes (Lambda's longest timeout).
	InvokeTimeout time.Duration
	// DefaultConcurrency is the number of concurrent invocations on a standard SQS queue whose
	// mapping sets no ScalingConfig.MaximumConcurrency; default 1. (Lambda would scale up to the
	// function's or the account's concurrency; the emulator keeps to this figure.)
	DefaultConcurrency int
	// Logger receives the poller's logs; default: discarded.
	Logger *slog.Logger
}

// PollerStats counts what a Poller did.
type PollerStats struct {
	// Polls counts polls of an active mapping; SkippedPolls those skipped because it was not.
	Polls, SkippedPolls int64
	// Batches counts invokes; Records the records they carried (retries included).
	Batches, Records int64
	// Succeeded counts records settled as processed (deleted from the queue, or checkpointed).
	Succeeded int64
	// Failures counts records that failed and will come again (batch item failures and the records
	// of failed batches); FunctionErrors counts batches that failed as a whole.
	Failures, FunctionErrors int64
	// Errors counts AWS API errors while polling.
	Errors int64
	// LastBatchSize is the number of records in the last batch.
	LastBatchSize int
	// BatchSize and State are the mapping's as read at the last poll.
	BatchSize int
	State     string
	// MaximumConcurrency is an SQS mapping's ScalingConfig.MaximumConcurrency as last read (0: not
	// set).
	MaximumConcurrency int
	// InFlight is the number of invocations running now, MaxInFlight the most seen at once.
	InFlight, MaxInFlight int
	// Pollers is the number of concurrent pollers of a standard SQS queue running now (each invokes
	// one batch at a time).
	Pollers int
}

// Poller emulates an event source mapping: it polls a Kinesis stream or an SQS queue and invokes
// the function with batches, as Lambda does, honouring the mapping's batch size, state and
// ReportBatchItemFailures as stored in the (local) Lambda API, re-read before every poll.
//
// Kinesis: each shard is read from the mapping's starting position; a batch that fails as a whole
// is retried from its first record, a batch with item failures is checkpointed before the lowest
// failed sequence number and retried from there (retries are unlimited: MaximumRetryAttempts,
// bisection and on-failure destinations are not emulated). SQS: up to BatchSize messages are
// gathered with ReceiveMessage calls of at most 10; succeeded messages are deleted, failed ones
// come back after the queue's visibility timeout. On a standard queue, up to the mapping's
// ScalingConfig.MaximumConcurrency invocations run at once (DefaultConcurrency when it is not set),
// as Lambda's SQS pollers do
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html#events-sqs-max-concurrency);
// the emulator starts them all as soon as the mapping allows, where Lambda adds them as the backlog
// grows. A FIFO queue is read by one invocation at a time.
//
// Disabling a mapping: when Enabled is false "Lambda pauses polling and invocation"
// (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html#lambda-UpdateEventSourceMapping-request-Enabled),
// passing through the transitional Disabling state
// (https://docs.aws.amazon.com/lambda/latest/api/API_EventSourceMappingConfiguration.html#lambda-Type-EventSourceMappingConfiguration-State);
// AWS does not say what becomes of a batch already read at that moment. The emulator delivers and
// settles it (its records are out of the source already; dropping them would only delay them by a
// visibility timeout or a re-read), and starts no poll after a mapping read that shows the mapping
// not active: every poller, each of a standard queue's concurrent ones included, reads the mapping
// just before each poll. A mapping disabled from inside an invocation is therefore never polled
// again by the poller that ran it.
type Poller struct {
	cfg    PollerConfig
	log    *slog.Logger
	lambda *lambda.Client
	source source
	arn    string

	mu    sync.Mutex
	stats PollerStats
}

// source is one kind of event source.
type source interface {
	// poll reads one batch per shard or queue, delivers it and settles it. It returns the number of
	// records delivered and whether a batch failed.
	poll(ctx context.Context, m mappingState) (delivered int, failed bool, err error)
}

// mappingState is what the poller uses of an event source mapping.
type mappingState struct {
	batchSize        int
	state            string
	reportFailures   bool
	function         string
	startingPosition lambdatypes.EventSourcePosition
	startingTime     *time.Time
	// maximumConcurrency is ScalingConfig.MaximumConcurrency (0: not set).
	maximumConcurrency int
}

// active reports whether Lambda would poll in this state: Enabled, or Updating (a change is being
// applied to an enabled mapping). Creating, Enabling, Disabling, Disabled and Deleting do not poll.
func (m mappingState) active() bool {
	return m.state == "Enabled" || m.state == "Updating"
}

// NewPoller reads the mapping once to learn its event source and returns a Poller for it.
func NewPoller(ctx context.Context, cfg PollerConfig) (*Poller, error) {
	if cfg.MappingUUID == "" || cfg.Invoker == nil {
		return nil, errors.New("lambdaenv: NewPoller needs MappingUUID and Invoker")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.InvokeTimeout <= 0 {
		cfg.InvokeTimeout = 15 * time.Minute
	}
	if cfg.DefaultConcurrency <= 0 {
		cfg.DefaultConcurrency = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Poller{cfg: cfg, lambda: lambda.NewFromConfig(cfg.AWS)}
	out, err := p.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(cfg.MappingUUID)})
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: event source mapping %s: %w", cfg.MappingUUID, err)
	}
	p.arn = aws.ToString(out.EventSourceArn)
	service, err := sourceService(p.arn)
	if err != nil {
		return nil, err
	}
	p.log = cfg.Logger.With("mapping", cfg.MappingUUID, "source", p.arn)
	if service == "kinesis" {
		p.source = newKinesisSource(p, kinesis.NewFromConfig(cfg.AWS))
	} else {
		s, err := newSQSSource(ctx, p, sqs.NewFromConfig(cfg.AWS))
		if err != nil {
			return nil, err
		}
		p.source = s
	}
	return p, nil
}

// EventSourceArn returns the stream or queue the poller reads.
func (p *Poller) EventSourceArn() string { return p.arn }

// Stats returns a snapshot of the poller's counters.
func (p *Poller) Stats() PollerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *Poller) count(f func(*PollerStats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

// Run polls until ctx ends, then returns nil. Errors of the AWS APIs are logged, counted and retried
// after the poll interval.
func (p *Poller) Run(ctx context.Context) error {
	p.log.Info("poller started")
	defer p.log.Info("poller stopped")
	if q, ok := p.source.(*sqsSource); ok && !q.fifo {
		return p.runConcurrent(ctx)
	}
	for ctx.Err() == nil {
		m, ok := p.mapping(ctx)
		if !ok {
			continue
		}
		p.count(func(s *PollerStats) { s.BatchSize, s.State = m.batchSize, m.state })
		if !m.active() {
			p.count(func(s *PollerStats) { s.SkippedPolls++ })
			sleepCtx(ctx, p.cfg.PollInterval)
			continue
		}
		p.pollOnce(ctx, m)
	}
	return nil
}

// mapping reads the mapping's current configuration. On an error it logs and counts it, waits the
// poll interval and reports false.
func (p *Poller) mapping(ctx context.Context) (mappingState, bool) {
	m, err := p.readMapping(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.count(func(s *PollerStats) { s.Errors++ })
			p.log.Warn("read event source mapping", "error", err.Error())
			sleepCtx(ctx, p.cfg.PollInterval)
		}
		return mappingState{}, false
	}
	return m, true
}

// pollOnce delivers one batch under the mapping's configuration m, then waits the poll interval if
// there was nothing to deliver or the delivery failed.
func (p *Poller) pollOnce(ctx context.Context, m mappingState) {
	p.count(func(s *PollerStats) { s.Polls++ })
	pctx, cancel := context.WithTimeout(ctx, p.cfg.InvokeTimeout+2*time.Minute)
	n, failed, err := p.source.poll(pctx, m)
	cancel()
	if err != nil && ctx.Err() == nil {
		p.count(func(s *PollerStats) { s.Errors++ })
		p.log.Warn("poll", "error", err.Error())
	}
	if n == 0 || failed || err != nil {
		sleepCtx(ctx, p.cfg.PollInterval)
	}
}

// readMapping reads the mapping's current configuration.
func (p *Poller) readMapping(ctx context.Context) (mappingState, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := p.lambda.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(p.cfg.MappingUUID)})
	if err != nil {
		return mappingState{}, fmt.Errorf("get event source mapping: %w", err)
	}
	m := mappingState{
		batchSize:        int(aws.ToInt32(out.BatchSize)),
		state:            aws.ToString(out.State),
		reportFailures:   slices.Contains(out.FunctionResponseTypes, lambdatypes.FunctionResponseTypeReportBatchItemFailures),
		startingPosition: out.StartingPosition,
		startingTime:     out.StartingPositionTimestamp,
	}
	if out.ScalingConfig != nil {
		m.maximumConcurrency = int(aws.ToInt32(out.ScalingConfig.MaximumConcurrency))
	}
	m.function, _ = FunctionNameFromARN(aws.ToString(out.FunctionArn))
	if p.cfg.FunctionName != "" {
		m.function = p.cfg.FunctionName
	}
	if m.batchSize <= 0 {
		m.batchSize = 10
	}
	return m, nil
}

// outcome is how a delivered batch ended.
type outcome struct {
	failedAll bool     // function error, platform error or invalid response: retry everything
	failedIDs []string // batch item failures (valid identifiers only)
}

// deliver invokes the function with a batch and interprets the answer.
func (p *Poller) deliver(ctx context.Context, m mappingState, payload []byte, records int, valid func(id string) bool) outcome {
	p.count(func(s *PollerStats) {
		s.Batches++
		s.Records += int64(records)
		s.LastBatchSize = records
		s.InFlight++
		s.MaxInFlight = max(s.MaxInFlight, s.InFlight)
	})
	defer p.count(func(s *PollerStats) { s.InFlight-- })
	ctx, cancel := context.WithTimeout(ctx, p.cfg.InvokeTimeout)
	defer cancel()
	res, err := p.cfg.Invoker.Invoke(ctx, m.function, payload)
	switch {
	case err != nil:
		p.log.Warn("invoke failed", "function", m.function, "records", records, "error", err.Error())
		return p.failedBatch(records)
	case res.FunctionError != "":
		p.log.Info("batch failed", "function", m.function, "records", records, "requestId", res.RequestID, "error", string(res.Payload))
		return p.failedBatch(records)
	case !m.reportFailures:
		return outcome{}
	}
	ids, ok := batchItemFailures(res.Payload, valid)
	if !ok {
		p.log.Info("invalid batchItemFailures: the whole batch is retried", "function", m.function, "response", string(res.Payload))
		return p.failedBatch(records)
	}
	return outcome{failedIDs: ids}
}

func (p *Poller) failedBatch(records int) outcome {
	p.count(func(s *PollerStats) { s.FunctionErrors++ })
	return outcome{failedAll: true}
}

// batchItemFailures reads {"batchItemFailures":[{"itemIdentifier":"..."}]}. A response without the
// field (or that is not an object) has no failures; an empty, missing or unknown identifier makes
// the response invalid, which Lambda treats as a failure of the whole batch.
func batchItemFailures(payload []byte, valid func(string) bool) ([]string, bool) {
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if json.Unmarshal(payload, &resp) != nil {
		return nil, true
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" || !valid(*f.ItemIdentifier) {
			return nil, false
		}
		ids = append(ids, *f.ItemIdentifier)
	}
	return ids, true
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
