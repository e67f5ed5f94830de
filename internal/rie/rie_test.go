package rie_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/rie"
)

// Two emulators at once, one per model, each with its own extension: each runtime sees only its
// own extension in /opt/extensions and works in /var/task, the host's /opt and /var are left as
// they were, and each stops cleanly with its extension told SHUTDOWN.
func TestTwoEmulatorsEachSeeOnlyTheirOwn(t *testing.T) {
	_, hostExtErr := os.Stat("/opt/extensions")
	_, hostTaskErr := os.Stat("/var/task")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	start := func(ext string, maxConc int) *rie.Emulator {
		t.Helper()
		e, err := rie.Start(ctx, rie.Config{Binary: rieBinary, Bootstrap: bootstrap, Extensions: []string{ext}, MaxConcurrency: maxConc, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = e.Stop(context.Background())
			if t.Failed() {
				t.Logf("emulator output (%s):\n%s", ext, e.Output())
			}
		})
		return e
	}
	alpha := start(extAlpha, 0)
	beta := start(extBeta, 2)

	for _, c := range []struct {
		e    *rie.Emulator
		want string
	}{{alpha, "probe-alpha"}, {beta, "probe-beta"}} {
		r, err := c.e.Invoke(ctx, []byte(`{"echo":"`+c.want+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		s := decodeSeen(t, r)
		if !slices.Equal(s.Extensions, []string{c.want}) || s.Cwd != "/var/task" || s.Echo != c.want {
			t.Errorf("runtime of %s saw %+v, want only its own extension, in /var/task", c.want, s)
		}
	}

	for _, c := range []struct {
		e    *rie.Emulator
		name string
	}{{alpha, "probe-alpha"}, {beta, "probe-beta"}} {
		stop, cancel := context.WithTimeout(ctx, time.Minute)
		err := c.e.Stop(stop)
		cancel()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !strings.Contains(c.e.Output(), c.name+" SHUTDOWN") {
			t.Errorf("%s was not told SHUTDOWN when its emulator stopped", c.name)
		}
	}
	if _, err := os.Stat("/opt/extensions"); (err == nil) != (hostExtErr == nil) {
		t.Errorf("the host's /opt/extensions changed: stat before %v, after %v", hostExtErr, err)
	}
	if _, err := os.Stat("/var/task"); (err == nil) != (hostTaskErr == nil) {
		t.Errorf("the host's /var/task changed: stat before %v, after %v", hostTaskErr, err)
	}
}

// A Config the emulator cannot run is refused with what is wrong.
func TestStartRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		cfg  rie.Config
		want string
	}{
		{"no binary", rie.Config{Bootstrap: bootstrap}, "Binary"},
		{"sub-second timeout", rie.Config{Binary: rieBinary, Bootstrap: bootstrap, Timeout: 1500 * time.Millisecond}, "whole seconds"},
		{"missing extension", rie.Config{Binary: rieBinary, Bootstrap: bootstrap, Extensions: []string{"/nonexistent/ext"}}, "/nonexistent/ext"},
		{"negative concurrency", rie.Config{Binary: rieBinary, Bootstrap: bootstrap, MaxConcurrency: -1}, "MaxConcurrency"},
	} {
		e, err := rie.Start(ctx, c.cfg)
		if err == nil {
			_ = e.Stop(ctx)
			t.Errorf("%s: started, want an error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
	}
}
