package underrie

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/rie"
	"github.com/breakerbox/breakerbox/internal/store"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

// patience bounds every wait on progress in these tests: generous, for a loaded machine.
const patience = 2 * time.Minute

var tableSeq atomic.Int64

// rig is one emulator running the real extension and the test function, and the table they use.
type rig struct {
	t     *testing.T
	emu   *rie.Emulator
	store *store.Store
	table string
}

// newRig creates a table in the shared moto_server and starts the emulator; maxConcurrency above 0
// runs Lambda Managed Instances. env is added to the function's and extension's environment.
func newRig(t *testing.T, timeout time.Duration, maxConcurrency int, env ...string) *rig {
	t.Helper()
	srv := mototest.Shared(t)
	db := dynamodb.NewFromConfig(srv.AWSConfig())
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	r := &rig{t: t, table: fmt.Sprintf("underrie-%d-%d", os.Getpid(), tableSeq.Add(1))}
	if err := store.CreateTable(ctx, db, r.table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	r.store = store.New(db, r.table, store.Options{Timeout: 10 * time.Second})
	fnEnv := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"BREAKERBOX_TABLE=" + r.table,
		"BREAKERBOX_PORT=" + strconv.Itoa(testkit.FreePort(t)),
		// moto under -race on a busy machine is slow; the defaults (500ms, 2s) are for DynamoDB.
		"BREAKERBOX_STORE_TIMEOUT=10s",
		"BREAKERBOX_PUBLISH_TIMEOUT=10s",
		"BREAKERBOX_LOG_LEVEL=debug",
	}, srv.Env()...)
	fnEnv = append(fnEnv, env...)
	e, err := rie.Start(ctx, rie.Config{
		Binary:         rieBinary,
		Bootstrap:      bootstrap,
		Extensions:     []string{extension},
		MaxConcurrency: maxConcurrency,
		Timeout:        timeout,
		Env:            fnEnv,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.emu = e
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		_ = e.Stop(stop)
		if t.Failed() {
			t.Logf("emulator output:\n%s", e.Output())
		}
	})
	return r
}

// invoke sends req and returns the emulator's raw answer.
func (r *rig) invoke(req request) (rie.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	b, _ := json.Marshal(req)
	return r.emu.Invoke(ctx, b)
}

// answer decodes the function's answer, failing the test on anything else (a timeout, an error).
func (r *rig) answer(resp rie.Response) reply {
	r.t.Helper()
	var out reply
	if resp.Status != 200 || json.Unmarshal(resp.Body, &out) != nil || out.Answer != Answer {
		r.t.Fatalf("the emulator answered %d %s %q, want the function's answer", resp.Status, resp.ErrorType, resp.Body)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", patience, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reports returns the emulator's REPORT lines.
func (r *rig) reports() []string {
	var out []string
	for _, l := range strings.Split(r.emu.Output(), "\n") {
		if strings.HasPrefix(l, "REPORT RequestId:") {
			out = append(out, l)
		}
	}
	return out
}
