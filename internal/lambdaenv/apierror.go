package lambdaenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Error types of the Runtime and Extensions APIs' own answers, as Lambda names them.
const (
	errInvalidRequestID       = "InvalidRequestID"
	errInvalidStateTransition = "InvalidStateTransition"
	errEntityTooLarge         = "RequestEntityTooLarge"
	errRequestFormat          = "InvalidRequestFormat"
	errNotFound               = "NotFound"
	errContainer              = "Container.Error"
	errExtNameInvalid         = "Extension.InvalidExtensionName"
	errExtRegistrationClosed  = "Extension.RegistrationClosed"
	errExtIDMissing           = "Extension.MissingExtensionIdentifier"
	errExtIDInvalid           = "Extension.InvalidExtensionIdentifier"
	errExtIDUnknown           = "Extension.UnknownExtensionIdentifier"
	errExtInvalidState        = "Extension.InvalidExtensionState"
	errExtMissingHeader       = "Extension.MissingHeader"
	errExtInvalidEventType    = "Extension.InvalidEventType"
)

// writeJSON writes v as the JSON body of a response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "lambdaenv: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeAPIError answers a Runtime or Extensions API request with Lambda's error document.
func writeAPIError(w http.ResponseWriter, status int, errorType, format string, args ...any) {
	writeJSON(w, status, ErrorResponse{ErrorMessage: fmt.Sprintf(format, args...), ErrorType: errorType})
}

// writeAccepted answers 202 {"status":"OK"}, as Lambda does for responses and errors it took.
func writeAccepted(w http.ResponseWriter) {
	writeJSON(w, http.StatusAccepted, statusResponse{Status: "OK"})
}

// errBodyTooLarge is returned by readBody when the body exceeds its limit.
var errBodyTooLarge = errors.New("body too large")

// readBody reads at most limit bytes of r; a longer body yields errBodyTooLarge (after draining at
// most limit more bytes, so the connection can be reused for small overruns).
func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(b)) > limit {
		_, _ = io.Copy(io.Discard, io.LimitReader(r, limit))
		return nil, errBodyTooLarge
	}
	return b, nil
}
