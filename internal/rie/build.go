package rie

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// Module and Command name AWS's emulator as go.mod's tool directive pins it.
const (
	Module  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	Command = Module + "/cmd/aws-lambda-rie"
)

// Build compiles the emulator at the version go.mod pins into dir/aws-lambda-rie and returns the
// path. The Go build cache makes every build after the first one cheap.
func Build(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "aws-lambda-rie")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, Command)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("rie: go build %s: %w\n%s(is the tool directive in go.mod? go get -tool %s@<version>)", Command, err, stderr.String(), Command)
	}
	return out, nil
}
