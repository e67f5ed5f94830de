package lambdaenv

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// telemetryListener starts the "telemetry" helper extension's listener, first tries a subscription
// with a bad schema version (logging the answer), then subscribes to platform events with the
// smallest buffering timeout. Each platform.runtimeDone record is sent on the returned channel.
func telemetryListener(name, id string) chan RuntimeDoneRecord {
	done := make(chan RuntimeDoneRecord, 64)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		hlog(name, "listen-failed", err.Error())
		return nil
	}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var batch []TelemetryEvent
			if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
				hlog(name, "bad-batch", err.Error())
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			for _, ev := range batch {
				if ev.Type != "platform.runtimeDone" {
					continue
				}
				var rec RuntimeDoneRecord
				_ = json.Unmarshal(ev.Record, &rec)
				hlog(name, "runtime-done", rec)
				done <- rec
			}
		}))
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	subscribe := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, "http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2022-07-01/telemetry", strings.NewReader(body))
		req.Header.Set("Lambda-Extension-Identifier", id)
		req.Header.Set("Content-Type", "application/json")
		return do(req)
	}
	status, body := subscribe(`{"schemaVersion":"2020-01-01","destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:` + port + `"},"types":["platform"]}`)
	hlog(name, "bad-subscription", map[string]any{"status": status, "body": body})
	status, body = subscribe(`{"schemaVersion":"2025-01-29","destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:` + port + `/events"},"types":["platform","function"],"buffering":{"timeoutMs":25}}`)
	hlog(name, "subscribed", map[string]any{"status": status, "body": body})
	return done
}

// waitRuntimeDone waits (at most a minute) for the runtimeDone of requestID before the extension
// asks for its next event, as an extension that must finish its work before a freeze does.
func waitRuntimeDone(name string, done chan RuntimeDoneRecord, requestID string) {
	timeout := time.After(time.Minute)
	for {
		select {
		case rec := <-done:
			if rec.RequestID == requestID {
				hlog(name, "invoke-flushed", map[string]any{"requestId": requestID})
				return
			}
		case <-timeout:
			hlog(name, "runtime-done-missing", map[string]any{"requestId": requestID})
			return
		}
	}
}
