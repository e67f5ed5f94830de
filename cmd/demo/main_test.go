package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/internal/testkit"
)

// shortFlags make a demo of about 40 s of scenario that still trips and recovers. The outage lasts
// long enough for the checker to trip the circuit on its own (5 failed probes 2 s apart, once the
// 12 s window holds fewer than minimum calls) even when the ventilator paused itself before its
// calls proved the failure rate: on a loaded machine the extension's own trip can come too late.
var shortFlags = []string{
	"-healthy", "4s", "-degraded", "5s", "-down", "18s", "-recovered", "12s",
	"-max-open-duration", "8s", "-drain", "45s", "-row-every", "1s", "-color", "never",
	// The backstop schedule stays out of the run, so the wake-up the test sees is the event's and
	// not a schedule that happened to fire first on a slow machine.
	"-wake-every", "5m",
}

// buildDemo compiles the demo program (with the race detector when the tests have it).
func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demo")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command(goTool(), append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build the demo: %v\n%s", err, out)
	}
	return bin
}

func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

var summaryRE = regexp.MustCompile(`(?m)^summary: fed=(\d+) succeeded=(\d+) dlq=(\d+) lost=(\d+) duplicates=(\d+) trips=(\d+) recoveries=(\d+)$`)

// parseSummary returns the fields of the summary line, which must be the output's last line.
func parseSummary(t *testing.T, out string) map[string]int {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	m := summaryRE.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("the last line is not the summary line: %q", last)
	}
	got := map[string]int{}
	for i, k := range []string{"fed", "succeeded", "dlq", "lost", "duplicates", "trips", "recoveries"} {
		got[k], _ = strconv.Atoi(m[i+1])
	}
	return got
}

// TestShortDemo runs the real demo program shortened and holds it to its promises: nothing lost,
// nothing processed twice, every record accounted for, at least one trip and one recovery, a valid
// SVG chart, the transitions and metric lines written, and no process left behind.
func TestShortDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about a minute")
	}
	bin := buildDemo(t)
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-out", out}, shortFlags...)...)
	cmd.Env = withoutEndpoint(os.Environ())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("demo ran in %s; output:\n%s", time.Since(start).Round(time.Second), stdout.String())
	if err != nil {
		t.Fatalf("demo failed: %v\nstderr:\n%s", err, stderr.String())
	}

	s := parseSummary(t, stdout.String())
	if s["lost"] != 0 || s["duplicates"] != 0 {
		t.Errorf("lost=%d duplicates=%d, want 0 and 0", s["lost"], s["duplicates"])
	}
	if s["fed"] < 100 {
		t.Errorf("only %d records fed", s["fed"])
	}
	if s["succeeded"]+s["dlq"] != s["fed"] {
		t.Errorf("succeeded %d + dlq %d != fed %d: a record is unaccounted for", s["succeeded"], s["dlq"], s["fed"])
	}
	if strings.Contains(stdout.String(), "unknown ids") {
		t.Error("records were charged or dead-lettered that the feeder does not count as fed")
	}
	if s["trips"] < 1 || s["recoveries"] < 1 {
		t.Errorf("trips=%d recoveries=%d, want at least one of each", s["trips"], s["recoveries"])
	}
	for _, want := range []string{"curl -s http://127.0.0.1:", "/v1/circuits/payments", "circuit CLOSED → OPEN", "→ CLOSED", "provider DOWN", "every record succeeded or is in the dead-letter queue",
		"woken by the circuit's state-change event"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the timeline does not show %q", want)
		}
	}

	checkSVG(t, filepath.Join(out, "timeline.svg"))
	events := readJSONLines(t, filepath.Join(out, "transitions.jsonl"))
	trips := 0
	for _, e := range events {
		if e["kind"] == "circuit" && e["from"] == "CLOSED" && e["to"] == "OPEN" {
			trips++
		}
	}
	if trips != s["trips"] {
		t.Errorf("transitions.jsonl holds %d trips, the summary %d", trips, s["trips"])
	}
	for _, e := range events {
		if e["kind"] == "mapping" && e["to"] == "Disabled" && (e["phase"] == "healthy" || e["phase"] == "degraded") {
			t.Errorf("the mapping was disabled in the %v phase: %v (no disable/enable churn before the outage)", e["phase"], e)
		}
	}
	metrics := readJSONLines(t, filepath.Join(out, "metrics.jsonl"))
	if len(metrics) == 0 {
		t.Error("no EMF line captured")
	}
	for _, m := range metrics {
		if _, ok := m["_aws"]; !ok || m["BatchSize"] == nil {
			t.Fatalf("metrics.jsonl holds a line that is not the ventilator's EMF: %v", m)
		}
	}
	checkNothingLeft(t, stdout.String(), out)
}

// TestInterruptedDemo stops the demo with SIGINT in the middle: it must print the summary so far,
// exit 130, and leave no process behind.
func TestInterruptedDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes a while to start")
	}
	bin := buildDemo(t)
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(bin, append([]string{"-out", out}, shortFlags...)...)
	cmd.Env = withoutEndpoint(os.Environ())
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	// exec copies stderr from its own goroutine; the failure messages below read it meanwhile.
	var stderr testkit.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var all testkit.SyncBuffer
	text := all.String
	sawRow, readDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			_, _ = all.Write([]byte(sc.Text() + "\n"))
			if !signalled && strings.Contains(sc.Text(), "  degraded  ") {
				signalled = true
				close(sawRow)
			}
		}
	}()
	select {
	case <-sawRow:
	case <-time.After(4 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the timeline never reached the degraded phase:\n%s\n%s", text(), stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the demo did not stop within a minute of SIGINT")
	}
	pw.Close()
	<-readDone
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130", err)
	}
	got := text()
	t.Logf("output:\n%s", got)
	if !strings.Contains(got, "Summary so far (interrupted)") {
		t.Errorf("no summary so far after SIGINT:\n%s", got)
	}
	s := parseSummary(t, got)
	if s["lost"] != 0 || s["duplicates"] != 0 {
		t.Errorf("lost=%d duplicates=%d after an interruption, want 0 and 0", s["lost"], s["duplicates"])
	}
	checkNothingLeft(t, got, out)
}

// withoutEndpoint drops AWS_ENDPOINT_URL, so the demo starts its own moto_server.
func withoutEndpoint(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") {
			out = append(out, kv)
		}
	}
	return out
}

// checkSVG parses the chart as XML to its end and wants an <svg> root.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("chart: %v", err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart %s is not well-formed XML: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("chart root element %q, want svg", root)
	}
}

func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %q: %v", path, sc.Text(), err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var motoRE = regexp.MustCompile(`moto_server on (http://127\.0\.0\.1:(\d+))`)

// checkNothingLeft wants no process running from the demo's build directory and the demo's
// moto_server gone.
func checkNothingLeft(t *testing.T, stdout, out string) {
	t.Helper()
	binDir, err := filepath.Abs(filepath.Join(out, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if cmdline := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmdline, binDir) {
			t.Errorf("process left behind: %s (%s)", filepath.Dir(p), cmdline)
		}
	}
	if m := motoRE.FindStringSubmatch(stdout); m != nil {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+m[2], time.Second); err == nil {
			c.Close()
			t.Errorf("moto_server still answers on %s", m[1])
		}
	} else {
		t.Error("the output does not say where moto_server ran")
	}
}
