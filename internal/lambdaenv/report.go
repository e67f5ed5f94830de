package lambdaenv

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// InvokeReport is what Lambda reports about one invocation when it ends: the REPORT line it writes
// to the function's log stream, and the PostRuntimeExtensionsDuration metric it publishes. Every
// invocation gets one, written to the function's Output as Lambda writes it and handed to
// FunctionConfig.OnReport.
type InvokeReport struct {
	// Function and Sandbox say where it ran; RequestID is the invocation's request id.
	Function  string
	Sandbox   int
	RequestID string
	// Status is "success", "timeout" or "error" (the function, its init, the runtime or an
	// extension failed it).
	Status string
	// ErrorType is the failure's errorType (e.g. Sandbox.Timedout); empty on success.
	ErrorType string
	// Duration is the invoke phase: from the event's dispatch until the runtime has answered and
	// every extension subscribed to INVOKE has called /event/next again (capped at the timeout). As
	// in Lambda, it includes the extensions' time after the runtime's answer
	// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-invoke).
	Duration time.Duration
	// BilledDuration is Duration plus InitDuration, rounded up to the millisecond: Lambda bills in
	// 1 ms increments (https://aws.amazon.com/lambda/pricing/) and bills the INIT phase of on-demand
	// functions since August 2025
	// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib).
	BilledDuration time.Duration
	// RuntimeDuration is from dispatch to the runtime's answer (platform.runtimeDone's durationMs,
	// https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html#platform-runtimeDone).
	RuntimeDuration time.Duration
	// PostRuntimeExtensionsDuration is the time from the runtime's answer until the last extension
	// subscribed to INVOKE called /event/next: what extensions add to an invocation after the
	// function has answered. Lambda publishes it as the PostRuntimeExtensionsDuration metric
	// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html). Zero when no
	// extension was still busy after the answer, on Lambda Managed Instances (no extension gets
	// INVOKE there), and for an invocation the runtime never answered.
	PostRuntimeExtensionsDuration time.Duration
	// InitDuration is the init phase that this invocation waited for (the first invocation of a
	// new sandbox or of one reset after a failure), zero otherwise; the REPORT line shows it only
	// then.
	InitDuration time.Duration
	// MemorySizeMB is the function's memory setting, MaxMemoryUsedMB the sandbox's processes' peak
	// resident memory so far (their VmHWM, summed), 0 when they are already gone.
	MemorySizeMB, MaxMemoryUsedMB int
}

// Line is the report as Lambda writes it to the function's log stream, e.g.
//
//	REPORT RequestId: 8f5...	Duration: 12.34 ms	Billed Duration: 13 ms	Memory Size: 128 MB	Max Memory Used: 18 MB	Init Duration: 120.50 ms
//
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-view.html and the
// runtimes' logging pages, e.g. https://docs.aws.amazon.com/lambda/latest/dg/golang-logging.html).
// Init Duration appears on the invocation that waited for an init only; a failed invocation ends
// with its Status (timeout or error), as Lambda's do.
func (r InvokeReport) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, ms(r.Duration), r.BilledDuration.Milliseconds(), r.MemorySizeMB, r.MaxMemoryUsedMB)
	if r.InitDuration > 0 {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", ms(r.InitDuration))
	}
	if r.Status != "" && r.Status != ReportSuccess {
		fmt.Fprintf(&b, "\tStatus: %s", r.Status)
		if r.ErrorType != "" && r.Status != ReportTimeout {
			fmt.Fprintf(&b, "\tError Type: %s", r.ErrorType)
		}
	}
	return b.String()
}

// InvokeReport.Status values.
const (
	ReportSuccess = "success"
	ReportTimeout = "timeout"
	ReportError   = "error"
)

// ms is d in milliseconds, with its fraction.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// report builds inv's InvokeReport from its Result, writes its REPORT line to the function's output
// and hands it to OnReport. It runs after the invoke, off its path.
func (s *sandbox) report(inv *invocation, res Result) {
	cfg := s.fn.cfg
	r := InvokeReport{
		Function:     cfg.Name,
		Sandbox:      s.index,
		RequestID:    inv.id,
		Status:       ReportSuccess,
		InitDuration: inv.initDuration,
		MemorySizeMB: cfg.MemoryMB,
	}
	if res.FunctionError != "" {
		r.Status = ReportError
		if err, ok := res.Err().(*InvokeError); ok {
			r.ErrorType = err.Type
		}
		if r.ErrorType == "Sandbox.Timedout" {
			r.Status = ReportTimeout
		}
	}
	// A runtime's late answer to a timed-out invocation may still be recorded: read under the lock.
	s.mu.Lock()
	dispatched, answered, extDone, end, timedOut := inv.dispatched, inv.answered, inv.extensionsDone, inv.ended, inv.timedOut
	if !inv.responded {
		answered = time.Time{}
	}
	s.mu.Unlock()
	if timedOut {
		r.Status = ReportTimeout
	}
	if !dispatched.IsZero() {
		if end.IsZero() {
			end = time.Now()
		}
		r.Duration = min(end.Sub(dispatched), cfg.Timeout)
		if !answered.IsZero() && r.Status != ReportTimeout {
			r.RuntimeDuration = answered.Sub(dispatched)
			if extDone.After(answered) {
				r.PostRuntimeExtensionsDuration = extDone.Sub(answered)
			}
		}
	}
	billed := time.Duration(math.Ceil(ms(r.Duration+r.InitDuration))) * time.Millisecond
	r.BilledDuration = billed
	r.MaxMemoryUsedMB = s.peakMemoryMB()
	prefix := fmt.Sprintf("[%s#%d] ", cfg.Name, s.index)
	s.fn.out.writeLine([]byte(prefix + r.Line() + "\n"))
	s.log.Debug("invoke report", "requestId", r.RequestID, "status", r.Status, "durationMs", ms(r.Duration),
		"runtimeMs", ms(r.RuntimeDuration), "postRuntimeExtensionsMs", ms(r.PostRuntimeExtensionsDuration), "initMs", ms(r.InitDuration))
	if cfg.OnReport != nil {
		cfg.OnReport(r)
	}
}

// peakMemoryMB sums the peak resident memory (VmHWM) of the sandbox's live processes, in MB, and
// keeps the highest sum seen, as Lambda's Max Memory Used is the environment's peak.
func (s *sandbox) peakMemoryMB() int {
	s.mu.Lock()
	var pids []int
	if s.gen != nil {
		for _, p := range s.gen.allProcs() {
			if !p.exited() {
				pids = append(pids, p.pid)
			}
		}
	}
	s.mu.Unlock()
	var kb int
	for _, pid := range pids {
		kb += vmHWMKiB(pid)
	}
	mb := (kb + 1023) / 1024
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peakMB = max(s.peakMB, mb)
	return s.peakMB
}

// vmHWMKiB reads a process's peak resident set size (VmHWM in /proc/PID/status), 0 if unknown.
func vmHWMKiB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// extensionsDoneLocked is when the last extension subscribed to INVOKE called /event/next, for the
// invocation that just completed on g. s.mu must be held.
func (g *generation) extensionsDoneLocked() time.Time {
	var last time.Time
	for _, e := range g.extOrder {
		if e.invoke && e.readyAt.After(last) {
			last = e.readyAt
		}
	}
	return last
}
