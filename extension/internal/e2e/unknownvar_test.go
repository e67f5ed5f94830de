package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// A misspelt BREAKERBOX_ variable is named at start-up, with the variable meant, and the extension
// still starts; variables the clients or the ventilator read are not warned about.
func TestStartupWarnsAboutAnUnknownVariable(t *testing.T) {
	r := newRig(t, rigOptions{Env: []string{"BREAKERBOX_FAILMODE=closed", "BREAKERBOX_DISABLED=false", "BREAKERBOX_CIRCUIT=inventory"}})
	if res := r.invoke(get("/healthz")).Results; res[0].Status != 200 {
		t.Fatalf("healthz: %d %s", res[0].Status, res[0].Body)
	}
	var warned []string
	for _, line := range strings.Split(r.out.String(), "\n") {
		i := strings.Index(line, `{"time"`)
		if i < 0 {
			continue
		}
		var rec struct {
			Level, Msg, Variable, Closest string
		}
		if json.Unmarshal([]byte(line[i:]), &rec) != nil || rec.Variable == "" {
			continue
		}
		if rec.Level != "WARN" || rec.Closest == "" {
			t.Errorf("%s: want a WARN naming the closest variable", line)
		}
		warned = append(warned, rec.Variable+"->"+rec.Closest)
		if !strings.Contains(rec.Msg, "did you mean "+rec.Closest) {
			t.Errorf("message %q does not say what to set", rec.Msg)
		}
	}
	if len(warned) != 1 || warned[0] != "BREAKERBOX_FAILMODE->BREAKERBOX_FAIL_MODE" {
		t.Errorf("start-up warnings %v, want exactly BREAKERBOX_FAILMODE->BREAKERBOX_FAIL_MODE\n%s", warned, r.out.String())
	}
}
