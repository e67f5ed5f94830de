package demo

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestSecondDemoOnTheSameFolder checks that a demo whose -out another demo is using stops at once,
// saying so, instead of truncating the first one's logs and rebuilding the binaries it runs; and
// that the folder is free again once the first has ended. (The context is cancelled, so that
// without the lock the demo ends during its set-up instead of running.)
func TestSecondDemoOnTheSameFolder(t *testing.T) {
	dir := t.TempDir()
	first, err := openFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Out = dir
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Run(ctx, cfg, io.Discard, false)
	if err == nil || !strings.Contains(err.Error(), "-out "+dir+": another demo is running with this output directory") {
		t.Errorf("second demo: %v; want it refused as another demo's folder", err)
	}
	if err := first.close(); err != nil {
		t.Fatal(err)
	}
	again, err := openFiles(dir)
	if err != nil {
		t.Fatalf("after the first demo ended: %v", err)
	}
	again.close()
}
