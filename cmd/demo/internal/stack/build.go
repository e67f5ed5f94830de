// Package stack stands the demo's system up on one machine and takes it down again: moto_server
// (or the endpoint in AWS_ENDPOINT_URL), the tables, stream, queue, event source mapping and
// EventBridge rules, and the extension, ventilator, worker and checker built from source and run in
// the local Lambda environment (internal/lambdaenv), fed by its event source poller and schedulers.
package stack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the built executables.
type Binaries struct {
	// Extension is the extension, named breakerbox as in the layer (extensions/breakerbox).
	Extension string
	// Ventilator, Worker and Checker are the functions' bootstraps.
	Ventilator, Worker, Checker string
}

// packages are built in one go build, so the toolchain builds them in parallel.
var packages = []string{"./extension", "./function/ventilator", "./function/worker", "./checker"}

// Build compiles the extension and the three functions from the module at repo into dir, as for
// Lambda (-tags lambda.norpc), and lays the extension out as a layer does.
func Build(ctx context.Context, repo, dir string) (Binaries, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Binaries{}, fmt.Errorf("stack: build directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "extensions"), 0o755); err != nil {
		return Binaries{}, fmt.Errorf("stack: build directory: %w", err)
	}
	args := append([]string{"build", "-tags", "lambda.norpc", "-o", dir + string(filepath.Separator)}, packages...)
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = repo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("stack: go %s in %s: %w\n%s", strings.Join(args, " "), repo, err, strings.TrimSpace(out.String()))
	}
	b := Binaries{
		Extension:  filepath.Join(dir, "extensions", "breakerbox"),
		Ventilator: filepath.Join(dir, "ventilator"),
		Worker:     filepath.Join(dir, "worker"),
		Checker:    filepath.Join(dir, "checker"),
	}
	if err := os.Rename(filepath.Join(dir, "extension"), b.Extension); err != nil {
		return Binaries{}, fmt.Errorf("stack: place the extension in %s: %w", filepath.Dir(b.Extension), err)
	}
	return b, nil
}

// goTool is the go command: $GOROOT/bin/go when GOROOT is set (as under go run or go test), else
// go from PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Module is the breakerbox module's path, whose parts the demo builds.
const Module = "github.com/breakerbox/breakerbox"

// modulePath reads the module line of a go.mod.
func modulePath(gomod []byte) string {
	for line := range strings.SplitSeq(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// ModuleRoot finds the directory of the go.mod of the module that holds dir (or a parent).
func ModuleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if mod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			// The nearest go.mod decides, as for go build: another module's would build nothing of ours.
			if modulePath(mod) != Module {
				return "", fmt.Errorf("stack: %s is in the module %q, not %s: run the demo from the breakerbox repository (make demo), or give -repo a folder in it", abs, modulePath(mod), Module)
			}
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("stack: no go.mod in %s or above: run the demo from the breakerbox repository (make demo), or give -repo a folder in it", abs)
		}
	}
}
