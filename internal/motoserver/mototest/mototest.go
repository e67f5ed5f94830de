// Package mototest gives tests a moto_server for the length of a test binary. A missing moto_server
// fails the test with install instructions; it never skips.
package mototest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/motoserver"
)

// startUpBound is the overall bound on a server's start-up. The wait itself goes by progress (see
// motoserver.Start): this only stops a start-up that keeps working and never answers.
const startUpBound = 5 * time.Minute

var (
	mu     sync.Mutex
	shared *motoserver.Server
)

// Shared returns one moto_server per test binary, started on first use. Call Main's cleanup in
// TestMain (or rely on the process-death signal) to stop it. Tests isolate themselves by using unique
// resource names.
func Shared(tb testing.TB) *motoserver.Server {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startUpBound)
		defer cancel()
		s, err := motoserver.Start(ctx)
		if err != nil {
			tb.Fatalf("moto_server is needed for this test: %v", err)
		}
		shared = s
	}
	return shared
}

// Own starts a private moto_server for one test (for tests that stop or restart it) and stops it
// when the test ends.
func Own(tb testing.TB) *motoserver.Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startUpBound)
	defer cancel()
	s, err := motoserver.Start(ctx)
	if err != nil {
		tb.Fatalf("moto_server is needed for this test: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StopShared stops the shared server; call it at the end of TestMain.
func StopShared() {
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
}

// Main runs a package's tests and then stops the shared server: the whole body of a TestMain that
// needs nothing else, func TestMain(m *testing.M) { mototest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}
