package telemetryapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Subscribe sends the documented body with the extension's identifier, and an error answer is an
// error that carries the status and the API's message.
func TestSubscribe(t *testing.T) {
	var got map[string]any
	var id string
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/2022-07-01/telemetry" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		id = r.Header.Get("Lambda-Extension-Identifier")
		_ = json.NewDecoder(r.Body).Decode(&got)
		if refuse {
			http.Error(w, `{"errorType":"ValidationError","errorMessage":"bad URI"}`, http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "OK")
	}))
	defer srv.Close()
	c, err := New(strings.TrimPrefix(srv.URL, "http://"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(context.Background(), "ext-1", Subscription{Types: []string{"platform"}, URI: "http://sandbox.localdomain:1234", TimeoutMs: 1}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"buffering":{"maxBytes":262144,"maxItems":1000,"timeoutMs":25},"destination":{"URI":"http://sandbox.localdomain:1234","protocol":"HTTP"},"schemaVersion":"2025-01-29","types":["platform"]}`
	if string(b) != want || id != "ext-1" {
		t.Errorf("subscription %s with id %q, want %s with ext-1", b, id, want)
	}
	refuse = true
	err = c.Subscribe(context.Background(), "ext-1", Subscription{Types: []string{"platform"}, URI: "http://x:1"})
	if err == nil || !strings.Contains(err.Error(), "status 400") || !strings.Contains(err.Error(), "bad URI") {
		t.Errorf("refused subscription: %v", err)
	}
	if err := c.Subscribe(context.Background(), "", Subscription{Types: []string{"platform"}, URI: "http://x:1"}); err == nil {
		t.Error("subscription without an extension id accepted")
	}
	if _, err := New("", Options{}); err == nil {
		t.Error("empty runtime API accepted")
	}
}

func post(t *testing.T, l *Listener, body string) int {
	t.Helper()
	resp, err := http.Post("http://"+l.ln.Addr().String(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A runtimeDone reaches its waiter whether it arrives before or after the wait starts; other events
// are ignored; a bad batch is refused with 400; a wait ends with its context.
func TestListener(t *testing.T) {
	l, err := Listen(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.HasPrefix(l.URI(), "http://sandbox.localdomain:") {
		t.Errorf("URI %s", l.URI())
	}
	if code := post(t, l, `[{"time":"t","type":"platform.start","record":{"requestId":"a"}},{"time":"t","type":"platform.runtimeDone","record":{"requestId":"early","status":"success","metrics":{"durationMs":1}}}]`); code != 200 {
		t.Fatalf("status %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rd, err := l.WaitRuntimeDone(ctx, "early"); err != nil || rd.Status != "success" {
		t.Errorf("early runtimeDone: %+v %v", rd, err)
	}

	got := make(chan RuntimeDone, 1)
	go func() {
		rd, err := l.WaitRuntimeDone(ctx, "late")
		if err != nil {
			t.Error(err)
		}
		got <- rd
	}()
	// Poll until the waiter is registered, then deliver.
	for {
		l.mu.Lock()
		_, waiting := l.waiters["late"]
		l.mu.Unlock()
		if waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if code := post(t, l, `[{"time":"t","type":"platform.runtimeDone","record":{"requestId":"late","status":"error"}}]`); code != 200 {
		t.Fatalf("status %d", code)
	}
	if rd := <-got; rd.Status != "error" {
		t.Errorf("late runtimeDone: %+v", rd)
	}

	if code := post(t, l, `{"not":"an array"}`); code != 400 {
		t.Errorf("bad batch: status %d, want 400", code)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	if _, err := l.WaitRuntimeDone(short, "never"); !errors.Is(err, ErrNoRuntimeDone) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("missing runtimeDone: %v", err)
	}
	resp, err := http.Get("http://" + l.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// Records nobody waits for are kept only up to a bound.
func TestListenerKeepsBoundedRecords(t *testing.T) {
	l := &Listener{done: map[string]RuntimeDone{}, waiters: map[string]chan RuntimeDone{}}
	for i := range keepDone + 10 {
		l.arrived(RuntimeDone{RequestID: string(rune('a'+i%26)) + time.Duration(i).String()})
	}
	if len(l.done) != keepDone || len(l.order) != keepDone {
		t.Errorf("kept %d/%d records, want %d", len(l.done), len(l.order), keepDone)
	}
}
