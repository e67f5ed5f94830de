package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// Paths prepared by TestMain.
var (
	extensionsDir string // holds the built extension as "breakerbox"
	runtimePath   string // a link named "runtime" to this test binary
)

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "runtime" {
		os.Exit(runRuntime())
	}
	os.Exit(setUpAndRun(m))
}

func setUpAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "breakerbox-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	extensionsDir = filepath.Join(dir, "extensions")
	args := []string{"build", "-o", filepath.Join(extensionsDir, "breakerbox")}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/breakerbox/breakerbox/extension")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the extension:", err)
		return 1
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	runtimePath = filepath.Join(dir, "runtime")
	if err := os.Symlink(self, runtimePath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	mototest.StopShared()
	return code
}
