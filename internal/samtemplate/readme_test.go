package samtemplate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// notVariables are ALL_CAPS strings the code uses as data (states, error codes), not as names of
// environment variables. setByLambda are read by the code but set by Lambda itself.
var (
	notVariables = map[string]bool{"DOWNSTREAM_UNAVAILABLE": true, "FORCED_CLOSED": true, "FORCED_OPEN": true, "HALF_OPEN": true, "INVALID_ORDER": true, "OUT_OF_STOCK": true,
		// names the Python and Node clients export, and the Node client's timeout error code
		"DEFAULT_PORT": true, "DEFAULT_TIMEOUT": true, "TOKEN_HEADER": true, "BREAKERBOX_TIMEOUT": true}
	setByLambda = map[string]bool{"AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_LOG_LEVEL": true, "AWS_LAMBDA_RUNTIME_API": true, "AWS_SESSION_TOKEN": true}
)

// binaries are the programs a user configures through the environment.
var binaries = []string{"./checker", "./extension", "./extension/client", "./function/ventilator", "./function/worker", "./function/orders", "./cmd/breakerctl"}

// scripts are the Python and Node.js clients the layer ships (every file of each) and the examples
// that use them.
var scripts = []string{"clients/python/breakerbox/*.py", "clients/node/breakerbox/*.js", "function/orders-python/app.py", "function/orders-node/index.js"}

// variablesPage is the page whose "Environment variables" table lists every variable.
const variablesPage = "docs/configuration.md"

// TestDocsListEveryVariable holds docs/configuration.md's "Environment variables" table to the code:
// every variable a binary reads has a row, and every row names a variable some binary reads.
func TestDocsListEveryVariable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, variablesPage))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Environment variables\n")
	if !ok {
		t.Fatalf(`%s has no "## Environment variables" section`, variablesPage)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]+)` \\|")
	documented := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		if documented[m[1]] {
			t.Errorf("%s lists %s twice", variablesPage, m[1])
		}
		documented[m[1]] = true
	}
	if len(documented) < 20 {
		t.Fatalf("found %d rows in %s's table: the row pattern is broken", len(documented), variablesPage)
	}
	read := map[string]bool{}
	for _, pkg := range binaries {
		for name := range envLiterals(t, pkg) {
			read[name] = true
		}
	}
	for _, pattern := range scripts {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s matches no file (%v)", pattern, err)
		}
		for name := range scriptLiterals(t, files...) {
			read[name] = true
		}
	}
	for name := range read {
		if !documented[name] && !notVariables[name] && !setByLambda[name] {
			t.Errorf("the code reads %s but %s's Environment variables table has no row for it (or, if it is not a variable, add it to notVariables)", name, variablesPage)
		}
	}
	for name := range documented {
		if !read[name] {
			t.Errorf("%s documents %s, but no binary reads it", variablesPage, name)
		}
	}
}
