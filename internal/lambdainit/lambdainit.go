// Package lambdainit holds what breakerbox's Go functions do before they serve invokes: a
// structured JSON logger on stderr, and failing init with a clear message.
package lambdainit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// ErrorType is the error type reported for a failed init.
const ErrorType = "Runtime.ConfigError"

// Logger returns a JSON logger on w (os.Stderr in a function) with the level of
// AWS_LAMBDA_LOG_LEVEL (DEBUG, INFO, WARN, ERROR; default INFO), tagged with the function's role.
func Logger(w io.Writer, lookup func(string) (string, bool), role string) *slog.Logger {
	level := slog.LevelInfo
	if v, ok := lookup("AWS_LAMBDA_LOG_LEVEL"); ok {
		switch strings.ToUpper(strings.TrimSpace(v)) {
		case "DEBUG", "TRACE":
			level = slog.LevelDebug
		case "WARN":
			level = slog.LevelWarn
		case "ERROR", "FATAL":
			level = slog.LevelError
		}
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("function", role)
}

// Fail logs err, reports it to the Lambda Runtime API's /runtime/init/error (when
// AWS_LAMBDA_RUNTIME_API is set) so that the invoke that started the sandbox fails with the
// message, and exits with status 1.
func Fail(log *slog.Logger, err error) {
	log.Error("init failed", "error", err.Error())
	if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		if rerr := ReportInitError(context.Background(), api, err); rerr != nil {
			log.Error("reporting the init error to the Runtime API failed", "error", rerr.Error())
		}
	}
	os.Exit(1)
}

// ReportInitError posts err to http://api/2018-06-01/runtime/init/error, within 2 seconds.
func ReportInitError(ctx context.Context, api string, err error) error {
	body, merr := json.Marshal(map[string]any{"errorMessage": err.Error(), "errorType": ErrorType, "stackTrace": []string{}})
	if merr != nil {
		return fmt.Errorf("lambdainit: encode init error: %w", merr)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return fmt.Errorf("lambdainit: init error request: %w", rerr)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", ErrorType)
	resp, derr := http.DefaultClient.Do(req)
	if derr != nil {
		return fmt.Errorf("lambdainit: post init error: %w", derr)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("lambdainit: post init error: status %d", resp.StatusCode)
	}
	return nil
}
