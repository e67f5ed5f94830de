package lambdaenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// runtimeNext serves GET /2018-06-01/runtime/invocation/next: a long poll that returns the next
// event with its request id, deadline, function ARN and trace id headers. In the default model the
// runtime must answer its invocation before asking for the next; on Lambda Managed Instances it may
// hold up to AWS_LAMBDA_MAX_CONCURRENCY /next calls and invocations at once
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html, "Lambda Managed Instances
// support concurrent requests").
func (s *sandbox) runtimeNext(w http.ResponseWriter, r *http.Request) {
	managed, limit := s.fn.cfg.managed(), s.fn.cfg.ManagedConcurrency
	s.mu.Lock()
	g := s.gen
	if g == nil || g.runtime == nil {
		s.mu.Unlock()
		writeAPIError(w, http.StatusForbidden, errInvalidStateTransition, "the runtime is not running in this sandbox")
		return
	}
	if managed && g.rtWaiters+len(g.current) >= limit {
		n := len(g.current)
		s.mu.Unlock()
		writeAPIError(w, http.StatusForbidden, errInvalidStateTransition, "AWS_LAMBDA_MAX_CONCURRENCY is %d and %d invocations are running with %d more /next calls open: answer one before asking for another", limit, n, limit-n)
		return
	}
	if !managed && len(g.current) > 0 {
		var id string
		for id = range g.current {
		}
		s.mu.Unlock()
		writeAPIError(w, http.StatusForbidden, errInvalidStateTransition, "invoke %s is still running: post its response or error before asking for the next one", id)
		return
	}
	g.rtWaiters++
	s.broadcastLocked()
	for {
		if s.gen != g {
			g.rtWaiters--
			s.mu.Unlock()
			writeAPIError(w, http.StatusInternalServerError, errContainer, "the sandbox was reset; the runtime should exit")
			return
		}
		if len(g.pending) > 0 {
			inv := g.pending[0]
			g.pending = g.pending[1:]
			g.current[inv.id] = inv
			inv.pickedUp = time.Now()
			g.rtWaiters--
			s.broadcastLocked()
			s.mu.Unlock()
			h := w.Header()
			h.Set(headerRequestID, inv.id)
			h.Set(headerDeadlineMs, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			h.Set(headerInvokedFunctionArn, inv.arn)
			h.Set(headerTraceID, inv.trace)
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(inv.payload)
			return
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			s.mu.Lock()
			g.rtWaiters--
			s.broadcastLocked()
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
	}
}

// runtimeResponse serves POST /2018-06-01/runtime/invocation/{id}/response.
func (s *sandbox) runtimeResponse(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, false)
}

// runtimeError serves POST /2018-06-01/runtime/invocation/{id}/error.
func (s *sandbox) runtimeError(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, true)
}

// answer records the runtime's response or error for the invocation in the path.
func (s *sandbox) answer(w http.ResponseWriter, r *http.Request, isError bool) {
	id := r.PathValue("id")
	body, err := readBody(r.Body, MaxResponseSize)
	tooLarge := errors.Is(err, errBodyTooLarge)
	if err != nil && !tooLarge {
		writeAPIError(w, http.StatusBadRequest, errRequestFormat, "%v", err)
		return
	}
	s.mu.Lock()
	g := s.gen
	if g == nil || g.current[id] == nil {
		s.mu.Unlock()
		writeAPIError(w, http.StatusBadRequest, errInvalidRequestID, "Invalid request ID")
		return
	}
	inv := g.current[id]
	delete(g.current, id)
	if inv.timedOut { // Lambda Managed Instances: the invoke already failed; the worker is free again
		s.broadcastLocked()
		s.mu.Unlock()
		s.log.Info("late answer of a timed-out invocation dropped", "requestId", id)
		writeAccepted(w)
		return
	}
	inv.responded = true
	inv.answered = time.Now()
	status := "success"
	if isError || tooLarge {
		status = "error"
	}
	s.runtimeDoneLocked(g, inv, status)
	switch {
	case tooLarge:
		inv.result = errorResult(inv.id, &InvokeError{
			Type:     "Function.ResponseSizeTooLarge",
			Message:  fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseSize),
			verbatim: true,
		})
	case isError:
		inv.result = Result{Payload: errorPayload(body, r.Header.Get(headerRuntimeErrorType)), FunctionError: FunctionErrorUnhandled}
	default:
		inv.result = Result{Payload: body}
	}
	s.broadcastLocked()
	s.mu.Unlock()
	if tooLarge {
		s.log.Warn("runtime response too large", "requestId", id)
		writeAPIError(w, http.StatusRequestEntityTooLarge, errEntityTooLarge, "Exceeded maximum allowed payload size (%d bytes).", MaxResponseSize)
		return
	}
	writeAccepted(w)
}

// runtimeInitError serves POST /2018-06-01/runtime/init/error: the runtime could not initialise.
// The error document is passed on as the failed invoke's payload.
func (s *sandbox) runtimeInitError(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r.Body, maxAPIBodySize)
	if errors.Is(err, errBodyTooLarge) {
		writeAPIError(w, http.StatusRequestEntityTooLarge, errEntityTooLarge, "init error body exceeds %d bytes", maxAPIBodySize)
		return
	}
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, errRequestFormat, "%v", err)
		return
	}
	var doc ErrorResponse
	validJSON := json.Unmarshal(body, &doc) == nil
	errType := r.Header.Get(headerRuntimeErrorType)
	if errType == "" {
		errType = doc.ErrorType
	}
	if errType == "" {
		errType = "Runtime.Unknown"
	}
	msg := doc.ErrorMessage
	if !validJSON {
		msg = string(body)
	}
	s.mu.Lock()
	g := s.gen
	if g == nil || g.phase != phaseRuntimeInit {
		s.mu.Unlock()
		writeAPIError(w, http.StatusForbidden, errInvalidStateTransition, "init/error is accepted only while the runtime initialises")
		return
	}
	g.fail(&InvokeError{Type: errType, Message: msg, verbatim: true})
	s.broadcastLocked()
	s.mu.Unlock()
	s.log.Warn("runtime init error", "errorType", errType, "error", msg)
	writeAccepted(w)
}
