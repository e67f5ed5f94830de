package underrie

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/breakerbox/breakerbox/extension/client"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/rie"
)

// Built once per test binary by TestMain.
var (
	rieBinary string // AWS's aws-lambda-rie
	extension string // the real extension, named breakerbox
	bootstrap string // this test binary, linked as "bootstrap": the function's runtime
)

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "bootstrap" {
		lambda.Start(handle)
		return
	}
	os.Exit(setUp(m))
}

func setUp(m *testing.M) int {
	dir, err := os.MkdirTemp("", "underrie-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if rieBinary, err = rie.Build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	extension = filepath.Join(dir, "breakerbox")
	args := []string{"build", "-o", extension}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.CommandContext(ctx, "go", append(args, "github.com/breakerbox/breakerbox/extension")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "underrie: build the extension:", err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	if err := os.Symlink(self, bootstrap); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	mototest.StopShared()
	return code
}

// request is what a test asks the function to do.
type request struct {
	// Circuit is asked (client.Do) and the call's outcome reported; Fail makes the call fail.
	Circuit string `json:"circuit"`
	Fail    bool   `json:"fail,omitempty"`
	// Started and Release, when set, are directories: the function creates a file named after
	// its request id in Started, then waits (within its deadline) until Release/go exists.
	Started string `json:"started,omitempty"`
	Release string `json:"release,omitempty"`
	// Hang makes calls of Circuit instead, one every GapMs, each of which hangs until Release/go
	// exists (or the deadline), until an acquire is denied or the release comes.
	Hang  bool `json:"hang,omitempty"`
	GapMs int  `json:"gapMs,omitempty"`
}

// Answer is the function's own answer, so a test tells it from the emulator's.
const Answer = "answered by the function"

// reply is the function's answer.
type reply struct {
	Answer string `json:"answer"`
	Called bool   `json:"called"`
	Open   bool   `json:"open"`
	Err    string `json:"err,omitempty"`
	// Hung counts the hanging calls made (Hang); Open is then set when an acquire was denied.
	Hung int `json:"hung,omitempty"`
}

// handle is the function: it asks the extension through the Go client, as a user's function does.
func handle(ctx context.Context, req request) (reply, error) {
	out := reply{Answer: Answer}
	if req.Started != "" {
		id := fmt.Sprint(time.Now().UnixNano())
		if lc, ok := lambdaRequestID(ctx); ok {
			id = lc
		}
		if err := os.WriteFile(filepath.Join(req.Started, id), nil, 0o644); err != nil {
			return out, err
		}
		for {
			if _, err := os.Stat(filepath.Join(req.Release, "go")); err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	c, err := client.New()
	if err != nil {
		return out, err
	}
	if req.Hang {
		return hang(ctx, c, req, out)
	}
	err = c.Do(ctx, req.Circuit, func(context.Context) error {
		out.Called = true
		if req.Fail {
			return errors.New("downstream failed")
		}
		return nil
	})
	out.Open = errors.Is(err, client.ErrOpen)
	if err != nil {
		out.Err = err.Error()
	}
	return out, nil
}

// lambdaRequestID is the invocation's request id.
func lambdaRequestID(ctx context.Context) (string, bool) {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok || lc.AwsRequestID == "" {
		return "", false
	}
	return lc.AwsRequestID, true
}

// hang makes a call of req.Circuit every req.GapMs, through acquire and report as a function does by
// hand, each hanging until req.Release/go exists (or the deadline), until an acquire is denied or
// the release comes: a provider whose calls hang, for as long as the circuit lets calls through.
func hang(ctx context.Context, c *client.Client, req request, out reply) (reply, error) {
	var wg sync.WaitGroup
	var hung atomic.Int64
	released := func() bool {
		_, err := os.Stat(filepath.Join(req.Release, "go"))
		return err == nil
	}
	for !released() && ctx.Err() == nil {
		d, err := c.Acquire(ctx, req.Circuit)
		if err != nil {
			return out, err
		}
		if !d.Allowed {
			out.Open = true
			break
		}
		hung.Add(1)
		wg.Go(func() {
			start := time.Now()
			for !released() && ctx.Err() == nil {
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Millisecond):
				}
			}
			_ = c.Report(context.WithoutCancel(ctx), req.Circuit, client.Outcome{OK: ctx.Err() == nil, Latency: time.Since(start), Call: d.Call})
		})
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(req.GapMs) * time.Millisecond):
		}
	}
	wg.Wait()
	out.Hung = int(hung.Load())
	return out, nil
}
