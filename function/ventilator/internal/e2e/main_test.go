package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// Binaries built by TestMain.
var (
	ventilatorBin string // the ventilator's bootstrap
	workerBin     string // the worker's bootstrap
	extensionsDir string // holds the extension as "breakerbox"
)

func TestMain(m *testing.M) {
	os.Exit(setUpAndRun(m))
}

func setUpAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ventilator-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ventilatorBin = filepath.Join(dir, "ventilator", "bootstrap")
	workerBin = filepath.Join(dir, "worker", "bootstrap")
	extensionsDir = filepath.Join(dir, "extensions")
	builds := []struct {
		out, pkg string
		race     bool
	}{
		{ventilatorBin, "github.com/breakerbox/breakerbox/function/ventilator", raceEnabled},
		{filepath.Join(extensionsDir, "breakerbox"), "github.com/breakerbox/breakerbox/extension", raceEnabled},
		// The worker is a few lines of simulation with its own race-tested unit tests; it runs as
		// many sandboxes, so it is built without the race detector to spare the machine.
		{workerBin, "github.com/breakerbox/breakerbox/function/worker", false},
	}
	for _, b := range builds {
		args := []string{"build", "-tags", "lambda.norpc", "-o", b.out}
		if b.race {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build %s: %v\n", b.pkg, err)
			return 1
		}
	}
	code := m.Run()
	mototest.StopShared()
	return code
}
