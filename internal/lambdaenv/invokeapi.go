package lambdaenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

// AWS error types of the Invoke API (the X-Amzn-ErrorType header).
const (
	awsResourceNotFound   = "ResourceNotFoundException"
	awsTooManyRequests    = "TooManyRequestsException"
	awsRequestTooLarge    = "RequestTooLargeException"
	awsInvalidContent     = "InvalidRequestContentException"
	awsInvalidParameter   = "InvalidParameterValueException"
	awsService            = "ServiceException"
	awsUnknownOperation   = "UnknownOperationException"
	headerFunctionError   = "X-Amz-Function-Error"
	headerExecutedVersion = "X-Amz-Executed-Version"
	headerInvocationType  = "X-Amz-Invocation-Type"
	headerAWSRequestID    = "X-Amzn-Requestid"
	headerAWSErrorType    = "X-Amzn-ErrorType"
)

// routes serves the Invoke API for local functions and proxies every other request upstream.
func (e *Env) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", e.serveInvoke)
	mux.Handle("/", e.proxy())
	return mux
}

// awsError writes an AWS REST-JSON error as the Lambda service does.
func awsError(w http.ResponseWriter, status int, errorType, message string, extra map[string]string) {
	body := map[string]string{"Type": "User", "message": message}
	if status >= 500 {
		body["Type"] = "Service"
	}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set(headerAWSErrorType, errorType)
	w.Header().Set(headerAWSRequestID, newUUID())
	writeJSON(w, status, body)
}

// serveInvoke serves POST /2015-03-31/functions/{name}/invocations: RequestResponse (default),
// Event (202, runs in the background) and DryRun (204).
func (e *Env) serveInvoke(w http.ResponseWriter, r *http.Request) {
	name, qualifier := FunctionNameFromARN(r.PathValue("name"))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	f, ok := e.Function(name)
	if !ok || (qualifier != "" && qualifier != "$LATEST") {
		arn := functionARN(e.cfg.Region, e.cfg.AccountID, name)
		if qualifier != "" {
			arn += ":" + qualifier
		}
		awsError(w, http.StatusNotFound, awsResourceNotFound, "Function not found: "+arn, nil)
		return
	}
	payload, err := readBody(r.Body, MaxRequestSize)
	if errors.Is(err, errBodyTooLarge) {
		awsError(w, http.StatusRequestEntityTooLarge, awsRequestTooLarge, fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", MaxRequestSize), nil)
		return
	}
	if err != nil {
		awsError(w, http.StatusBadRequest, awsInvalidContent, err.Error(), nil)
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		awsError(w, http.StatusBadRequest, awsInvalidContent, "Could not parse request body into json: the payload is not valid JSON", nil)
		return
	}
	switch t := r.Header.Get(headerInvocationType); t {
	case "DryRun":
		w.Header().Set(headerAWSRequestID, newUUID())
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		if err := e.InvokeAsync(f.Name(), payload); err != nil {
			awsError(w, http.StatusServiceUnavailable, awsService, err.Error(), nil)
			return
		}
		w.Header().Set(headerAWSRequestID, newUUID())
		w.WriteHeader(http.StatusAccepted)
	case "", "RequestResponse":
		res, err := f.Invoke(r.Context(), payload)
		switch {
		case errors.Is(err, ErrTooManyRequests):
			awsError(w, http.StatusTooManyRequests, awsTooManyRequests, "Rate Exceeded.", map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})
			return
		case errors.Is(err, ErrClosed):
			awsError(w, http.StatusServiceUnavailable, awsService, err.Error(), nil)
			return
		case err != nil: // the caller went away
			e.log.Info("invoke abandoned by its caller", "function", f.Name(), "error", err.Error())
			return
		}
		h := w.Header()
		h.Set(headerAWSRequestID, res.RequestID)
		h.Set(headerExecutedVersion, "$LATEST")
		h.Set("Content-Type", "application/json")
		if res.FunctionError != "" {
			h.Set(headerFunctionError, res.FunctionError)
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(res.Payload)
	default:
		awsError(w, http.StatusBadRequest, awsInvalidParameter, fmt.Sprintf("invalid X-Amz-Invocation-Type %q: want RequestResponse, Event or DryRun", t), nil)
	}
}

// proxy forwards requests to the upstream, or answers 404 without one.
func (e *Env) proxy() http.Handler {
	if e.upstream == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			awsError(w, http.StatusNotFound, awsUnknownOperation, fmt.Sprintf("lambdaenv serves only the Invoke API of local functions and has no upstream for %s %s", r.Method, r.URL.Path), nil)
		})
	}
	up := e.upstream
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			e.log.Warn("upstream request failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
			awsError(w, http.StatusBadGateway, awsService, "lambdaenv: upstream "+up.String()+": "+err.Error(), nil)
		},
	}
}
