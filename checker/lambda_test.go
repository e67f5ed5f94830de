package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/checker/check"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestAsALambda builds the checker and runs it as a Lambda function (Runtime API, real deadline)
// against moto: the rule's input comes in as the event, the summary goes out as the response, and
// malformed input fails the invoke with its message.
func TestAsALambda(t *testing.T) {
	srv := mototest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildChecker(ctx, t)
	table := fmt.Sprintf("checker-lambda-%d", time.Now().UnixNano())
	db := dynamodb.NewFromConfig(srv.AWSConfig())
	if err := store.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer svc.Close()

	env := startEnv(t)
	fnEnv := hostEnv()
	fnEnv = append(fnEnv, srv.Env()...)
	fnEnv = append(fnEnv, "BREAKERBOX_TABLE="+table, "BREAKERBOX_STORE_TIMEOUT=10s")
	if _, err := env.AddFunction(lambdaenv.FunctionConfig{Name: "checker", Command: []string{bin}, Env: fnEnv, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}

	res, err := env.Invoke(ctx, "checker", []byte(`{"id":"lambda-svc","url":"`+svc.URL+`","timeout":"2s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("invoke failed: %v", err)
	}
	var sum check.Summary
	if err := json.Unmarshal(res.Payload, &sum); err != nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	if len(sum.Targets) != 1 || !sum.Targets[0].OK || sum.Targets[0].State != "CLOSED" || sum.Targets[0].Version != 1 {
		t.Fatalf("summary %s", res.Payload)
	}

	res, err = env.Invoke(ctx, "checker", []byte(`{"id":"other","url":"gopher://x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), `unsupported scheme "gopher"`) {
		t.Fatalf("malformed input: err = %v, payload %s", err, res.Payload)
	}
	out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 1 {
		t.Fatalf("%d items, want only the first check's circuit", out.Count)
	}
}

// A bad configuration fails the init, and the invoke that started the sandbox fails with the
// message through the Runtime API's /init/error, not with a bare exit status.
func TestBadConfigurationFailsInit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildChecker(ctx, t)
	env := startEnv(t)
	fnEnv := hostEnv()
	fnEnv = append(fnEnv, "BREAKERBOX_TABLE=circuits", "BREAKERBOX_STORE_TIMEOUT=soon")
	if _, err := env.AddFunction(lambdaenv.FunctionConfig{Name: "checker-bad", Command: []string{bin}, Env: fnEnv, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	res, err := env.Invoke(ctx, "checker-bad", []byte(`{"id":"svc","url":"https://example.com"}`))
	if err == nil {
		err = res.Err()
	}
	if err == nil {
		t.Fatal("the checker started with BREAKERBOX_STORE_TIMEOUT=soon")
	}
	for _, w := range []string{"checker cannot start", "BREAKERBOX_STORE_TIMEOUT", "Runtime.ConfigError"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("init error %q does not say %q", err, w)
		}
	}
}

// buildChecker builds the checker binary into a temporary directory.
func buildChecker(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "checker")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startEnv starts a Lambda environment, closed at the end of the test.
func startEnv(t *testing.T) *lambdaenv.Env {
	t.Helper()
	env, err := lambdaenv.New(lambdaenv.Config{Output: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close(context.Background()) })
	return env
}

// hostEnv is this process's environment without its AWS_ and BREAKERBOX_ settings, for a function
// to be given its own.
func hostEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "BREAKERBOX_") {
			out = append(out, kv)
		}
	}
	return out
}
