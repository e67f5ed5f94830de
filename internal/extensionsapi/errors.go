package extensionsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrNotRegistered is returned by the calls that need an extension identifier before Register
// succeeded.
var ErrNotRegistered = errors.New("extensionsapi: not registered")

// APIError is an answer of the Extensions API that is not a success.
type APIError struct {
	// Op is the call: "register", "next", "init/error" or "exit/error".
	Op string
	// Status is the HTTP status code.
	Status int
	// ErrorType and Message come from Lambda's error document ({"errorType","errorMessage"}); Message
	// is the raw body when the answer was not such a document.
	ErrorType string
	Message   string
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "extensionsapi: %s: status %d", e.Op, e.Status)
	if e.ErrorType != "" {
		b.WriteString(" " + e.ErrorType)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// apiError builds an *APIError from an answer's status and body.
func apiError(op string, status int, body []byte) *APIError {
	e := &APIError{Op: op, Status: status}
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &doc) == nil && (doc.ErrorType != "" || doc.ErrorMessage != "") {
		e.ErrorType, e.Message = doc.ErrorType, doc.ErrorMessage
		return e
	}
	e.Message = strings.TrimSpace(string(body))
	return e
}
