package samtemplate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The template declares every function twice, once per execution model (see "Two models, twin
// functions" in template.yaml): XFunction under DefaultModelCondition and XManagedFunction under
// ManagedModelCondition.
const (
	DefaultModelCondition = "UseDefaultModel"
	ManagedModelCondition = "UseManagedInstances"
)

// Twin names the two declarations of one function.
type Twin struct {
	// Default is the function on Lambda's default model (XFunction).
	Default string
	// Managed is the same function on the capacity provider (XManagedFunction).
	Managed string
}

// managedID is the logical id of the twin on Lambda Managed Instances: XFunction -> XManagedFunction.
func managedID(defaultID string) string {
	return strings.TrimSuffix(defaultID, "Function") + "ManagedFunction"
}

// Twins pairs every serverless function of the default model with its twin, sorted by Default. It
// fails when a function of either model has no twin, or a function belongs to neither model.
func (t *Template) Twins() ([]Twin, error) {
	var out []Twin
	seen := map[string]bool{}
	for id, r := range t.resources {
		if t.types[id] != "AWS::Serverless::Function" {
			continue
		}
		switch c := scalar(get(r, "Condition")); c {
		case DefaultModelCondition:
			m := managedID(id)
			if !strings.HasSuffix(id, "Function") || scalar(get(t.resources[m], "Condition")) != ManagedModelCondition || t.types[m] != t.types[id] {
				return nil, fmt.Errorf("samtemplate: %s (Condition %s) has no twin %s with Condition %s", id, c, m, ManagedModelCondition)
			}
			out = append(out, Twin{Default: id, Managed: m})
			seen[m] = true
		case ManagedModelCondition:
		default:
			return nil, fmt.Errorf("samtemplate: function %s has Condition %q: each function needs %s or %s (and a twin under the other)", id, c, DefaultModelCondition, ManagedModelCondition)
		}
	}
	for id, r := range t.resources {
		if t.types[id] == "AWS::Serverless::Function" && scalar(get(r, "Condition")) == ManagedModelCondition && !seen[id] {
			return nil, fmt.Errorf("samtemplate: %s (Condition %s) is no twin of a %s function", id, ManagedModelCondition, DefaultModelCondition)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Default < out[j].Default })
	return out, nil
}

// Differences lists where the managed twin's declaration differs from the default one, as dotted
// paths (Properties.MemorySize, Properties.Events.CheckInventory.Properties.Name), sorted. Before
// comparing, every mention of a managed twin in the managed declaration (!Ref WorkerManagedFunction)
// is read as its default twin, so a function that uses its own model's sibling is no difference.
func (t *Template) Differences(tw Twin) ([]string, error) {
	twins, err := t.Twins()
	if err != nil {
		return nil, err
	}
	rename := map[string]string{}
	for _, x := range twins {
		rename[x.Managed] = x.Default
	}
	var diffs []string
	compare("", t.resources[tw.Default], t.resources[tw.Managed], rename, &diffs)
	sort.Strings(diffs)
	return diffs, nil
}

// compare appends to diffs the paths under which a and b (b's names renamed) differ.
func compare(path string, a, b *yaml.Node, rename map[string]string, diffs *[]string) {
	if a == nil || b == nil {
		if a != b {
			*diffs = append(*diffs, path)
		}
		return
	}
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != renamed(b.Value, rename) {
		*diffs = append(*diffs, path)
		return
	}
	switch a.Kind {
	case yaml.MappingNode:
		am, bm := mapping(a), mapping(b)
		for k, av := range am {
			compare(join(path, k), av, bm[k], rename, diffs)
		}
		for k, bv := range bm {
			if _, ok := am[k]; !ok {
				compare(join(path, k), nil, bv, rename, diffs)
			}
		}
	case yaml.SequenceNode:
		if len(a.Content) != len(b.Content) {
			*diffs = append(*diffs, path)
			return
		}
		for i := range a.Content {
			compare(fmt.Sprintf("%s[%d]", path, i), a.Content[i], b.Content[i], rename, diffs)
		}
	}
}

// logicalID matches a whole logical id (letters and digits) inside a scalar.
var logicalID = regexp.MustCompile(`[A-Za-z0-9]+`)

// renamed replaces a managed twin's logical id in a scalar (WorkerManagedFunction,
// WorkerManagedFunction.Arn, ${WorkerManagedFunction}) by its default twin's. Only whole ids are
// replaced, so one id inside a longer one (OrdersManagedFunction in FastOrdersManagedFunction) is not.
func renamed(s string, rename map[string]string) string {
	return logicalID.ReplaceAllStringFunc(s, func(id string) string {
		if to, ok := rename[id]; ok {
			return to
		}
		return id
	})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
