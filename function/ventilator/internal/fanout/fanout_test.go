package fanout_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/fanout"
)

// fakeLambda serves the Invoke API: the payload says what the worker does.
func fakeLambda(t *testing.T) (*lambda.Client, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/worker/invocations" {
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch string(body) {
		case `"ok"`:
			_, _ = w.Write([]byte(`{"ok":true}`))
		case `"fail"`:
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = w.Write([]byte(`{"errorType":"errorString","errorMessage":"provider said 503"}`))
		case `"hang"`:
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			http.Error(w, "bad payload", http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	c := lambda.New(lambda.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	return c, &calls
}

func TestCall(t *testing.T) {
	api, _ := fakeLambda(t)
	c := fanout.NewCaller(api, "worker", 300*time.Millisecond, nil)
	ctx := context.Background()

	if o := c.Call(ctx, []byte(`"ok"`)); !o.OK || o.Err != nil || string(o.Payload) != `{"ok":true}` || o.Latency <= 0 {
		t.Errorf("ok call = %+v", o)
	}
	o := c.Call(ctx, []byte(`"fail"`))
	if o.OK || o.Err == nil || !strings.Contains(o.Err.Error(), "function error Unhandled: errorString: provider said 503") {
		t.Errorf("failed call = %+v", o)
	}
	o = c.Call(ctx, []byte(`"hang"`))
	if o.OK || !errors.Is(o.Err, fanout.ErrTimeout) || o.Latency < 300*time.Millisecond {
		t.Errorf("hung call = %+v, want a timeout after 300ms", o)
	}
	o = c.Call(ctx, []byte(`"other"`))
	if o.OK || o.Err == nil || errors.Is(o.Err, fanout.ErrTimeout) {
		t.Errorf("rejected call = %+v", o)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if o := c.Call(cancelled, []byte(`"ok"`)); o.OK || errors.Is(o.Err, fanout.ErrTimeout) || !errors.Is(o.Err, context.Canceled) {
		t.Errorf("call with a cancelled context = %+v", o)
	}
}

func TestRunBoundsConcurrency(t *testing.T) {
	items := make([]int, 40)
	var running, most, done atomic.Int32
	fanout.Run(context.Background(), items, 3, func(_ context.Context, i int, _ int) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		done.Add(1)
	})
	if done.Load() != 40 || most.Load() > 3 || most.Load() < 1 {
		t.Fatalf("%d items done, at most %d at once; want 40 with at most 3", done.Load(), most.Load())
	}
	fanout.Run(context.Background(), []int{1}, 0, func(context.Context, int, int) { done.Add(1) })
	fanout.Run(context.Background(), nil, 5, func(context.Context, int, int) { t.Error("work on no item") })
	if done.Load() != 41 {
		t.Fatal("a concurrency of 0 runs nothing")
	}
}

func TestRunPacedFollowsTheLimit(t *testing.T) {
	// The limit starts at 4 and falls to 1 after the fourth completion: from then on at most one
	// call is in flight, however many were before.
	items := make([]int, 30)
	var mu sync.Mutex
	limit, running, most, completed, afterCut := 4, 0, 0, 0, 0
	started := fanout.RunPaced(context.Background(), items, func() int {
		mu.Lock()
		defer mu.Unlock()
		return limit
	}, func(_ context.Context, i int, _ int) {
		mu.Lock()
		running++
		most = max(most, running)
		if completed >= 4+3 { // the calls in flight at the cut have drained
			afterCut = max(afterCut, running)
		}
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		completed++
		if completed == 4 {
			limit = 1
		}
		mu.Unlock()
	})
	if started != 30 || completed != 30 {
		t.Fatalf("started %d, completed %d; want 30", started, completed)
	}
	if most != 4 || afterCut != 1 {
		t.Fatalf("at most %d in flight, %d after the cut; want 4 then 1", most, afterCut)
	}
}

func TestRunPacedStopsAtZero(t *testing.T) {
	var n atomic.Int32
	started := fanout.RunPaced(context.Background(), make([]int, 10), func() int {
		if n.Load() >= 3 {
			return 0
		}
		return 2
	}, func(context.Context, int, int) { n.Add(1) })
	if started < 3 || started > 4 || int(n.Load()) != started {
		t.Fatalf("started %d, ran %d; want 3 or 4 started (2 may be in flight when the third ends) and all of them run", started, n.Load())
	}
}
