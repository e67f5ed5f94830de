package e2e

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/circuit"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/motoserver"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

var tableSeq atomic.Int64

// rig is one function with the extension, in its own Env, on its own table.
type rig struct {
	t     *testing.T
	env   *lambdaenv.Env
	fn    *lambdaenv.Function
	store *store.Store
	table string
	token string
	out   *testkit.SyncBuffer
	ports sync.Map // sandbox index → port
}

type rigOptions struct {
	// Env is added to the function's environment (KEY=VALUE), after the defaults.
	Env []string
	// Managed runs the Lambda Managed Instances model: one environment serving this many
	// invocations at once.
	Managed int
	// Moto is the server to use (default: the shared one).
	Moto           *motoserver.Server
	Freeze         bool
	MaxConcurrency int
	// Table is an existing table to share with another rig (default: a fresh one).
	Table string
	// Timeout is the function timeout (default 2 minutes).
	Timeout time.Duration
}

func newRig(t *testing.T, opt rigOptions) *rig {
	t.Helper()
	srv := opt.Moto
	if srv == nil {
		srv = mototest.Shared(t)
	}
	r := &rig{t: t, out: &testkit.SyncBuffer{}, token: "e2e-" + rand.Text()}
	r.table = opt.Table
	db := dynamodb.NewFromConfig(srv.AWSConfig())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r.table == "" {
		r.table = fmt.Sprintf("e2e-%d-%d", os.Getpid(), tableSeq.Add(1))
		if err := store.CreateTable(ctx, db, r.table); err != nil {
			t.Fatalf("create table: %v", err)
		}
	}
	r.store = store.New(db, r.table, store.Options{Timeout: 10 * time.Second})

	env, err := lambdaenv.New(lambdaenv.Config{Output: r.out})
	if err != nil {
		t.Fatal(err)
	}
	r.env = env
	fnEnv := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"BREAKERBOX_TABLE=" + r.table,
		"AWS_SESSION_TOKEN=" + r.token,
		"BREAKERBOX_STORE_TIMEOUT=10s", // moto under -race on a busy machine is slow; the default is 500ms
		// and so is its PutEvents (default 2s): a call that times out after moto took the event
		// leaves it in the outbox too, to be published again by the next writer.
		"BREAKERBOX_PUBLISH_TIMEOUT=10s",
		"BREAKERBOX_FLUSH_INTERVAL=100ms",
		"BREAKERBOX_LOG_LEVEL=debug",
	}, srv.Env()...)
	fnEnv = append(fnEnv, opt.Env...)
	maxConc := opt.MaxConcurrency
	switch {
	case maxConc == 0 && opt.Managed > 0:
		maxConc = 1
	case maxConc == 0:
		maxConc = 3
	}
	r.fn, err = env.AddFunction(lambdaenv.FunctionConfig{
		Name:          "orders",
		Command:       []string{runtimePath},
		ExtensionsDir: extensionsDir,
		Env:           fnEnv,
		SandboxEnv: func(i int) []string {
			p := testkit.FreePort(t)
			r.ports.Store(i, p)
			return []string{"BREAKERBOX_PORT=" + strconv.Itoa(p), "E2E_SANDBOX=" + strconv.Itoa(i)}
		},
		Timeout:            cmp.Or(opt.Timeout, 2*time.Minute),
		InitTimeout:        time.Minute,
		ShutdownTimeout:    5 * time.Second,
		Freeze:             opt.Freeze,
		MaxConcurrency:     maxConc,
		ManagedConcurrency: opt.Managed,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.close()
		if t.Failed() {
			out := r.out.String()
			if len(out) > 20000 {
				out = "...\n" + out[len(out)-20000:]
			}
			t.Logf("process output:\n%s", out)
		}
	})
	return r
}

// close shuts the Env down (SHUTDOWN to every sandbox); it is idempotent.
func (r *rig) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.env.Close(ctx); err != nil {
		r.t.Errorf("close the Lambda environment: %v", err)
	}
}

// invoke runs the steps in one invoke and returns the reply; a failed invoke fails the test.
func (r *rig) invoke(steps ...step) runtimeReply {
	r.t.Helper()
	res, err := r.invokeRaw(steps...)
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

// listenAttempts is how many inits invokeRaw tries when the extension's port was taken (see
// invokeRaw).
const listenAttempts = 3

func (r *rig) invokeRaw(steps ...step) (runtimeReply, error) {
	payload, _ := json.Marshal(runtimeRequest{Steps: steps})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var res lambdaenv.Result
	for attempt := 1; ; attempt++ {
		var err error
		res, err = r.fn.Invoke(ctx, payload)
		if err != nil {
			return runtimeReply{}, fmt.Errorf("invoke: %w", err)
		}
		// The sandbox's port is chosen free (SandboxEnv) and bound by the extension a moment later,
		// seconds on a loaded machine; any program binding port 0 meanwhile (a second make test,
		// make demo) may be given it, and the extension then fails its init with
		// Extension.ListenFailed. That is the rig's doing, not the extension's: as in Lambda, the
		// next invoke initialises the sandbox again, and SandboxEnv picks another port.
		if ierr := res.Err(); ierr != nil && strings.Contains(ierr.Error(), "Extension.ListenFailed") && attempt < listenAttempts {
			r.t.Logf("the extension's port was taken before it bound it; initialising again: %v", ierr)
			continue
		}
		break
	}
	if err := res.Err(); err != nil {
		return runtimeReply{}, fmt.Errorf("invoke failed: %w", err)
	}
	var reply runtimeReply
	if err := json.Unmarshal(res.Payload, &reply); err != nil {
		return runtimeReply{}, fmt.Errorf("runtime reply %s: %w", res.Payload, err)
	}
	if len(reply.Results) != len(steps) {
		return reply, fmt.Errorf("runtime answered %d results for %d steps", len(reply.Results), len(steps))
	}
	return reply, nil
}

// put writes a circuit item (version 1 unless set).
func (r *rig) put(c circuit.Circuit) {
	r.t.Helper()
	if c.Version == 0 {
		c.Version = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.store.Put(ctx, c); err != nil {
		r.t.Fatal(err)
	}
}

// get reads a circuit item with a consistent read.
func (r *rig) get(id string) (circuit.Circuit, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return r.store.GetConsistent(ctx, id)
}

// get is a GET step with the token.
func get(path string) step { return step{Method: "GET", Path: path} }

// post is a POST step with the token.
func post(path, body string) step { return step{Method: "POST", Path: path, Body: body} }

// decode unmarshals a result's body, failing the test on a transport error or bad JSON.
func decode[T any](t *testing.T, res stepResult) T {
	t.Helper()
	var v T
	if res.Err != "" && len(res.Body) == 0 {
		t.Fatalf("step failed: %s", res.Err)
	}
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Fatalf("decode %s (status %d, text %q): %v", res.Body, res.Status, res.Text, err)
	}
	return v
}

// view is the circuit view as JSON.
type view struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Allowed  bool   `json:"allowed"`
	Since    string `json:"since"`
	RetryAt  string `json:"retryAt"`
	Reason   string `json:"reason"`
	Version  int64  `json:"version"`
	Override string `json:"override"`
	Stale    bool   `json:"stale"`
	AgeMs    int64  `json:"ageMs"`
}

type decision struct {
	Allowed bool   `json:"allowed"`
	State   string `json:"state"`
	Permit  string `json:"permit"`
	RetryAt string `json:"retryAt"`
	Stale   bool   `json:"stale"`
	Reason  string `json:"reason"`
}

type stats struct {
	CacheHits        int64 `json:"cacheHits"`
	CacheMisses      int64 `json:"cacheMisses"`
	StoreReads       int64 `json:"storeReads"`
	StoreErrors      int64 `json:"storeErrors"`
	StoreWrites      int64 `json:"storeWrites"`
	StaleAnswers     int64 `json:"staleAnswers"`
	Flushes          int64 `json:"flushes"`
	OutcomesReceived int64 `json:"outcomesReceived"`
	OutcomesBuffered int64 `json:"outcomesBuffered"`
	CallsUnderWay    int   `json:"callsUnderWay"`
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errorCode returns the error code of an error answer.
func errorCode(t *testing.T, res stepResult) string {
	t.Helper()
	e := decode[apiError](t, res)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error document: %s", res.Body)
	}
	return e.Error.Code
}

// waitFor polls cond every 200ms for at most d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
