package samtemplate_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/breakerbox/breakerbox/internal/samtemplate"
)

// layerDocs are the pages that publish or attach the layer.
var layerDocs = []string{"docs/operations.md", "layer/README.md"}

// TestLayerDocsMatchTheTemplate holds docs/operations.md and layer/README.md to template.yaml, one truth
// about the layer: every layer name they publish or attach is one the template publishes, and
// every list of compatible runtimes they give is the template's.
func TestLayerDocsMatchTheTemplate(t *testing.T) {
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	layers, err := tpl.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("template has %d layers, want one per architecture", len(layers))
	}
	names := map[string]bool{}
	runtimes := strings.Join(layers[0].Runtimes, " ")
	for _, l := range layers {
		names[l.Name] = true
		if got := strings.Join(l.Runtimes, " "); got != runtimes {
			t.Errorf("template: %s is compatible with %q, %s with %q: give both layers the same runtimes", l.LogicalID, got, layers[0].LogicalID, runtimes)
		}
		if len(l.Architectures) != 1 || !strings.HasSuffix(l.Name, "-"+l.Architectures[0]) {
			t.Errorf("template: layer %s (%s) is for %v: name each layer breakerbox-<its one architecture>", l.LogicalID, l.Name, l.Architectures)
		}
	}
	nameRef := regexp.MustCompile(`(?:--layer-name\s+|:layer:)([A-Za-z0-9_-]+)`)
	runtimeList := regexp.MustCompile(`--compatible-runtimes((?:[ \t]+(?:\\\n[ \t]*)?[a-z0-9.]+)+)`)
	for _, doc := range layerDocs {
		raw, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		seen := 0
		for _, m := range nameRef.FindAllStringSubmatch(text, -1) {
			seen++
			if !names[m[1]] {
				t.Errorf("%s names the layer %q; template.yaml publishes %v", doc, m[1], sorted(names))
			}
		}
		for _, m := range runtimeList.FindAllStringSubmatch(text, -1) {
			seen++
			if got := strings.Join(strings.Fields(strings.ReplaceAll(m[1], "\\", "")), " "); got != runtimes {
				t.Errorf("%s gives --compatible-runtimes %q; template.yaml says %q", doc, got, runtimes)
			}
		}
		if seen == 0 {
			t.Errorf("%s shows no layer name or runtimes: the patterns are broken", doc)
		}
	}
}

// TestLayerDocsNameTheTableAsTheStackDoes: the template lets CloudFormation name the circuit table
// (breakerbox-CircuitTable-<suffix>), so a page that attaches the layer takes BREAKERBOX_TABLE from
// the stack's CircuitTableName output rather than print a name no deployment has.
func TestLayerDocsNameTheTableAsTheStackDoes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl := string(raw)
	table, _, _ := strings.Cut(tpl[strings.Index(tpl, "\n  CircuitTable:\n"):], "\n  DedupTable")
	if strings.Contains(table, "TableName:") {
		t.Fatal("template.yaml names the circuit table: update the docs' BREAKERBOX_TABLE to that name, and this test")
	}
	if !strings.Contains(tpl, "  CircuitTableName:\n") {
		t.Fatal("template.yaml has no CircuitTableName output, which the docs read the table's name from")
	}
	setting := regexp.MustCompile(`BREAKERBOX_TABLE=([^,}\s"']+)`)
	for _, doc := range layerDocs {
		raw, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		for _, attach := range strings.Split(text, "update-function-configuration")[1:] {
			m := setting.FindStringSubmatch(attach)
			if m == nil {
				continue
			}
			if m[1] != "$TABLE" || !strings.Contains(text, "OutputKey=='CircuitTableName'") {
				t.Errorf("%s sets BREAKERBOX_TABLE=%s when attaching the layer: take it from the stack output CircuitTableName (TABLE=$(aws cloudformation describe-stacks ...)), as CloudFormation names the table", doc, m[1])
			}
		}
	}
}
