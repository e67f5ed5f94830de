package rie_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/breakerbox/breakerbox/internal/extensionsapi"
	"github.com/breakerbox/breakerbox/internal/rie"
)

// Built once by TestMain.
var (
	rieBinary string // aws-lambda-rie
	bootstrap string // this test binary, linked as "bootstrap": the runtime
	extAlpha  string // this test binary, linked as "probe-alpha": an extension
	extBeta   string // and as "probe-beta"
)

// TestMain builds AWS's emulator once; the test binary is the runtime and the extensions too,
// chosen by the name it runs under.
func TestMain(m *testing.M) {
	switch name := filepath.Base(os.Args[0]); {
	case name == "bootstrap":
		lambda.Start(answer)
		return
	case strings.HasPrefix(name, "probe-"):
		os.Exit(probeExtension(name))
	}
	os.Exit(setUp(m))
}

func setUp(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rie-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if rieBinary, err = rie.Build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for name, p := range map[string]*string{"bootstrap": &bootstrap, "probe-alpha": &extAlpha, "probe-beta": &extBeta} {
		*p = filepath.Join(dir, name)
		if err := os.Symlink(self, *p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// seen is what the runtime reports: the extensions directory and its working directory, as the
// emulator's namespace shows them.
type seen struct {
	Extensions []string `json:"extensions"`
	Cwd        string   `json:"cwd"`
	Echo       string   `json:"echo"`
}

func answer(_ context.Context, in struct {
	Echo string `json:"echo"`
}) (seen, error) {
	var out seen
	entries, err := os.ReadDir("/opt/extensions")
	if err != nil {
		return out, err
	}
	for _, e := range entries {
		out.Extensions = append(out.Extensions, e.Name())
	}
	out.Cwd, err = os.Getwd()
	out.Echo = in.Echo
	return out, err
}

// probeExtension registers (for SHUTDOWN only on Lambda Managed Instances, as there INVOKE is
// refused), answers every event at once and exits 0 on SHUTDOWN.
func probeExtension(name string) int {
	ctx := context.Background()
	api, err := extensionsapi.New(os.Getenv("AWS_LAMBDA_RUNTIME_API"), extensionsapi.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	events := []extensionsapi.EventType{extensionsapi.Invoke, extensionsapi.Shutdown}
	if os.Getenv("AWS_LAMBDA_INITIALIZATION_TYPE") == "lambda-managed-instances" {
		events = events[1:]
	}
	if _, err := api.Register(ctx, name, events...); err != nil {
		fmt.Fprintln(os.Stderr, name, "register:", err)
		return 1
	}
	for {
		ev, err := api.Next(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, name, "next:", err)
			return 1
		}
		if ev.EventType == extensionsapi.Shutdown {
			fmt.Println(name, "SHUTDOWN", ev.ShutdownReason)
			return 0
		}
	}
}

func decodeSeen(t *testing.T, r rie.Response) seen {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("invoke answered %d %s %s", r.Status, r.ErrorType, r.Body)
	}
	var s seen
	if err := json.Unmarshal(r.Body, &s); err != nil {
		t.Fatalf("answer %s: %v", r.Body, err)
	}
	return s
}
