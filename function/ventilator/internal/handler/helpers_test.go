package handler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/controlstate"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/deadletter"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/dedup"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/emf"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// fakeBreaker is the extension: a fixed grant and circuit view, and the reports it got.
type fakeBreaker struct {
	mu         sync.Mutex
	grant      client.Decision
	acquireErr error
	view       client.Circuit
	viewErr    error
	acquires   int
	reports    [][]client.Outcome
}

func (b *fakeBreaker) AcquireBatch(context.Context, string) (client.Decision, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.acquires++
	return b.grant, b.acquireErr
}

func (b *fakeBreaker) Report(_ context.Context, _ string, o ...client.Outcome) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reports = append(b.reports, o)
	return nil
}

func (b *fakeBreaker) State(context.Context, string) (client.Circuit, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.view, b.viewErr
}

func (b *fakeBreaker) outcomes() []client.Outcome {
	b.mu.Lock()
	defer b.mu.Unlock()
	var all []client.Outcome
	for _, r := range b.reports {
		all = append(all, r...)
	}
	return all
}

// fakeMapping is an event source mapping.
type fakeMapping struct {
	mu        sync.Mutex
	batchSize int
	enabled   bool
	applies   []applied
	err       error
}

type applied struct {
	want  mapping.Want
	fresh bool
}

func (m *fakeMapping) UUID(context.Context) (string, error) { return "m-1", nil }

func (m *fakeMapping) Apply(_ context.Context, want mapping.Want, fresh bool) (mapping.Applied, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applies = append(m.applies, applied{want, fresh})
	if m.err != nil {
		return mapping.Applied{}, m.err
	}
	before := mapping.Config{UUID: "m-1", BatchSize: m.batchSize, Enabled: m.enabled}
	if want.BatchSize != 0 {
		m.batchSize = want.BatchSize
	}
	if want.Enabled != mapping.Keep {
		m.enabled = want.Enabled == mapping.Enable
	}
	after := mapping.Config{UUID: "m-1", BatchSize: m.batchSize, Enabled: m.enabled}
	return mapping.Applied{Before: before, After: after, Changed: before != after}, nil
}

func (m *fakeMapping) get() (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.batchSize, m.enabled
}

// fakeWorker runs behave for each payload; it counts calls per record id and the most calls at once.
type fakeWorker struct {
	behave func(id string) fanout.Outcome
	// behaveCtx, when set, is used instead of behave and sees the call's context.
	behaveCtx func(ctx context.Context, id string) fanout.Outcome
	mu        sync.Mutex
	calls     map[string]int
	order     []string
	running   atomic.Int32
	most      atomic.Int32
}

func (w *fakeWorker) Call(ctx context.Context, payload []byte) fanout.Outcome {
	n := w.running.Add(1)
	defer w.running.Add(-1)
	for m := w.most.Load(); n > m && !w.most.CompareAndSwap(m, n); m = w.most.Load() {
	}
	var rec struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(payload, &rec)
	w.mu.Lock()
	if w.calls == nil {
		w.calls = map[string]int{}
	}
	w.calls[rec.ID]++
	w.order = append(w.order, rec.ID)
	w.mu.Unlock()
	time.Sleep(3 * time.Millisecond)
	if w.behaveCtx != nil {
		return w.behaveCtx(ctx, rec.ID)
	}
	if w.behave == nil {
		return fanout.Outcome{OK: true, Latency: 20 * time.Millisecond}
	}
	return w.behave(rec.ID)
}

func (w *fakeWorker) count(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[id]
}

func (w *fakeWorker) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.order)
}

func ok(time.Duration) fanout.Outcome {
	return fanout.Outcome{OK: true, Latency: 20 * time.Millisecond}
}

func fail(string) fanout.Outcome {
	return fanout.Outcome{Latency: 30 * time.Millisecond, Err: errors.New("invoke worker: function error Unhandled: HTTP 503")}
}

// fakeDLQ collects letters.
type fakeDLQ struct {
	mu      sync.Mutex
	letters []deadletter.Letter
	err     error
}

func (q *fakeDLQ) Send(_ context.Context, l deadletter.Letter) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.letters = append(q.letters, l)
	return nil
}

func (q *fakeDLQ) all() []deadletter.Letter {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]deadletter.Letter(nil), q.letters...)
}

// lockedBuffer is a concurrency-safe buffer for the EMF lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("EMF line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// rig is a Handler with real dedup and controller state tables in moto and fakes for the rest.
type rig struct {
	t       *testing.T
	h       *Handler
	cfg     config.Config
	breaker *fakeBreaker
	mapping *fakeMapping
	worker  *fakeWorker
	dlq     *fakeDLQ
	dedup   *dedup.Table
	state   *controlstate.Store
	emf     *lockedBuffer
	logs    *lockedBuffer
	now     time.Time
}

var tableSeq atomic.Int64

func newRig(t *testing.T, edit func(*config.Config)) *rig {
	t.Helper()
	db := dynamodb.NewFromConfig(mototest.Shared(t).AWSConfig())
	n := tableSeq.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	circuitTable, dedupTable := fmt.Sprintf("handler-circuits-%d", n), fmt.Sprintf("handler-dedup-%d", n)
	if err := store.CreateTable(ctx, db, circuitTable); err != nil {
		t.Fatal(err)
	}
	if err := dedup.CreateTable(ctx, db, dedupTable); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{
		Circuit: "inventory", Table: circuitTable, WorkerFunction: "worker", DedupTable: dedupTable, DLQURL: "http://dlq",
		MaxAttempts: 3, InvokeTimeout: 5 * time.Second, AWSTimeout: 20 * time.Second, DedupTTL: 48 * time.Hour,
		ESMUUID: "m-1", Adaptive: adaptive.DefaultConfig(),
	}
	// The handler's tests follow aimd's simple +1 steps; the policies are tested in internal/adaptive.
	cfg.Adaptive.Policy = adaptive.PolicyAIMD
	if edit != nil {
		edit(&cfg)
	}
	ctrl, err := adaptive.New(cfg.Adaptive)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{
		t: t, cfg: cfg, now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC),
		breaker: &fakeBreaker{grant: client.Decision{Allowed: true, State: StateClosed}, view: client.Circuit{State: StateClosed, Allowed: true}},
		mapping: &fakeMapping{batchSize: 1, enabled: true},
		worker:  &fakeWorker{},
		dlq:     &fakeDLQ{},
		emf:     &lockedBuffer{},
		logs:    &lockedBuffer{},
	}
	clock := func() time.Time { return r.now }
	r.dedup = dedup.New(db, dedupTable, dedup.Options{Lease: cfg.ClaimLease(), TTL: cfg.DedupTTL, Timeout: cfg.AWSTimeout, Now: clock})
	r.state = controlstate.New(db, circuitTable, controlstate.Options{Timeout: cfg.AWSTimeout, Now: clock})
	h, err := New(cfg, Deps{
		Breaker: r.breaker, Dedup: r.dedup, State: r.state, Mapping: r.mapping, Worker: r.worker, DLQ: r.dlq,
		Metrics: emf.New(r.emf, clock), Controller: ctrl, Now: clock, Log: slog.New(slog.NewJSONHandler(r.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.h = h
	return r
}

// logLines are the handler's structured logs so far.
func (r *rig) logLines(t *testing.T) []map[string]any { return r.logs.lines(t) }

func (r *rig) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	r.t.Cleanup(cancel)
	return ctx
}

// invoke runs one event and returns the item identifiers to retry.
func (r *rig) invoke(event []byte) []string {
	r.t.Helper()
	out, err := r.h.Invoke(r.ctx(), event)
	if err != nil {
		r.t.Fatalf("invoke: %v", err)
	}
	resp, ok := out.(Response)
	if !ok {
		r.t.Fatalf("invoke answered %T, want a Response", out)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func (r *rig) wake() WakeResult {
	r.t.Helper()
	out, err := r.h.Invoke(r.ctx(), []byte(`{"version":"0","id":"e","detail-type":"Scheduled Event","source":"aws.events","resources":["arn:aws:events:us-east-1:123456789012:rule/wake"],"detail":{}}`))
	if err != nil {
		r.t.Fatalf("wake-up: %v", err)
	}
	return out.(WakeResult)
}

func (r *rig) controller() adaptive.State {
	r.t.Helper()
	snap, err := r.state.Get(r.ctx(), "m-1")
	if err != nil {
		r.t.Fatal(err)
	}
	return snap.State
}

func (r *rig) setController(s adaptive.State) {
	r.t.Helper()
	snap, err := r.state.Get(r.ctx(), "m-1")
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.state.UpdateFrom(r.ctx(), "m-1", snap, func(adaptive.State) (adaptive.State, adaptive.Decision) {
		return s, adaptive.Decision{}
	}); err != nil {
		r.t.Fatal(err)
	}
}

// kinesisEvent builds a Kinesis batch whose records carry the given payloads (sequence numbers
// 1000, 1001, ...).
func kinesisEvent(payloads ...string) []byte {
	var recs []string
	for i, p := range payloads {
		recs = append(recs, fmt.Sprintf(`{"eventSource":"aws:kinesis","eventID":"shardId-000000000000:%d","eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/s",
			"kinesis":{"partitionKey":"p","sequenceNumber":"%d","data":"%s","approximateArrivalTimestamp":1772618400.5}}`,
			1000+i, 1000+i, base64.StdEncoding.EncodeToString([]byte(p))))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

// sqsMessage is one message of an SQS batch.
type sqsMessage struct{ id, body, group string }

func sqsEvent(msgs ...sqsMessage) []byte {
	var recs []string
	for _, m := range msgs {
		attrs := `"SentTimestamp":"1772618400500","ApproximateReceiveCount":"1"`
		arn := "arn:aws:sqs:us-east-1:123456789012:q"
		if m.group != "" {
			attrs += `,"MessageGroupId":"` + m.group + `"`
			arn += ".fifo"
		}
		body, _ := json.Marshal(m.body)
		recs = append(recs, fmt.Sprintf(`{"eventSource":"aws:sqs","messageId":"%s","receiptHandle":"rh","body":%s,"attributes":{%s},"eventSourceARN":"%s"}`, m.id, body, attrs, arn))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

func rec(id string) string { return `{"id":"` + id + `","sku":"A-1"}` }
