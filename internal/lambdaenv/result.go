package lambdaenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors of the platform (not of the function), returned by Env.Invoke and Function.Invoke.
var (
	// ErrFunctionNotFound: no function of that name was added to the Env.
	ErrFunctionNotFound = errors.New("function not found")
	// ErrTooManyRequests: every sandbox is busy and the function is at its maximum concurrency
	// (Lambda's 429 TooManyRequestsException).
	ErrTooManyRequests = errors.New("too many requests: function is at its maximum concurrency")
	// ErrClosed: the Env or function is closed.
	ErrClosed = errors.New("lambda environment closed")
)

// Result is the outcome of a completed invoke, as the Invoke API reports it.
type Result struct {
	// Payload is the function's response, or the error document when FunctionError is set.
	Payload []byte
	// FunctionError is "" on success and "Unhandled" when the function, its init, an extension or
	// the timeout failed the invoke (the X-Amz-Function-Error header).
	FunctionError string
	// RequestID is the invoke's request id, as the runtime and extensions saw it.
	RequestID string
	// RuntimeDuration is the time from the invoke's dispatch to the runtime's answer, and Duration
	// the time to its end, when every extension had asked for its next event: Duration minus
	// RuntimeDuration is what the extensions added after the runtime answered (Lambda's
	// platform.runtimeDone and platform.report durations). Both are zero for a failed invoke, but
	// for one that timed out in the default model after its runtime had answered: the extensions
	// held it past the timeout, and both durations say by how much.
	RuntimeDuration, Duration time.Duration
}

// Err returns nil for a successful invoke and an *InvokeError describing the failure otherwise.
func (r Result) Err() error {
	if r.FunctionError == "" {
		return nil
	}
	var doc ErrorResponse
	if err := json.Unmarshal(r.Payload, &doc); err != nil || (doc.ErrorType == "" && doc.ErrorMessage == "") {
		return &InvokeError{Type: r.FunctionError, Message: string(r.Payload)}
	}
	return &InvokeError{Type: doc.ErrorType, Message: doc.ErrorMessage}
}

// InvokeError is a failed invoke: Type is Lambda's errorType (e.g. "Sandbox.Timedout",
// "Runtime.ExitError", "Extension.InitError" or the function's own error type).
type InvokeError struct {
	Type    string // Lambda's errorType
	Message string // errorMessage, "RequestId: <id> Error: ..." for platform errors
	// verbatim marks an error document written by the runtime itself, which Lambda passes on
	// unchanged (no "RequestId: ... Error:" prefix).
	verbatim bool
}

// Error implements error.
func (e *InvokeError) Error() string { return e.Type + ": " + e.Message }

// newInvokeError builds a platform error with a formatted message.
func newInvokeError(errorType, format string, args ...any) *InvokeError {
	return &InvokeError{Type: errorType, Message: fmt.Sprintf(format, args...)}
}

// errorResult turns a platform error into the Result Lambda returns for it: an Unhandled function
// error whose payload is {"errorMessage":"RequestId: <id> Error: <message>","errorType":...}.
func errorResult(requestID string, e *InvokeError) Result {
	msg := e.Message
	if !e.verbatim {
		msg = fmt.Sprintf("RequestId: %s Error: %s", requestID, e.Message)
	}
	b, _ := json.Marshal(ErrorResponse{ErrorMessage: msg, ErrorType: e.Type})
	return Result{Payload: b, FunctionError: FunctionErrorUnhandled, RequestID: requestID}
}

// errorPayload normalises what a runtime posted to /error: a JSON object is passed on verbatim, as
// Lambda does; anything else is wrapped into an error document of the given type.
func errorPayload(body []byte, errorType string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil && obj != nil {
		return body
	}
	if errorType == "" {
		errorType = FunctionErrorUnhandled
	}
	b, _ := json.Marshal(ErrorResponse{ErrorMessage: string(body), ErrorType: errorType})
	return b
}
