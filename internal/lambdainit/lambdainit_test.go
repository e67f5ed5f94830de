package lambdainit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/breakerbox/breakerbox/internal/lambdainit"
)

func TestReportInitError(t *testing.T) {
	var got map[string]any
	var header string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/2018-06-01/runtime/init/error" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		header = r.Header.Get("Lambda-Runtime-Function-Error-Type")
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	api := strings.TrimPrefix(srv.URL, "http://")
	if err := lambdainit.ReportInitError(context.Background(), api, errors.New("DLQ_URL is required and not set")); err != nil {
		t.Fatal(err)
	}
	if got["errorMessage"] != "DLQ_URL is required and not set" || got["errorType"] != lambdainit.ErrorType || header != lambdainit.ErrorType {
		t.Fatalf("posted %v with type header %q", got, header)
	}
	if err := lambdainit.ReportInitError(context.Background(), api+"/nope", errors.New("x")); err == nil {
		t.Fatal("a 404 was taken for success")
	}
}

func TestLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	env := map[string]string{"AWS_LAMBDA_LOG_LEVEL": "warn"}
	log := lambdainit.Logger(&buf, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "worker")
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "shown" || line["function"] != "worker" {
		t.Fatalf("log %q (%v)", buf.String(), err)
	}
}
