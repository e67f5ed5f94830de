package samtemplate

import "testing"

// A managed twin's id is read as its default twin's wherever it stands whole, and only there.
func TestRenamedReplacesWholeIDsOnly(t *testing.T) {
	rename := map[string]string{"OrdersManagedFunction": "OrdersFunction", "WorkerManagedFunction": "WorkerFunction"}
	for in, want := range map[string]string{
		"WorkerManagedFunction":                       "WorkerFunction",
		"WorkerManagedFunction.Arn":                   "WorkerFunction.Arn",
		"arn:${WorkerManagedFunction}:x":              "arn:${WorkerFunction}:x",
		"FastOrdersManagedFunction.Arn":               "FastOrdersManagedFunction.Arn",
		"OrdersManagedFunctionRole":                   "OrdersManagedFunctionRole",
		"OrdersManagedFunction WorkerManagedFunction": "OrdersFunction WorkerFunction",
	} {
		if got := renamed(in, rename); got != want {
			t.Errorf("renamed(%q) = %q, want %q", in, got, want)
		}
	}
}
