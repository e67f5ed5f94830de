package samtemplate_test

import (
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/breakerbox/breakerbox/internal/lambdaenv"
)

// modelDifferences are the only places a function's twin on Lambda Managed Instances may differ
// from its declaration for the default model: the condition that picks the model, the capacity
// provider, the memory size (2 GB or more there) and the names of its schedule rules (both twins
// exist for a moment while CloudFormation replaces one by the other, and rule names are unique).
var modelDifferences = regexp.MustCompile(`^(Condition|Properties\.CapacityProviderConfig|Properties\.MemorySize|Properties\.Events\.[A-Za-z0-9]+\.Properties\.Name)$`)

// TestTwinsDifferOnlyInTheirModel: the template declares each function twice, and an edit to one
// declaration that is not made to the other (a variable, a grant, an event) fails here.
func TestTwinsDifferOnlyInTheirModel(t *testing.T) {
	tpl := loadTemplate(t, "lambda")
	twins, err := tpl.Twins()
	if err != nil {
		t.Fatal(err)
	}
	if len(twins) < 4 {
		t.Fatalf("found %d twins %v, want one per function (checker, ventilator, worker, orders, ...)", len(twins), twins)
	}
	for _, tw := range twins {
		diffs, err := tpl.Differences(tw)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			if !modelDifferences.MatchString(d) {
				t.Errorf("%s and %s differ at %s: make the same change to both (only %s may differ)", tw.Default, tw.Managed, d, modelDifferences)
			}
		}
		for _, must := range []string{"Condition", "Properties.CapacityProviderConfig"} {
			if !slices.Contains(diffs, must) {
				t.Errorf("%s and %s do not differ at %s", tw.Default, tw.Managed, must)
			}
		}
	}
}

// TestEachModelRunsItsOwnTwins: ExecutionModel lambda deploys every function without a capacity
// provider; managed-instances deploys the other twin of each, on the template's capacity provider,
// with at least 2 GB and the PerEnvironmentMaxConcurrency parameter's invocations per environment.
// Every schedule rule name of one model is distinct from the other's.
func TestEachModelRunsItsOwnTwins(t *testing.T) {
	twins, err := loadTemplate(t, "lambda").Twins()
	if err != nil {
		t.Fatal(err)
	}
	perEnv, err := strconv.Atoi(loadTemplate(t, "managed-instances").Parameter("PerEnvironmentMaxConcurrency"))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string][]string{}
	ruleNames := map[string]string{}
	for _, model := range models {
		for _, f := range loadFunctions(t, model) {
			ids[model] = append(ids[model], f.LogicalID)
			managed := model == "managed-instances"
			switch {
			case managed && (f.CapacityProvider != "CapacityProvider" || f.ManagedConcurrency != perEnv || f.MemoryMB < lambdaenv.ManagedMinMemoryMB):
				t.Errorf("%s on %s: capacity provider %q, %d invocations per environment, %d MB; want CapacityProvider, %d, at least %d MB",
					f.LogicalID, model, f.CapacityProvider, f.ManagedConcurrency, f.MemoryMB, perEnv, lambdaenv.ManagedMinMemoryMB)
			case !managed && (f.CapacityProvider != "" || f.ManagedConcurrency != 0):
				t.Errorf("%s on %s: capacity provider %q, want none", f.LogicalID, model, f.CapacityProvider)
			}
			for _, name := range f.ScheduleNames {
				if other, dup := ruleNames[name]; dup {
					t.Errorf("schedule rule name %q is used by %s and %s: the twins briefly exist together when the model changes", name, other, f.LogicalID)
				}
				ruleNames[name] = f.LogicalID
			}
		}
	}
	if len(ruleNames) < 2 {
		t.Fatalf("found schedule rule names %v, want the checker's of both models", ruleNames)
	}
	for _, model := range models {
		var want []string
		for _, tw := range twins {
			if model == "lambda" {
				want = append(want, tw.Default)
			} else {
				want = append(want, tw.Managed)
			}
		}
		slices.Sort(want)
		if !slices.Equal(ids[model], want) {
			t.Errorf("ExecutionModel %s deploys %v, want %v", model, ids[model], want)
		}
	}
}
