// Package feeder puts the demo's records on the Kinesis stream at a steady rate: JSON orders
// {"id":"order-N",...}, each id once. A record counts as fed only once Kinesis has accepted it.
package feeder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Kinesis is the part of the Kinesis client the feeder uses.
type Kinesis interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Config configures a Feeder.
type Config struct {
	// Client puts the records; StreamARN is the stream they go to.
	Client    Kinesis
	StreamARN string
	// Rate is records per second, more than 0.
	Rate float64
	// Tick is how often due records are sent in one PutRecords; default 200ms.
	Tick time.Duration
	// Timeout bounds each PutRecords call; default 10s.
	Timeout time.Duration
	// Logger receives failures; default: discarded.
	Logger *slog.Logger
	// Now is the clock the rate is kept by; default time.Now. (Tick stays on the real clock: it only
	// says how often the feeder looks.)
	Now func() time.Time
}

// Order is one record's body.
type Order struct {
	// ID is "order-N", unique per run: the record id the ventilator deduplicates on.
	ID string `json:"id"`
	// Amount, Currency and Created make it look like an order.
	Amount   int    `json:"amountCents"`
	Currency string `json:"currency"`
	Created  string `json:"createdAt"`
}

// Feeder sends records.
type Feeder struct {
	cfg Config

	mu   sync.Mutex
	next int      // number of the next new record
	ids  []string // accepted ids, in order
	errs int
}

// New validates cfg and returns a Feeder.
func New(cfg Config) (*Feeder, error) {
	if cfg.Client == nil || cfg.StreamARN == "" {
		return nil, errors.New("feeder: a Kinesis client and a stream ARN are required")
	}
	if cfg.Rate <= 0 {
		return nil, fmt.Errorf("feeder: rate %v: want more than 0 records per second", cfg.Rate)
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 200 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Feeder{cfg: cfg, next: 1}, nil
}

// Fed returns the number of records Kinesis accepted.
func (f *Feeder) Fed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids)
}

// IDs returns the accepted ids, in the order they were fed.
func (f *Feeder) IDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids...)
}

// Errors counts failed PutRecords calls and rejected records (they are sent again).
func (f *Feeder) Errors() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs
}

// Run sends records at the configured rate until ctx ends, then returns nil. Records Kinesis rejects
// are sent again at the next tick, under the same id. A call in flight when ctx ends is not cut
// short (its records might be accepted without the feeder knowing), and records waiting to be sent
// again get one last try.
func (f *Feeder) Run(ctx context.Context) error {
	start := f.cfg.Now()
	t := time.NewTicker(f.cfg.Tick)
	defer t.Stop()
	var retry []string
	for {
		select {
		case <-ctx.Done():
			if len(retry) > 0 {
				f.put(ctx, retry)
			}
			return nil
		case <-t.C:
		}
		due := int(f.cfg.Now().Sub(start).Seconds()*f.cfg.Rate) - (f.nextNumber() - 1)
		batch := retry
		for range max(due, 0) {
			batch = append(batch, f.newID())
		}
		retry = nil
		for len(batch) > 0 && ctx.Err() == nil {
			n := min(len(batch), 500) // PutRecords' limit
			retry = append(retry, f.put(ctx, batch[:n])...)
			batch = batch[n:]
		}
	}
}

func (f *Feeder) nextNumber() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.next
}

func (f *Feeder) newID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "order-" + strconv.Itoa(f.next)
	f.next++
	return id
}

// put sends ids in one PutRecords and returns those that were not accepted.
func (f *Feeder) put(ctx context.Context, ids []string) []string {
	entries := make([]types.PutRecordsRequestEntry, len(ids))
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i, id := range ids {
		n, _ := strconv.Atoi(id[len("order-"):])
		data, _ := json.Marshal(Order{ID: id, Amount: 100 + (n*37)%9900, Currency: "EUR", Created: now})
		entries[i] = types.PutRecordsRequestEntry{Data: data, PartitionKey: aws.String(id)}
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.Timeout)
	defer cancel()
	out, err := f.cfg.Client.PutRecords(cctx, &kinesis.PutRecordsInput{StreamARN: aws.String(f.cfg.StreamARN), Records: entries})
	if err != nil {
		f.mu.Lock()
		f.errs++
		f.mu.Unlock()
		f.cfg.Logger.Warn("put records failed: they will be sent again", "records", len(ids), "error", err.Error())
		return ids
	}
	var failed []string
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range out.Records {
		if i >= len(ids) {
			break
		}
		if r.ErrorCode != nil {
			failed = append(failed, ids[i])
			f.errs++
			continue
		}
		f.ids = append(f.ids, ids[i])
	}
	if len(out.Records) < len(ids) {
		failed = append(failed, ids[len(out.Records):]...)
	}
	return failed
}
