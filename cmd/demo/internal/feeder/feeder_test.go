package feeder

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// fakeKinesis accepts records, rejecting every third one once and failing every fifth call.
type fakeKinesis struct {
	mu       sync.Mutex
	calls    int
	accepted []string
	rejected map[string]bool
}

func (f *fakeKinesis) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls%5 == 0 {
		return nil, errors.New("throttled")
	}
	out := &kinesis.PutRecordsOutput{}
	for i, e := range in.Records {
		var o Order
		if err := json.Unmarshal(e.Data, &o); err != nil || o.ID == "" || aws.ToString(e.PartitionKey) != o.ID {
			return nil, errors.New("bad record")
		}
		if (len(f.accepted)+i)%3 == 0 && !f.rejected[o.ID] {
			f.rejected[o.ID] = true
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException")})
			continue
		}
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: aws.String("1")})
		f.accepted = append(f.accepted, o.ID)
	}
	return out, nil
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	reads int
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.now
}

func (c *fakeClock) readCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// The feeder feeds what its clock says is due at the rate, no more, and sends rejected records and
// failed calls again until Kinesis has them all, each id once. The test moves the feeder's clock and
// waits on what the feeder did, so a loaded machine changes how long it takes, not what it sees.
func TestFeedsAtRateAndResendsRejected(t *testing.T) {
	k := &fakeKinesis{rejected: map[string]bool{}}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f, err := New(Config{Client: k, StreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/orders", Rate: 100, Tick: 20 * time.Millisecond, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	// The clock moves only once Run has taken its start time and looked once more (a tick).
	for deadline := time.Now().Add(time.Minute); clock.readCount() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the feeder never read its clock")
		}
	}

	for _, want := range []int{25, 50} {
		clock.advance(250 * time.Millisecond) // 25 more records due at 100/s
		for deadline := time.Now().Add(time.Minute); f.Fed() < want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d records fed, want %d due after %d ms at 100/s", f.Fed(), want, want*10)
			}
		}
		// Nothing more is due until the clock moves: a few more ticks feed nothing.
		for range 3 {
			time.Sleep(20 * time.Millisecond)
		}
		if got := f.Fed(); got != want {
			t.Fatalf("%d records fed, want exactly the %d due", got, want)
		}
	}
	cancel()
	<-done
	ids := f.IDs()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("id %s fed twice", id)
		}
		seen[id] = true
	}
	if f.Errors() == 0 {
		t.Error("no error counted though some calls failed and some records were rejected")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.accepted) != len(ids) {
		t.Errorf("Kinesis accepted %d records, the feeder counts %d", len(k.accepted), len(ids))
	}
	// Every id up to the last was accepted, the rejected ones after their resend.
	for i := 1; i <= len(ids); i++ {
		if !seen["order-"+itoa(i)] {
			t.Errorf("order-%d never fed: rejected records are not resent", i)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no client accepted")
	}
	if _, err := New(Config{Client: &fakeKinesis{}, StreamARN: "x", Rate: 0}); err == nil {
		t.Error("rate 0 accepted")
	}
}

// slowKinesis accepts everything after a delay.
type slowKinesis struct {
	mu       sync.Mutex
	accepted int
	started  chan struct{}
}

func (s *slowKinesis) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted += len(in.Records)
	out := &kinesis.PutRecordsOutput{}
	for range in.Records {
		out.Records = append(out.Records, types.PutRecordsResultEntry{SequenceNumber: aws.String("1")})
	}
	return out, nil
}

// A call in flight when the feeder is stopped must finish, so that every record Kinesis took is
// counted as fed.
func TestStopDoesNotCutACallShort(t *testing.T) {
	k := &slowKinesis{started: make(chan struct{}, 1)}
	f, err := New(Config{Client: k, StreamARN: "arn:aws:kinesis:us-east-1:123456789012:stream/orders", Rate: 50, Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	<-k.started
	cancel()
	<-done
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.accepted == 0 || f.Fed() != k.accepted {
		t.Errorf("Kinesis accepted %d records, the feeder counts %d", k.accepted, f.Fed())
	}
}
