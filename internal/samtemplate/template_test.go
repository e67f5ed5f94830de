package samtemplate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/checker/input"
	"github.com/breakerbox/breakerbox/internal/lambdaenv"
	"github.com/breakerbox/breakerbox/internal/samtemplate"
	"github.com/breakerbox/breakerbox/internal/testkit"
)

const root = "../.."

// layerOfHost is the layer whose build target matches this machine, so its binary can run here.
func layerOfHost() string {
	if runtime.GOARCH == "arm64" {
		return "BreakerboxLayerArm64"
	}
	return "BreakerboxLayerX86"
}

func hostArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// models are the values of the template's ExecutionModel parameter: each deploys its own twin of
// every function (see twins_test.go), and each set is checked.
var models = []string{"lambda", "managed-instances"}

// loadTemplate reads template.yaml as deployed with ExecutionModel model.
func loadTemplate(t *testing.T, model string) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err = tpl.WithParameter("ExecutionModel", model)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// loadFunctions returns the functions a deployment with ExecutionModel model creates.
func loadFunctions(t *testing.T, model string) []samtemplate.Function {
	t.Helper()
	fns, err := loadTemplate(t, model).Functions()
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) < 4 {
		t.Fatalf("ExecutionModel %s: the template has %d functions, want checker, ventilator, worker and orders", model, len(fns))
	}
	return fns
}

// forEachModel runs test as a subtest per execution model, with that model's functions.
func forEachModel(t *testing.T, test func(t *testing.T, fns []samtemplate.Function)) {
	for _, model := range models {
		t.Run(model, func(t *testing.T) { test(t, loadFunctions(t, model)) })
	}
}

// isChecker reports whether f is the checker, on either model.
func isChecker(f samtemplate.Function) bool { return strings.HasPrefix(f.LogicalID, "Checker") }

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "samtemplate-build-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build runs the Makefile's build-<LogicalID> rule, the same one `sam build` runs, and returns the
// file it made: bootstrap for Go functions, the handler's module for Python and Node functions (see
// artifact), extensions/breakerbox for layers.
func build(t *testing.T, logicalID string) string {
	return buildFile(t, logicalID, "")
}

// buildFunction builds a function and returns its artifact.
func buildFunction(t *testing.T, f samtemplate.Function) string {
	return buildFile(t, f.LogicalID, artifact(t, f))
}

// artifact is the file a function's build rule must make: bootstrap for a Go binary, the handler's
// module for Python (app.handler: app.py) and Node.js (index.handler: index.js).
func artifact(t *testing.T, f samtemplate.Function) string {
	t.Helper()
	if f.IsGoBinary() {
		return "bootstrap"
	}
	dot := strings.LastIndex(f.Handler, ".")
	if dot <= 0 {
		t.Fatalf("%s: Handler %q is not module.function", f.LogicalID, f.Handler)
	}
	switch {
	case strings.HasPrefix(f.Runtime, "python"):
		return f.Handler[:dot] + ".py"
	case strings.HasPrefix(f.Runtime, "nodejs"):
		return f.Handler[:dot] + ".js"
	}
	t.Fatalf("%s: runtime %q: the test knows Go (provided.*), python and nodejs functions", f.LogicalID, f.Runtime)
	return ""
}

func buildFile(t *testing.T, logicalID, file string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[logicalID]; ok {
		return p
	}
	dir := filepath.Join(buildDir, logicalID)
	// STRIP= keeps the symbol table that sdkActions reads; otherwise this is exactly sam build's rule.
	cmd := exec.Command("make", "--no-print-directory", "-C", root, "build-"+logicalID, "ARTIFACTS_DIR="+dir, "ARCH="+hostArch(), "STRIP=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-%s (the rule sam build uses for this resource): %v\n%s", logicalID, err, out)
	}
	p := filepath.Join(dir, "bootstrap")
	if strings.HasPrefix(logicalID, "BreakerboxLayer") {
		p = filepath.Join(dir, "extensions", "breakerbox")
	} else if file != "" {
		p = filepath.Join(dir, file)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("build-%s made no %s", logicalID, p)
	}
	built[logicalID] = p
	return p
}

// TestEveryFunctionBuildsFromItsRule: each function of either model uses the makefile build method
// and its rule builds a bootstrap; so do both layers.
func TestEveryFunctionBuildsFromItsRule(t *testing.T) {
	forEachModel(t, func(t *testing.T, fns []samtemplate.Function) {
		for _, f := range fns {
			if f.BuildMethod != "makefile" {
				t.Errorf("%s: Metadata.BuildMethod = %q, want makefile (it carries -tags lambda.norpc and static linking)", f.LogicalID, f.BuildMethod)
			}
			buildFunction(t, f)
		}
	})
	layer := filepath.Dir(filepath.Dir(build(t, layerOfHost())))
	for _, p := range []string{"python/breakerbox/__init__.py", "nodejs/node_modules/breakerbox/package.json", "nodejs/node_modules/breakerbox/index.js"} {
		if _, err := os.Stat(filepath.Join(layer, p)); err != nil {
			t.Errorf("the layer's build rule made no %s: %v", p, err)
		}
	}
}

var sdkMethod = regexp.MustCompile(`github\.com/aws/aws-sdk-go-v2/service/([a-z0-9]+)\.\(\*Client\)\.([A-Z][A-Za-z0-9]+)$`)

// iamPrefix maps an SDK service package to its IAM action prefix.
var iamPrefix = map[string]string{"dynamodb": "dynamodb", "eventbridge": "events", "lambda": "lambda", "kinesis": "kinesis", "sqs": "sqs"}

// credentialServices are linked by the SDK's default credential chain (SSO, web identity, console
// sign-in). On Lambda the role's credentials come from the environment, so they need no grant.
var credentialServices = map[string]bool{"sso": true, "ssooidc": true, "sts": true, "signin": true}

// sdkActions lists the IAM actions a binary can perform: the SDK client methods the linker kept,
// which are the ones reachable from main.
func sdkActions(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm %s: %v", bin, err)
	}
	set := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		m := sdkMethod.FindStringSubmatch(strings.TrimSpace(line))
		// DescribeEndpoints serves the SDK's endpoint discovery, which is off for DynamoDB unless
		// enabled, and nothing here enables it: linked, never called.
		if m == nil || m[2] == "Options" || m[2] == "DescribeEndpoints" || credentialServices[m[1]] {
			continue
		}
		prefix, ok := iamPrefix[m[1]]
		if !ok {
			t.Fatalf("%s calls service %q: add its IAM prefix to the test", bin, m[1])
		}
		action := m[2]
		if prefix == "lambda" && action == "Invoke" {
			action = "InvokeFunction"
		}
		set[prefix+":"+action] = true
	}
	return sorted(set)
}

// TestIAMCoversEveryCall: the function's own policy grants every AWS call its binary (and the
// extension of its layer) can make, and nothing else (least privilege); the poller's statement is
// the one exception, since Lambda uses it on the function's behalf.
func TestIAMCoversEveryCall(t *testing.T) {
	ext := sdkActions(t, build(t, layerOfHost()))
	if !contains(ext, "dynamodb:GetItem") {
		t.Fatalf("the extension binary shows no dynamodb:GetItem (%v): the symbol scan is broken", ext)
	}
	forEachModel(t, func(t *testing.T, fns []samtemplate.Function) {
		for _, f := range fns {
			var need []string
			if f.IsGoBinary() {
				need = sdkActions(t, buildFunction(t, f))
			} else {
				noSDK(t, f, buildFunction(t, f))
			}
			if len(f.Layers) > 0 {
				need = append(need, ext...)
			}
			for _, a := range need {
				if !f.Actions[a] {
					t.Errorf("%s: its binary can call %s, but its policy does not allow it", f.LogicalID, a)
				}
			}
			for a := range f.Actions {
				if !contains(need, a) {
					t.Errorf("%s: its policy allows %s, which neither its binary nor its layer calls", f.LogicalID, a)
				}
			}
			t.Logf("%s calls %v", f.LogicalID, need)
		}
	})
}

// noSDK fails the test when a Python or Node function's handler imports an AWS SDK: its calls
// would need grants that the symbol scan cannot see. The examples use the standard library only.
func noSDK(t *testing.T, f samtemplate.Function, file string) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`\b(boto3|botocore|@aws-sdk/[a-z0-9-]+|aws-sdk)\b`).Find(src); m != nil {
		t.Errorf("%s: %s uses %s: list the AWS calls it makes in this test and grant them", f.LogicalID, filepath.Base(file), m)
	}
}

// scriptEnvName matches a variable name in Python or JavaScript source: a quoted ALL_CAPS literal
// ("INVENTORY_URL", 'BREAKERBOX_AUTH') or a property of an environment object (process.env.X, env.X).
var scriptEnvName = regexp.MustCompile("(?:[\"'`]|\\benv\\.)([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\\b")

// scriptLiterals collects the variable names the Python or JavaScript files can read.
func scriptLiterals(t *testing.T, files ...string) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range scriptEnvName.FindAllSubmatch(src, -1) {
			set[string(m[1])] = true
		}
	}
	return set
}

// clientSources are the files of the layer's client for a function's runtime, which its handler imports.
func clientSources(t *testing.T, f samtemplate.Function) []string {
	t.Helper()
	pattern := filepath.Join(root, "clients", "node", "breakerbox", "*.js")
	if strings.HasPrefix(f.Runtime, "python") {
		pattern = filepath.Join(root, "clients", "python", "breakerbox", "*.py")
	}
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("%s matches no file (%v)", pattern, err)
	}
	return files
}

// envLiterals collects every ALL_CAPS string literal in the non-test Go files of pkg and of the
// module's packages it imports: the names the binary can read from its environment.
func envLiterals(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{"\t"}}{{.Dir}}{{"\t"}}{{join .GoFiles ","}}{{end}}`, pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	name := regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)
	set := map[string]bool{}
	fset := token.NewFileSet()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "\t")
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "github.com/breakerbox/breakerbox") || parts[2] == "" {
			continue
		}
		for _, file := range strings.Split(parts[2], ",") {
			f, err := parser.ParseFile(fset, filepath.Join(parts[1], file), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && name.MatchString(s) {
						set[s] = true
					}
				}
				return true
			})
		}
	}
	return set
}

// packageOf reads the Go package that the Makefile's build rule for logicalID compiles, following a
// rule that only names another (build-XManagedFunction: build-XFunction).
func packageOf(t *testing.T, logicalID string) string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^build-` + logicalID + `:\n\t.*,(\./[a-z/]+)\)$`)
	if m := re.FindSubmatch(mk); m != nil {
		return string(m[1])
	}
	alias := regexp.MustCompile(`(?m)^build-` + logicalID + `: build-([A-Za-z0-9]+)\n[^\t]`)
	if m := alias.FindSubmatch(mk); m != nil {
		return packageOf(t, string(m[1]))
	}
	t.Fatalf("Makefile has no build-%s rule naming a ./package", logicalID)
	return ""
}

// TestTemplateSetsOnlyVariablesTheCodeReads: a misspelt variable in the template would be ignored
// silently by the code; this catches it.
func TestTemplateSetsOnlyVariablesTheCodeReads(t *testing.T) {
	ext := envLiterals(t, packageOf(t, layerOfHost()))
	if !ext["BREAKERBOX_TABLE"] || !ext["BREAKERBOX_CACHE_TTL"] {
		t.Fatal("the extension's sources show no BREAKERBOX_TABLE/BREAKERBOX_CACHE_TTL: the literal scan is broken")
	}
	forEachModel(t, func(t *testing.T, fns []samtemplate.Function) {
		for _, f := range fns {
			var reads map[string]bool
			if f.IsGoBinary() {
				reads = envLiterals(t, packageOf(t, f.LogicalID))
			} else {
				reads = scriptLiterals(t, append(clientSources(t, f), buildFunction(t, f))...)
			}
			for name := range f.Env {
				if !reads[name] && !(len(f.Layers) > 0 && ext[name]) {
					t.Errorf("%s: template sets %s, which neither its code nor its layer's extension reads", f.LogicalID, name)
				}
			}
		}
	})
}

// TestFunctionsStartWithTheTemplateEnvironment runs every function of each execution model, with
// its layer's extension, in the local Lambda environment with exactly the template's variables
// (intrinsics resolved as a deployment with default parameters and that ExecutionModel would) and
// checks that init succeeds: every variable the code requires is set and valid. The functions of
// managed-instances start on lambdaenv's Lambda Managed Instances model with their memory size and
// PerExecutionEnvironmentMaxConcurrency, where the extension may register for SHUTDOWN only. As a
// control, removing a required variable must fail init.
func TestFunctionsStartWithTheTemplateEnvironment(t *testing.T) {
	ext := build(t, layerOfHost())
	layer := filepath.Dir(filepath.Dir(ext))
	env, err := lambdaenv.New(lambdaenv.Config{Output: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = env.Close(ctx)
	})
	aws := []string{
		"AWS_ENDPOINT_URL=http://127.0.0.1:1", // nothing listens: init must not need AWS
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=" + samtemplate.Region,
		"AWS_EC2_METADATA_DISABLED=true", "BREAKERBOX_STORE_TIMEOUT=200ms",
	}
	add := func(name string, f samtemplate.Function, drop string) {
		t.Helper()
		// Each Lambda sandbox has its own loopback; here they share one (and other test runs may
		// share the machine), so each gets a port that is free now.
		vars := []string{"BREAKERBOX_PORT=" + strconv.Itoa(testkit.FreePort(t))}
		for k, v := range f.Env {
			if k != drop {
				vars = append(vars, k+"="+v)
			}
		}
		sort.Strings(vars)
		cfg := lambdaenv.FunctionConfig{Name: name, Command: []string{buildFunction(t, f)}, Env: append(vars, aws...), Timeout: 20 * time.Second,
			MemoryMB: f.MemoryMB, ManagedConcurrency: f.ManagedConcurrency}
		if !f.IsGoBinary() {
			// A Python or Node handler runs under the project's stdlib Runtime API loop (AWS's
			// runtime interface clients cannot be installed here), with the layer where Lambda puts it.
			code := filepath.Dir(cfg.Command[0])
			cfg.Command, cfg.Handler, cfg.Dir = scriptRuntime(t, f), f.Handler, code
			cfg.Env = append(cfg.Env, "PATH="+os.Getenv("PATH"), "LAMBDA_TASK_ROOT="+code, "PYTHONDONTWRITEBYTECODE=1",
				"PYTHONPATH="+filepath.Join(layer, "python"), "NODE_PATH="+filepath.Join(layer, "nodejs", "node_modules"))
		}
		if len(f.Layers) > 0 {
			cfg.Extensions = []string{ext}
		}
		if _, err := env.AddFunction(cfg); err != nil {
			t.Fatal(err)
		}
	}
	initFailed := func(name string) (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := env.Invoke(ctx, name, []byte(`{}`))
		if err != nil {
			t.Fatalf("%s: invoke: %v", name, err)
		}
		var body struct{ ErrorType string }
		_ = json.Unmarshal(res.Payload, &body)
		isInit := strings.HasPrefix(body.ErrorType, "Runtime.") || strings.HasPrefix(body.ErrorType, "Extension.")
		return isInit, fmt.Sprintf("%s %s", res.FunctionError, res.Payload)
	}
	forEachModel(t, func(t *testing.T, fns []samtemplate.Function) {
		for _, f := range fns {
			add(f.LogicalID, f, "")
			if failed, msg := initFailed(f.LogicalID); failed {
				t.Errorf("%s does not start with the template's environment: %s", f.LogicalID, msg)
				continue
			}
			if len(f.Layers) > 0 {
				registered(t, env, f)
			}
		}
		// Control: a Python or Node example without INVENTORY_URL must fail its init, naming it, so
		// a script function that starts proves its variables were enough.
		for _, f := range fns {
			if f.IsGoBinary() {
				continue
			}
			add("control-"+f.LogicalID, f, "INVENTORY_URL")
			if failed, msg := initFailed("control-" + f.LogicalID); !failed || !strings.Contains(msg, "INVENTORY_URL") {
				t.Errorf("%s without INVENTORY_URL: init failed=%v (%s), want an init error naming it", f.LogicalID, failed, msg)
			}
		}
		// Control: without BREAKERBOX_TABLE the checker's init must fail, naming the variable.
		for _, f := range fns {
			if !isChecker(f) {
				continue
			}
			add("control-"+f.LogicalID, f, "BREAKERBOX_TABLE")
			if failed, msg := initFailed("control-" + f.LogicalID); !failed {
				t.Errorf("%s without BREAKERBOX_TABLE: init failed=%v (%s); the start-up check cannot tell a missing variable", f.LogicalID, failed, msg)
			}
		}
	})
}

// registered checks what the function's extension registered for: SHUTDOWN only on Lambda
// Managed Instances, where Lambda refuses INVOKE, and INVOKE and SHUTDOWN on the default model.
func registered(t *testing.T, env *lambdaenv.Env, f samtemplate.Function) {
	t.Helper()
	want := "INVOKE,SHUTDOWN"
	if f.ManagedConcurrency > 0 {
		want = "SHUTDOWN"
	}
	fn, ok := env.Function(f.LogicalID)
	if !ok {
		t.Fatalf("%s: not in the environment", f.LogicalID)
	}
	sbs := fn.Sandboxes()
	if len(sbs) != 1 || len(sbs[0].Extensions) != 1 {
		t.Fatalf("%s: sandboxes %+v, want one with the layer's extension", f.LogicalID, sbs)
	}
	if got := strings.Join(sbs[0].Extensions[0].Events, ","); got != want {
		t.Errorf("%s (%d invocations per environment): its extension registered for %s, want %s", f.LogicalID, f.ManagedConcurrency, got, want)
	}
}

// scriptRuntime is the command that runs a Python or Node handler: the interpreter and the
// project's Runtime API loop (clients/bootstrap).
func scriptRuntime(t *testing.T, f samtemplate.Function) []string {
	t.Helper()
	interp, loop := "python3", "lambda_bootstrap.py"
	if strings.HasPrefix(f.Runtime, "nodejs") {
		interp, loop = "node", "lambda_bootstrap.js"
	}
	p, err := exec.LookPath(interp)
	if err != nil {
		t.Fatalf("%s needs %s: %v", f.LogicalID, interp, err)
	}
	abs, err := filepath.Abs(filepath.Join(root, "clients", "bootstrap", loop))
	if err != nil {
		t.Fatal(err)
	}
	return []string{p, abs}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestScheduleInputsAreValidCheckerInput: each schedule rule's constant Input is parsed by the
// checker's own parser, so a rule in the template never fails every invocation.
func TestScheduleInputsAreValidCheckerInput(t *testing.T) {
	forEachModel(t, func(t *testing.T, fns []samtemplate.Function) {
		n := 0
		for _, f := range fns {
			if !isChecker(f) {
				continue
			}
			for name, in := range f.ScheduleInputs {
				n++
				if _, err := input.Parse([]byte(in)); err != nil {
					t.Errorf("%s event %s: Input %s: %v", f.LogicalID, name, in, err)
				}
			}
		}
		if n < 1 {
			t.Fatal("the checker has no schedule rule with an Input")
		}
	})
}
