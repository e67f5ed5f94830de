package samtemplate_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMakeRefusesAnUnknownArch: an ARCH Lambda does not run fails the build with the accepted
// values, instead of building arm64 in its place; the accepted ones still build for their
// architecture. make -n expands every recipe without running the compiler.
func TestMakeRefusesAnUnknownArch(t *testing.T) {
	for _, target := range []string{"package", "layer", "build-CheckerFunction"} {
		out, err := exec.Command("make", "--no-print-directory", "-n", "-C", root, target, "ARCH=x86", "ARTIFACTS_DIR="+t.TempDir()).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "ARCH=x86 is not a Lambda architecture: use ARCH=arm64 (the default) or ARCH=x86_64") {
			t.Errorf("make %s ARCH=x86: %v\n%s\nwant a failure listing arm64 and x86_64", target, err, out)
		}
		if strings.Contains(string(out), "go build") {
			t.Errorf("make %s ARCH=x86 went on to build:\n%s", target, out)
		}
	}
	for arch, goarch := range map[string]string{"x86_64": "GOARCH=amd64", "amd64": "GOARCH=amd64", "arm64": "GOARCH=arm64"} {
		out, err := exec.Command("make", "--no-print-directory", "-n", "-C", root, "package", "ARCH="+arch).CombinedOutput()
		if err != nil || !strings.Contains(string(out), goarch) {
			t.Errorf("make package ARCH=%s: %v\n%s\nwant a build with %s", arch, err, out, goarch)
		}
	}
}

// TestValidateIncludesInformationalChecks: make validate (run by make test) lints with cfn-lint's
// informational checks too, which is where a stateful resource without DeletionPolicy shows (I3011).
func TestValidateIncludesInformationalChecks(t *testing.T) {
	out, err := exec.Command("make", "--no-print-directory", "-n", "-C", root, "validate").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "cfn-lint --include-checks I -- template.yaml") {
		t.Errorf("make -n validate: %v\n%s\nwant cfn-lint --include-checks I", err, out)
	}
}

// TestSimulatorsTakeArgs: make sim and make fleet pass ARGS to their programs, as make demo does.
func TestSimulatorsTakeArgs(t *testing.T) {
	for _, tc := range []struct{ target, args, want string }{
		{"sim", "-bases 200ms -seeds 5", "run ./cmd/sim -out out/sim -bases 200ms -seeds 5"},
		{"fleet", "-runs 100 -shapes dense", "run ./extension/internal/fleet -out out/fleet -runs 100 -shapes dense"},
	} {
		out, err := exec.Command("make", "--no-print-directory", "-n", "-C", root, tc.target, "ARGS="+tc.args).CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("make -n %s ARGS=%q: %v\n%s\nwant %q", tc.target, tc.args, err, out, tc.want)
		}
	}
}

// TestDeployWithoutSAMSaysHowToGetIt: make deploy on a machine without the SAM CLI fails at once
// with how to install it, rather than with "sam: command not found". No AWS call is made.
func TestDeployWithoutSAMSaysHowToGetIt(t *testing.T) {
	makePath, err := exec.LookPath("make")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(makePath, "--no-print-directory", "-C", root, "deploy")
	cmd.Env = []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()} // nothing on PATH: no sam
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "make deploy needs the AWS SAM CLI (sam), which is not on PATH: install it with 'pip install aws-sam-cli'") {
		t.Errorf("make deploy without sam: %v\n%s\nwant a failure saying how to install sam", err, out)
	}
}

// TestMakeHelp runs `make help` into a pipe, as `make help | less` or a log does: one plain line per
// target (no terminal colour codes, which a pipe shows as ^[[36m), and every `make X` the README
// names is listed.
func TestMakeHelp(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", "--no-print-directory", "-s", "help")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	if strings.ContainsRune(string(out), '\x1b') {
		t.Errorf("make help into a pipe prints terminal escape codes:\n%q", out)
	}
	listed := map[string]bool{}
	line := regexp.MustCompile(`^  ([a-z-]+) +\S`)
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q is not a target and its description", l)
			continue
		}
		listed[m[1]] = true
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("`make ([a-z-]+)").FindAllStringSubmatch(string(readme), -1) {
		if !listed[m[1]] {
			t.Errorf("the README names make %s, which make help does not list", m[1])
		}
	}
}
