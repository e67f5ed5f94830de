package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mototest.StopShared()
	if built.dir != "" {
		os.RemoveAll(built.dir) // the binary the binary tests shared
	}
	os.Exit(code)
}

var seq atomic.Int64

// ctl runs breakerctl in-process against the shared moto_server with env as its environment.
type ctl struct {
	t   *testing.T
	env map[string]string
}

func newCtl(t *testing.T) *ctl {
	mototest.Shared(t)
	c := &ctl{t: t, env: map[string]string{"BREAKERBOX_TABLE": fmt.Sprintf("ctl-test-%d", seq.Add(1))}}
	if _, errOut, code := c.run("create-table"); code != 0 {
		t.Fatalf("create-table: %s", errOut)
	}
	return c
}

func (c *ctl) envOf() Env {
	srv := mototest.Shared(c.t)
	return Env{
		Getenv: func(k string) string { return c.env[k] },
		AWS:    func(context.Context) (aws.Config, error) { return srv.AWSConfig(), nil },
	}
}

func (c *ctl) runCtx(ctx context.Context, stdout, stderr *testkit.SyncBuffer, args ...string) int {
	return run(ctx, args, stdout, stderr, c.envOf())
}

func (c *ctl) run(args ...string) (string, string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut testkit.SyncBuffer
	code := c.runCtx(ctx, &out, &errOut, args...)
	return out.String(), errOut.String(), code
}

// must runs a command that has to succeed and returns its output.
func (c *ctl) must(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("breakerctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}
