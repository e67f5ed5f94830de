package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/dedup"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/handler"
	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

var seq atomic.Int64

// Kinds of event source a rig can have.
const (
	kinesisSource = "kinesis"
	sqsSource     = "sqs"
	fifoSource    = "sqs-fifo"
)

type rigOptions struct {
	// Source is kinesisSource (default), sqsSource or fifoSource.
	Source string
	// Shards is the stream's shard count (default 1).
	Shards int32
	// BatchSize is the mapping's batch size at creation (default 1).
	BatchSize int32
	// Env is added to the ventilator's environment, after the defaults.
	Env []string
	// Pollers is the number of pollers on the mapping (default 1): SQS pollers run concurrently
	// like Lambda's, each invoking the ventilator.
	Pollers int
	// Managed, when set, runs the ventilator and the worker on Lambda Managed Instances: each
	// environment serves this many invocations at once (Ventilators counts environments then).
	Managed int
	// Ventilators is the ventilator's maximum concurrency (default 2).
	Ventilators int
	// FindMapping makes the ventilator find its mapping by EVENT_SOURCE_ARN instead of ESM_UUID.
	FindMapping bool
	// WakeEvery, when set, makes start also start a scheduler that fires the wake-up rule
	// rate(10 minutes) compressed to this period.
	WakeEvery time.Duration
	// WakeOnEvent makes start create the EventBridge rule on the circuit's state changes (to
	// HALF_OPEN or CLOSED) and start a scheduler that delivers it to the ventilator, beside the
	// schedule rate(10 minutes) at its real pace (it does not fire during a test).
	WakeOnEvent bool
	// LambdaFault, when set, puts a proxy between the ventilator and the Lambda API: a request for
	// which it returns true is answered 500 ServiceException instead.
	LambdaFault func(method, path string, body []byte) bool
	// Visibility, when set, is a standard queue's visibility timeout (default 1 s, so that failed
	// messages come back quickly).
	Visibility time.Duration
}

// rig is a ventilator with the extension, a worker, an event source with its mapping, and the
// tables and queues they use, in moto and one local Lambda environment.
type rig struct {
	t        *testing.T
	opt      rigOptions
	aws      aws.Config
	env      *lambdaenv.Env
	provider *provider
	out      *testkit.SyncBuffer
	baseEnv  []string
	store    *store.Store
	state    *controlstate.Store

	circuit, ventilator, worker string
	table, dedupTable           string
	dlqURL                      string
	sourceARN, sourceName       string
	queueURL                    string
	uuid                        string

	cancel  context.CancelFunc
	runCtx  context.Context
	wg      sync.WaitGroup
	pollers []*lambdaenv.Poller
	sched   *lambdaenv.Scheduler
	// lambdaURL is the Lambda API the ventilator uses: the environment's, or the fault proxy's.
	lambdaURL string
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newRig creates everything but starts no poller: send records, then call start.
func newRig(t *testing.T, opt rigOptions) *rig {
	t.Helper()
	if opt.Source == "" {
		opt.Source = kinesisSource
	}
	if opt.Shards == 0 {
		opt.Shards = 1
	}
	if opt.BatchSize == 0 {
		opt.BatchSize = 1
	}
	if opt.Pollers == 0 {
		opt.Pollers = 1
	}
	if opt.Ventilators == 0 {
		opt.Ventilators = 2
	}
	moto := mototest.Shared(t)
	n := seq.Add(1)
	r := &rig{
		t: t, opt: opt, aws: moto.AWSConfig(), provider: newProvider(t), out: &testkit.SyncBuffer{},
		circuit: fmt.Sprintf("provider-%d", n), ventilator: fmt.Sprintf("ventilator-%d", n), worker: fmt.Sprintf("worker-%d", n),
		table: fmt.Sprintf("breakerbox-e2e-%d", n), dedupTable: fmt.Sprintf("dedup-e2e-%d", n),
	}
	ctx := ctxT(t)
	db := dynamodb.NewFromConfig(r.aws)
	if err := store.CreateTable(ctx, db, r.table); err != nil {
		t.Fatal(err)
	}
	if err := dedup.CreateTable(ctx, db, r.dedupTable); err != nil {
		t.Fatal(err)
	}
	r.store = store.New(db, r.table, store.Options{Timeout: 20 * time.Second})
	r.state = controlstate.New(db, r.table, controlstate.Options{Timeout: 20 * time.Second})
	sq := sqs.NewFromConfig(r.aws)
	dlq, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(fmt.Sprintf("dlq-e2e-%d", n))})
	if err != nil {
		t.Fatal(err)
	}
	r.dlqURL = aws.ToString(dlq.QueueUrl)
	r.createSource(ctx, n)
	r.uuid, err = lambdaenv.CreateMapping(ctx, r.aws, lambdaenv.MappingInput{
		FunctionName: r.ventilator, EventSourceArn: r.sourceARN, BatchSize: opt.BatchSize, ReportBatchItemFailures: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.startEnv(moto.URL, moto.Env())
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			out := r.out.String()
			if len(out) > 30000 {
				out = "...\n" + out[len(out)-30000:]
			}
			t.Logf("ventilator output:\n%s", out)
		}
	})
	return r
}

func (r *rig) createSource(ctx context.Context, n int64) {
	r.t.Helper()
	switch r.opt.Source {
	case kinesisSource:
		r.sourceName = fmt.Sprintf("stream-e2e-%d", n)
		kc := kinesis.NewFromConfig(r.aws)
		if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(r.sourceName), ShardCount: aws.Int32(r.opt.Shards)}); err != nil {
			r.t.Fatal(err)
		}
		sum, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(r.sourceName)})
		if err != nil {
			r.t.Fatal(err)
		}
		r.sourceARN = aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	default:
		r.sourceName = fmt.Sprintf("queue-e2e-%d", n)
		// A short visibility timeout brings failed messages back quickly.
		attrs := map[string]string{"VisibilityTimeout": "1"}
		if r.opt.Visibility > 0 {
			attrs["VisibilityTimeout"] = strconv.Itoa(int(r.opt.Visibility.Seconds()))
		}
		if r.opt.Source == fifoSource {
			r.sourceName += ".fifo"
			attrs["FifoQueue"], attrs["ContentBasedDeduplication"] = "true", "true"
			// Longer than a batch takes on a loaded machine: a FIFO message must not show again
			// while its batch still runs, or moto hands out the group's later messages first (as
			// SQS would too, which is why Lambda asks for a visibility timeout of six times the
			// function's timeout).
			attrs["VisibilityTimeout"] = "10"
		}
		sq := sqs.NewFromConfig(r.aws)
		q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(r.sourceName), Attributes: attrs})
		if err != nil {
			r.t.Fatal(err)
		}
		r.queueURL = aws.ToString(q.QueueUrl)
		a, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			r.t.Fatal(err)
		}
		r.sourceARN = a.Attributes["QueueArn"]
	}
}

// startEnv starts the Lambda environment with the worker and the ventilator.
func (r *rig) startEnv(motoURL string, motoEnv []string) {
	r.t.Helper()
	env, err := lambdaenv.New(lambdaenv.Config{Upstream: motoURL, Output: r.out})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := env.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.env = env
	r.baseEnv = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "AWS_ENDPOINT_URL_LAMBDA=" + env.URL()}, motoEnv...)
	r.lambdaURL = env.URL()
	if r.opt.LambdaFault != nil {
		r.lambdaURL = r.faultProxy(env.URL())
	}
	for _, fc := range []lambdaenv.FunctionConfig{r.workerConfig(r.worker, nil), r.ventilatorConfig(r.ventilator, r.opt.Env)} {
		if _, err := env.AddFunction(fc); err != nil {
			r.t.Fatal(err)
		}
	}
}

// workerConfig is the worker function, calling the test's provider.
func (r *rig) workerConfig(name string, extra []string) lambdaenv.FunctionConfig {
	return lambdaenv.FunctionConfig{
		Name:               name,
		Command:            []string{workerBin},
		Env:                append(append(slices.Clone(r.baseEnv), "PROVIDER_URL="+r.provider.srv.URL, "PROVIDER_TIMEOUT=5s"), extra...),
		Timeout:            30 * time.Second,
		InitTimeout:        time.Minute,
		MaxConcurrency:     12 * r.opt.Ventilators,
		ManagedConcurrency: r.opt.Managed,
		Output:             r.out,
	}
}

// ventilatorConfig is the ventilator function with the extension, each sandbox's extension on its
// own port.
func (r *rig) ventilatorConfig(name string, extra []string) lambdaenv.FunctionConfig {
	env := append(slices.Clone(r.baseEnv),
		"BREAKERBOX_TABLE="+r.table,
		"BREAKERBOX_CIRCUIT="+r.circuit,
		"BREAKERBOX_CIRCUITS="+r.circuit,
		"BREAKERBOX_AUTH=none",
		"BREAKERBOX_STORE_TIMEOUT=20s",   // moto under -race on a busy machine is slow; the default is 500ms
		"BREAKERBOX_PUBLISH_TIMEOUT=20s", // and so is its PutEvents (default 2s)
		"BREAKERBOX_FLUSH_INTERVAL=100ms",
		"BREAKERBOX_CACHE_TTL=200ms",
		"WORKER_FUNCTION="+r.worker,
		"DEDUP_TABLE="+r.dedupTable,
		"DLQ_URL="+r.dlqURL,
		"INVOKE_TIMEOUT=10s",
		"AWS_CALL_TIMEOUT=20s",
		"MAX_BATCH=10",
		"AWS_ENDPOINT_URL_LAMBDA="+r.lambdaURL,
	)
	if r.opt.FindMapping {
		env = append(env, "EVENT_SOURCE_ARN="+r.sourceARN)
	} else {
		env = append(env, "ESM_UUID="+r.uuid)
	}
	return lambdaenv.FunctionConfig{
		Name:               name,
		Command:            []string{ventilatorBin},
		ExtensionsDir:      extensionsDir,
		Env:                append(env, extra...),
		SandboxEnv:         func(int) []string { return []string{"BREAKERBOX_PORT=" + strconv.Itoa(testkit.FreePort(r.t))} },
		Timeout:            2 * time.Minute, // above INVOKE_TIMEOUT + 2 × AWS_CALL_TIMEOUT
		InitTimeout:        time.Minute,
		ShutdownTimeout:    5 * time.Second,
		MaxConcurrency:     r.opt.Ventilators,
		ManagedConcurrency: r.opt.Managed,
		Output:             r.out,
	}
}

// start runs the pollers (and the scheduler) until the test ends.
func (r *rig) start() {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.runCtx = cancel, ctx
	for range r.opt.Pollers {
		p, err := lambdaenv.NewPoller(ctxT(r.t), lambdaenv.PollerConfig{
			AWS: r.aws, MappingUUID: r.uuid, Invoker: r.env, PollInterval: 100 * time.Millisecond, InvokeTimeout: 3 * time.Minute,
		})
		if err != nil {
			r.t.Fatal(err)
		}
		r.pollers = append(r.pollers, p)
		r.wg.Go(func() { _ = p.Run(ctx) })
	}
	if r.opt.WakeEvery > 0 {
		r.startWakeUps()
	}
	if r.opt.WakeOnEvent {
		r.startEventWakeUps()
	}
}

// startWakeUps starts the scheduler that fires the wake-up rule rate(10 minutes), compressed to
// WakeEvery (start does it unless WakeEvery is 0; tests that want the wake-ups later call it then).
func (r *rig) startWakeUps() {
	r.t.Helper()
	every := r.opt.WakeEvery
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	s, err := lambdaenv.NewScheduler(lambdaenv.SchedulerConfig{
		Invoker: r.env, Speedup: float64(10*time.Minute) / float64(every),
		Rules: []lambdaenv.ScheduleRule{{Name: "wake-" + r.ventilator, Schedule: "rate(10 minutes)", Function: r.ventilator}},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.sched = s
	r.wg.Go(func() { _ = s.Run(r.runCtx) })
}

// stop ends the pollers and scheduler, then shuts the environment down.
func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.env.Close(ctx); err != nil {
		r.t.Errorf("close the Lambda environment: %v", err)
	}
}

// record is a record's JSON with an id.
func record(id string) string { return `{"id":"` + id + `","sku":"A-1"}` }

// put adds records to the stream (each its own partition key) or the queue; group is the FIFO
// message group.
func (r *rig) put(group string, bodies ...string) {
	r.t.Helper()
	ctx := ctxT(r.t)
	for i, b := range bodies {
		var err error
		if r.opt.Source == kinesisSource {
			_, err = kinesis.NewFromConfig(r.aws).PutRecord(ctx, &kinesis.PutRecordInput{
				StreamARN: aws.String(r.sourceARN), Data: []byte(b), PartitionKey: aws.String(fmt.Sprintf("pk-%d-%d", time.Now().UnixNano(), i)),
			})
		} else {
			in := &sqs.SendMessageInput{QueueUrl: aws.String(r.queueURL), MessageBody: aws.String(b)}
			if r.opt.Source == fifoSource {
				in.MessageGroupId = aws.String(group)
			}
			_, err = sqs.NewFromConfig(r.aws).SendMessage(ctx, in)
		}
		if err != nil {
			r.t.Fatal(err)
		}
	}
}

// mapping reads the event source mapping from moto's Lambda API.
func (r *rig) mapping() (batchSize int, state string) {
	r.t.Helper()
	out, err := lambda.NewFromConfig(r.aws).GetEventSourceMapping(ctxT(r.t), &lambda.GetEventSourceMappingInput{UUID: aws.String(r.uuid)})
	if err != nil {
		r.t.Fatal(err)
	}
	return int(aws.ToInt32(out.BatchSize)), aws.ToString(out.State)
}

func (r *rig) controller() controlstate.Snapshot {
	r.t.Helper()
	s, err := r.state.Get(ctxT(r.t), r.uuid)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// circuitState reads the circuit from the table ("" when it does not exist yet).
func (r *rig) circuitState() circuit.Circuit {
	r.t.Helper()
	c, err := r.store.Get(ctxT(r.t), r.circuit)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		r.t.Fatal(err)
	}
	return c
}

// patience bounds every wait on the system under test: generous, since the machine may be busy
// (a second make test beside this one), and above the ventilator's 2-minute function timeout, so an
// invoke still running when a wait starts has ended before it gives up.
const patience = 3 * time.Minute

// eventually waits for cond, failing the test after patience.
func (r *rig) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eventuallySucceeded waits until the provider has answered a success for every id.
func (r *rig) eventuallySucceeded(ids []string) {
	r.t.Helper()
	r.eventually("every record succeeded", func() bool {
		for _, id := range ids {
			if r.provider.successesOf(id) == 0 {
				return false
			}
		}
		return true
	})
}

// firstReEnable waits for the first wake-up that re-enabled the mapping and returns its log line.
func (r *rig) firstReEnable() map[string]any {
	r.t.Helper()
	var resumed []map[string]any
	r.eventually("a wake-up logged the re-enable", func() bool {
		resumed = r.logLines(map[string]any{"msg": "wake-up: mapping re-enabled"})
		return len(resumed) > 0
	})
	return resumed[0]
}

// wake invokes the ventilator with a scheduled event, as the EventBridge rule does.
func (r *rig) wake() handler.WakeResult {
	r.t.Helper()
	res, err := r.env.Invoke(ctxT(r.t), r.ventilator, []byte(`{"version":"0","id":"e2e","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/wake"],"detail":{}}`))
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		r.t.Fatalf("wake-up: %v", err)
	}
	var w handler.WakeResult
	if err := json.Unmarshal(res.Payload, &w); err != nil {
		r.t.Fatalf("wake-up answer %s: %v", res.Payload, err)
	}
	return w
}

// deadLetters receives every message of the dead-letter queue so far, as JSON maps.
func (r *rig) deadLetters() []map[string]any {
	r.t.Helper()
	sq := sqs.NewFromConfig(r.aws)
	var all []map[string]any
	for {
		out, err := sq.ReceiveMessage(ctxT(r.t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(r.dlqURL), MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		if err != nil {
			r.t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		for _, m := range out.Messages {
			var l map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &l); err != nil {
				r.t.Fatalf("dead letter %s: %v", aws.ToString(m.Body), err)
			}
			all = append(all, l)
		}
	}
}

// logLines returns the ventilator's JSON output lines (logs and EMF) that have all the given
// key/values.
func (r *rig) logLines(match map[string]any) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.out.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.IndexByte(line, '{')
		if i < 0 || !strings.Contains(line, "["+r.ventilator) {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line[i:]), &m) != nil {
			continue
		}
		ok := true
		for k, v := range match {
			if m[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// metrics returns the EMF lines the ventilator wrote.
func (r *rig) metrics() []map[string]any {
	var out []map[string]any
	for _, l := range r.logLines(nil) {
		if _, ok := l["_aws"]; ok {
			out = append(out, l)
		}
	}
	return out
}

// polled sums the pollers' stats.
func (r *rig) polled() lambdaenv.PollerStats {
	var s lambdaenv.PollerStats
	for _, p := range r.pollers {
		ps := p.Stats()
		s.Batches += ps.Batches
		s.Records += ps.Records
		s.Succeeded += ps.Succeeded
		s.Failures += ps.Failures
		s.FunctionErrors += ps.FunctionErrors
	}
	return s
}
