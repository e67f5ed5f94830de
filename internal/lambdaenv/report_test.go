package lambdaenv

import (
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// reportLog collects a function's output and its InvokeReports.
type reportLog struct {
	mu      sync.Mutex
	out     strings.Builder
	reports []InvokeReport
}

func (l *reportLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.Write(p)
}

func (l *reportLog) add(r InvokeReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reports = append(l.reports, r)
}

func (l *reportLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.out.String(), "\n") {
		if i := strings.Index(line, "REPORT RequestId:"); i >= 0 {
			out = append(out, line[i:])
		}
	}
	return out
}

var reportLine = regexp.MustCompile(`^REPORT RequestId: (\S+)\tDuration: (\d+\.\d\d) ms\tBilled Duration: (\d+) ms\tMemory Size: 256 MB\tMax Memory Used: (\d+) MB(\tInit Duration: \d+\.\d\d ms)?(\tStatus: timeout)?$`)

// Every invocation gets a REPORT line as Lambda writes it and an InvokeReport: Init Duration on the
// first only, Billed Duration the whole of Duration and Init rounded up to the millisecond, and the
// post-runtime extension time: an extension that waits for platform.runtimeDone (buffered at least
// 25 ms) after each answer adds at least that, and Duration is the runtime's time plus it. A
// timed-out invocation is reported as such, its Duration the timeout.
func TestReportPerInvocation(t *testing.T) {
	r := newRig(t, Config{})
	log := &reportLog{}
	f := r.function(FunctionConfig{
		Extensions: []string{r.exe("ext-telemetry")},
		MemoryMB:   256,
		Timeout:    2 * time.Second, InitTimeout: time.Minute,
		Output:   log,
		OnReport: log.add,
	})
	var results []Result
	for range 2 {
		res := r.invoke(f.Name(), `{"action":"echo"}`)
		mustSucceed(t, res)
		results = append(results, res)
	}
	results = append(results, r.invoke(f.Name(), `{"action":"sleep","sleep":"1m"}`))
	mustFail(t, results[2], "Sandbox.Timedout")

	log.mu.Lock()
	reports := append([]InvokeReport(nil), log.reports...)
	log.mu.Unlock()
	if len(reports) != 3 {
		t.Fatalf("%d reports for 3 invocations: %+v", len(reports), reports)
	}
	for i, rep := range reports {
		if rep.RequestID != results[i].RequestID || rep.Function != f.Name() || rep.MemorySizeMB != 256 {
			t.Errorf("report %d: %+v, want request %s of %s with 256 MB", i, rep, results[i].RequestID, f.Name())
		}
		if want := time.Duration(math.Ceil(ms(rep.Duration+rep.InitDuration))) * time.Millisecond; rep.BilledDuration != want {
			t.Errorf("report %d: billed %v for duration %v and init %v, want %v", i, rep.BilledDuration, rep.Duration, rep.InitDuration, want)
		}
		if rep.MaxMemoryUsedMB <= 0 {
			t.Errorf("report %d: Max Memory Used %d MB, want the processes' peak", i, rep.MaxMemoryUsedMB)
		}
	}
	for i, rep := range reports[:2] {
		if rep.Status != ReportSuccess || rep.PostRuntimeExtensionsDuration < 25*time.Millisecond ||
			rep.Duration != rep.RuntimeDuration+rep.PostRuntimeExtensionsDuration || rep.RuntimeDuration <= 0 {
			t.Errorf("report %d: %+v, want success, ≥25ms after the runtime's answer, Duration = runtime + post-runtime", i, rep)
		}
	}
	if reports[0].InitDuration <= 0 || reports[1].InitDuration != 0 {
		t.Errorf("init durations %v, %v: want it on the first invocation only", reports[0].InitDuration, reports[1].InitDuration)
	}
	if to := reports[2]; to.Status != ReportTimeout || to.Duration != 2*time.Second || to.PostRuntimeExtensionsDuration != 0 {
		t.Errorf("timed-out invocation reported %+v, want status timeout, Duration 2s, no post-runtime time", to)
	}

	lines := log.lines()
	if len(lines) != 3 {
		t.Fatalf("%d REPORT lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		m := reportLine.FindStringSubmatch(line)
		if m == nil || m[1] != results[i].RequestID || (m[5] != "") != (i == 0) || (m[6] != "") != (i == 2) {
			t.Errorf("REPORT line %d %q: want Lambda's format, for %s, Init Duration on the first only, Status: timeout on the last", i, line, results[i].RequestID)
		}
		if line != reports[i].Line() {
			t.Errorf("REPORT line %d %q differs from its InvokeReport's %q", i, line, reports[i].Line())
		}
	}
}
