package clients

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/breakerbox/breakerbox/internal/envnames"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
	"github.com/breakerbox/breakerbox/internal/store"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

func TestMain(m *testing.M) {
	code := run(m)
	if layer != "" {
		os.RemoveAll(layer)
	}
	os.Exit(code)
}

// run runs the tests and stops the shared moto_server.
func run(m *testing.M) int {
	defer mototest.StopShared()
	return m.Run()
}

const root = ".."

var (
	buildOnce sync.Once
	layer     string
	buildErr  error
)

// layerDir builds the layer for this machine's architecture with the Makefile's rule, the one
// `make layer` and `sam build` use, once per test binary, and returns its root: what Lambda mounts
// at /opt (extensions/breakerbox, python/breakerbox, nodejs/node_modules/breakerbox).
func layerDir(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "breakerbox-clients-")
		if err != nil {
			buildErr = err
			return
		}
		layer = dir
		rule, arch := "build-BreakerboxLayerX86", "x86_64"
		if runtime.GOARCH == "arm64" {
			rule, arch = "build-BreakerboxLayerArm64", "arm64"
		}
		cmd := exec.Command("make", "--no-print-directory", "-C", root, rule, "ARTIFACTS_DIR="+dir, "ARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("make %s (the layer's build rule): %v\n%s", rule, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return layer
}

// sandbox is one example function running with the real extension in lambdaenv.
type sandbox struct {
	port  int
	token string
	table string
	opt   string
	moto  []string
}

// startExample runs the example function (its runtime command and handler) with the extension in
// lambdaenv on a fresh table, invokes it once with an order it must reject without calling the
// inventory, and returns where its extension listens.
func startExample(t *testing.T, name, dir, handler string, command ...string) sandbox {
	t.Helper()
	srv := mototest.Shared(t)
	sb := sandbox{token: "clients-" + rand.Text(), table: fmt.Sprintf("clients-%s-%d", name, os.Getpid()), opt: layerDir(t), moto: srv.Env()}
	for _, p := range []string{"extensions/breakerbox", "python/breakerbox/__init__.py", "nodejs/node_modules/breakerbox/package.json"} {
		if _, err := os.Stat(filepath.Join(sb.opt, p)); err != nil {
			t.Fatalf("the layer has no %s: %v", p, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.CreateTable(ctx, dynamodb.NewFromConfig(srv.AWSConfig()), sb.table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	out := &testkit.SyncBuffer{}
	env, err := lambdaenv.New(lambdaenv.Config{Output: out})
	if err != nil {
		t.Fatal(err)
	}
	sb.port = testkit.FreePort(t)
	fnEnv := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"BREAKERBOX_TABLE=" + sb.table,
		"BREAKERBOX_PORT=" + strconv.Itoa(sb.port),
		"AWS_SESSION_TOKEN=" + sb.token,
		"BREAKERBOX_STORE_TIMEOUT=10s", // moto on a loaded machine is slow; the default is 500ms
		"BREAKERBOX_FLUSH_INTERVAL=100ms",
		"BREAKERBOX_CACHE_TTL=500ms",
		"BREAKERBOX_OPEN_DURATION=10m", // a tripped circuit stays OPEN for the whole run
		"BREAKERBOX_MAX_OPEN_DURATION=20m",
		// Lambda puts a layer's python/ on PYTHONPATH and nodejs/node_modules on NODE_PATH.
		"PYTHONPATH=" + filepath.Join(sb.opt, "python"),
		"NODE_PATH=" + filepath.Join(sb.opt, "nodejs", "node_modules"),
		"INVENTORY_URL=http://127.0.0.1:1/availability", // the first invoke never calls it
		"PYTHONDONTWRITEBYTECODE=1",                     // the layer is shared and read-only
	}, sb.moto...)
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	fn, err := env.AddFunction(lambdaenv.FunctionConfig{
		Name:        name,
		Command:     command,
		Handler:     handler,
		Dir:         abs,
		Extensions:  []string{filepath.Join(sb.opt, "extensions", "breakerbox")},
		Env:         append(fnEnv, "LAMBDA_TASK_ROOT="+abs),
		Timeout:     time.Minute,
		InitTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := env.Close(ctx); err != nil {
			t.Errorf("close the Lambda environment: %v", err)
		}
		if t.Failed() {
			t.Logf("sandbox output:\n%s", out.String())
		}
	})
	ictx, icancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer icancel()
	res, err := fn.Invoke(ictx, []byte(`{"orderId":"o-0","sku":"","quantity":0}`))
	if err != nil {
		t.Fatalf("invoke %s: %v\n%s", name, err, out.String())
	}
	if err := res.Err(); err != nil {
		t.Fatalf("invoke %s: %v\n%s", name, err, out.String())
	}
	var got struct{ Status, Error string }
	if err := json.Unmarshal(res.Payload, &got); err != nil || got.Status != "REJECTED" || got.Error != "INVALID_ORDER" {
		t.Fatalf("%s answered %s to an invalid order, want REJECTED/INVALID_ORDER (%v)", name, res.Payload, err)
	}
	return sb
}

// run runs a test command in the repository with the sandbox's extension in its environment and
// fails the test (and goes on, so every suite runs) when the command fails.
func (sb sandbox) run(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = root
	cmd.Env = append(cleanEnv(),
		"BREAKERBOX_PORT="+strconv.Itoa(sb.port),
		"AWS_SESSION_TOKEN="+sb.token,
		"CLIENTS_TEST_LAYER="+sb.opt,
		"PYTHONPATH="+filepath.Join(sb.opt, "python"),
		"NODE_PATH="+filepath.Join(sb.opt, "nodejs", "node_modules"),
		"PYTHONDONTWRITEBYTECODE=1",
	)
	cmd.WaitDelay = 10 * time.Second
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	t.Logf("%s:\n%s", strings.Join(args, " "), buf.String())
	if err != nil {
		t.Errorf("%s: %v", strings.Join(args, " "), err)
	}
}

// cleanEnv is this process's environment without the breakerbox and AWS variables, so the tests
// see only what the harness gives them.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BREAKERBOX_") || strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "INVENTORY_") ||
			strings.HasPrefix(kv, "PYTHONPATH=") || strings.HasPrefix(kv, "NODE_PATH=") || strings.HasPrefix(kv, "NODE_OPTIONS=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// TestPython runs the Python client's and the Python example's unittest suites against the real
// extension, in the sandbox of the Python example.
func TestPython(t *testing.T) {
	t.Parallel()
	python := lookPath(t, "python3")
	sb := startExample(t, "orders-python", filepath.Join(root, "function", "orders-python"), "app.handler",
		python, filepath.Join(mustAbs(t, root), "clients", "bootstrap", "lambda_bootstrap.py"))
	sb.run(t, python, "-m", "unittest", "discover", "-v", "-s", "clients/python/tests", "-t", "clients/python/tests")
	sb.run(t, python, "-m", "unittest", "discover", "-v", "-s", "function/orders-python", "-p", "test_*.py")
}

// TestNode runs the Node client's and the Node example's node --test suites the same way.
func TestNode(t *testing.T) {
	t.Parallel()
	node := lookPath(t, "node")
	sb := startExample(t, "orders-node", filepath.Join(root, "function", "orders-node"), "index.handler",
		node, filepath.Join(mustAbs(t, root), "clients", "bootstrap", "lambda_bootstrap.js"))
	sb.run(t, node, "--test", "clients/node/test/", "function/orders-node/", "function/orders-node-middy/")
}

// TestKnownVariablesAreShared checks that the Python and Node clients carry the same list of known
// BREAKERBOX_* variables as the extension (internal/envnames): they share one environment, so a
// name one part reads must not be warned about by another.
func TestKnownVariablesAreShared(t *testing.T) {
	t.Parallel()
	py := exec.Command(lookPath(t, "python3"), "-c", "import breakerbox.names as s; print('\\n'.join(s.KNOWN_VARIABLES))")
	py.Env = append(cleanEnv(), "PYTHONPATH="+filepath.Join(mustAbs(t, root), "clients", "python"), "PYTHONDONTWRITEBYTECODE=1")
	js := exec.Command(lookPath(t, "node"), "-e", "console.log(require(process.argv[1]).KNOWN_VARIABLES.join('\\n'))", filepath.Join(mustAbs(t, root), "clients", "node", "breakerbox"))
	js.Env = cleanEnv()
	for name, cmd := range map[string]*exec.Cmd{"Python (clients/python/breakerbox/names.py)": py, "Node (clients/node/breakerbox/names.js)": js} {
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		got := strings.Fields(string(out))
		if !slices.Equal(got, envnames.Known) {
			t.Errorf("%s knows %v,\nthe extension (internal/envnames.Known) %v: make them the same", name, got, envnames.Known)
		}
	}
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for the client tests (standard library only, nothing to install): %v", name, err)
	}
	return p
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
