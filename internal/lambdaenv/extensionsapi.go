package lambdaenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// apiError is a Runtime or Extensions API error answer, computed under the lock and written after.
type apiError struct {
	status    int
	errorType string
	message   string
}

func (e *apiError) write(w http.ResponseWriter) {
	writeAPIError(w, e.status, e.errorType, "%s", e.message)
}

func forbidden(errorType, format string, args ...any) *apiError {
	return &apiError{status: http.StatusForbidden, errorType: errorType, message: fmt.Sprintf(format, args...)}
}

// registerRequest is the body of /extension/register.
type registerRequest struct {
	Events []string `json:"events"`
}

// extensionRegister serves POST /2020-01-01/extension/register. A name matching a launched
// executable registers that external extension; any other name is an internal extension (one the
// runtime process registers for itself), which may subscribe to INVOKE only. Registration closes
// when init completes.
func (s *sandbox) extensionRegister(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(headerExtensionName)
	if name == "" {
		forbidden(errExtNameInvalid, "Empty extension name: set the %s header to the executable's file name", headerExtensionName).write(w)
		return
	}
	body, err := readBody(r.Body, maxAPIBodySize)
	if errors.Is(err, errBodyTooLarge) {
		writeAPIError(w, http.StatusRequestEntityTooLarge, errEntityTooLarge, "register body exceeds %d bytes", maxAPIBodySize)
		return
	}
	var req registerRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		forbidden(errRequestFormat, "invalid register body (want {\"events\":[\"INVOKE\",\"SHUTDOWN\"]}): %v", err).write(w)
		return
	}
	var invoke, shutdown bool
	for _, e := range req.Events {
		switch e {
		case EventInvoke:
			if s.fn.cfg.managed() {
				// Lambda Managed Instances send extensions no INVOKE event: registering for it is
				// refused, and the extension's exit then fails init
				// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-execution-environment.html).
				forbidden(errExtInvalidEventType, "INVOKE: extensions on Lambda Managed Instances (AWS_LAMBDA_INITIALIZATION_TYPE=%s) may register for SHUTDOWN only", InitTypeManagedInstances).write(w)
				return
			}
			invoke = true
		case EventShutdown:
			shutdown = true
		default:
			forbidden(errExtInvalidEventType, "%s: unknown event type (want INVOKE or SHUTDOWN)", e).write(w)
			return
		}
	}

	s.mu.Lock()
	g := s.gen
	var aerr *apiError
	switch {
	case g == nil:
		aerr = forbidden(errExtRegistrationClosed, "Extension registration closed already")
	case g.byName[name] != nil:
		aerr = forbidden(errExtInvalidState, "Extension with this name already registered: %s", name)
	case g.phase != phaseExtensionInit && g.phase != phaseRuntimeInit:
		aerr = forbidden(errExtRegistrationClosed, "Extension registration closed already")
	case g.procByName[name] == nil && shutdown:
		aerr = forbidden(errExtInvalidEventType, "SHUTDOWN: %s is not one of the function's extension executables; internal extensions cannot register for SHUTDOWN", name)
	}
	if aerr != nil {
		s.mu.Unlock()
		s.log.Warn("extension register refused", "extension", name, "errorType", aerr.errorType, "error", aerr.message)
		aerr.write(w)
		return
	}
	ext := &extension{id: newUUID(), name: name, proc: g.procByName[name], invoke: invoke, shutdown: shutdown}
	ext.internal = ext.proc == nil
	g.exts[ext.id] = ext
	g.byName[name] = ext
	g.extOrder = append(g.extOrder, ext)
	s.broadcastLocked()
	s.mu.Unlock()
	s.log.Info("extension registered", "extension", name, "events", req.Events, "internal", ext.internal)

	resp := RegisterResponse{FunctionName: s.fn.cfg.Name, FunctionVersion: "$LATEST", Handler: s.fn.cfg.Handler}
	if strings.Contains(r.Header.Get(headerExtensionFeature), "accountId") {
		resp.AccountID = s.fn.env.cfg.AccountID
	}
	w.Header().Set(headerExtensionID, ext.id)
	writeJSON(w, http.StatusOK, resp)
}

// extensionLocked finds the extension named by the request's identifier header. s.mu must be held.
func (s *sandbox) extensionLocked(r *http.Request) (*generation, *extension, *apiError) {
	id := r.Header.Get(headerExtensionID)
	switch {
	case id == "":
		return nil, nil, forbidden(errExtIDMissing, "Missing %s header: register first", headerExtensionID)
	case !isUUID(id):
		return nil, nil, forbidden(errExtIDInvalid, "Invalid %s: %q is not a UUID", headerExtensionID, id)
	}
	g := s.gen
	if g == nil || g.exts[id] == nil {
		return nil, nil, forbidden(errExtIDUnknown, "Unknown extension %s", id)
	}
	return g, g.exts[id], nil
}

// extensionNext serves GET /2020-01-01/extension/event/next: the extension is done with its last
// event; a long poll for the next one (INVOKE or SHUTDOWN).
func (s *sandbox) extensionNext(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	g, ext, aerr := s.extensionLocked(r)
	if aerr != nil {
		s.mu.Unlock()
		aerr.write(w)
		return
	}
	ext.ready = true
	ext.readyAt = time.Now()
	s.broadcastLocked()
	for {
		if s.gen != g {
			s.mu.Unlock()
			writeAPIError(w, http.StatusInternalServerError, errContainer, "Non-recoverable state: the sandbox was reset; the extension should exit promptly")
			return
		}
		if len(ext.queue) > 0 {
			ev := ext.queue[0]
			ext.queue = ext.queue[1:]
			ext.ready = false
			ext.sending++
			s.broadcastLocked()
			s.mu.Unlock()
			w.Header().Set(headerExtensionEventID, newUUID())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, err := w.Write(ev)
			if err == nil {
				err = http.NewResponseController(w).Flush()
			}
			// What the emulator handed over, and when: an extension may be killed (at the SHUTDOWN
			// deadline) before it gets to act on an event it was sent.
			s.log.Debug("extension event sent", "extension", ext.name, "event", json.RawMessage(ev), "error", errString(err))
			s.mu.Lock()
			ext.sending--
			s.broadcastLocked()
			s.mu.Unlock()
			return
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
	}
}

// extensionInitError serves POST /2020-01-01/extension/init/error: init fails with the message.
func (s *sandbox) extensionInitError(w http.ResponseWriter, r *http.Request) {
	s.extensionError(w, r, true)
}

// extensionExitError serves POST /2020-01-01/extension/exit/error: the extension is about to exit
// with an error; the invoke in progress (or the next one) fails and the sandbox is reset.
func (s *sandbox) extensionExitError(w http.ResponseWriter, r *http.Request) {
	s.extensionError(w, r, false)
}

func (s *sandbox) extensionError(w http.ResponseWriter, r *http.Request, atInit bool) {
	body, err := readBody(r.Body, maxAPIBodySize)
	if errors.Is(err, errBodyTooLarge) {
		writeAPIError(w, http.StatusRequestEntityTooLarge, errEntityTooLarge, "error body exceeds %d bytes", maxAPIBodySize)
		return
	}
	errType := r.Header.Get(headerExtensionErrorType)
	s.mu.Lock()
	g, ext, aerr := s.extensionLocked(r)
	switch {
	case aerr != nil:
	case err != nil:
		aerr = &apiError{status: http.StatusBadRequest, errorType: errRequestFormat, message: err.Error()}
	case errType == "":
		aerr = forbidden(errExtMissingHeader, "%s not found", headerExtensionErrorType)
	case atInit && g.phase != phaseExtensionInit && g.phase != phaseRuntimeInit:
		aerr = forbidden(errExtInvalidState, "init/error is accepted only during init (extension %s)", ext.name)
	}
	if aerr != nil {
		s.mu.Unlock()
		aerr.write(w)
		return
	}
	msg := describeError(body, errType)
	if g.phase != phaseShutdown {
		if atInit {
			g.fail(newInvokeError("Extension.InitError", "extension %s failed to initialise: %s: %s", ext.name, errType, msg))
		} else {
			g.fail(newInvokeError("Extension.ExitError", "extension %s exited with an error: %s: %s", ext.name, errType, msg))
		}
	}
	s.broadcastLocked()
	s.mu.Unlock()
	s.log.Warn("extension reported an error", "extension", ext.name, "init", atInit, "errorType", errType, "error", msg)
	writeAccepted(w)
}

// describeError extracts the message of an error body: its errorMessage if it is Lambda's error
// document, else the body itself, else the error type.
func describeError(body []byte, errType string) string {
	var doc ErrorResponse
	if json.Unmarshal(body, &doc) == nil && doc.ErrorMessage != "" {
		return doc.ErrorMessage
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		return s
	}
	return errType
}

// errString is err's message, or "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
