package lambdaenv

// Lambda API header names, as the runtime, extensions and Invoke APIs use them.
const (
	headerRequestID          = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMs         = "Lambda-Runtime-Deadline-Ms"
	headerInvokedFunctionArn = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID            = "Lambda-Runtime-Trace-Id"
	headerRuntimeErrorType   = "Lambda-Runtime-Function-Error-Type"

	headerExtensionName      = "Lambda-Extension-Name"
	headerExtensionID        = "Lambda-Extension-Identifier"
	headerExtensionEventID   = "Lambda-Extension-Event-Identifier"
	headerExtensionErrorType = "Lambda-Extension-Function-Error-Type"
	headerExtensionFeature   = "Lambda-Extension-Accept-Feature"
)

// Limits that Lambda enforces and that the emulator enforces the same way.
const (
	// MaxResponseSize is the largest response a runtime may post for a synchronous invoke (6 MB plus
	// Lambda's 100 bytes of slack); a larger one is refused with 413 and the invoke fails with
	// Function.ResponseSizeTooLarge.
	MaxResponseSize = 6*1024*1024 + 100
	// MaxRequestSize is the largest synchronous Invoke request payload (6 MB).
	MaxRequestSize = 6 * 1024 * 1024
	// maxAPIBodySize bounds the bodies of Extensions API and init/error requests.
	maxAPIBodySize = 1 << 20
)

// Extension event types.
const (
	EventInvoke   = "INVOKE"
	EventShutdown = "SHUTDOWN"
)

// InitTypeManagedInstances is AWS_LAMBDA_INITIALIZATION_TYPE on Lambda Managed Instances.
const InitTypeManagedInstances = "lambda-managed-instances"

// SHUTDOWN reasons.
const (
	ShutdownSpindown = "spindown"
	ShutdownTimeout  = "timeout"
	ShutdownFailure  = "failure"
)

// FunctionErrorUnhandled is the X-Amz-Function-Error value (and Result.FunctionError) of a failed
// invoke, whatever failed: the function, its init, an extension or the timeout.
const FunctionErrorUnhandled = "Unhandled"

// Tracing is the X-Ray tracing block of an INVOKE event.
type Tracing struct {
	Type  string `json:"type"`  // "X-Amzn-Trace-Id"
	Value string `json:"value"` // the trace header value
}

// InvokeEvent is the body of an INVOKE event returned by /extension/event/next.
type InvokeEvent struct {
	EventType          string  `json:"eventType"`          // "INVOKE"
	DeadlineMs         int64   `json:"deadlineMs"`         // the invoke's deadline, Unix milliseconds
	RequestID          string  `json:"requestId"`          // the invoke's request id
	InvokedFunctionArn string  `json:"invokedFunctionArn"` // the function's ARN
	Tracing            Tracing `json:"tracing"`            // the X-Ray trace header
}

// ShutdownEvent is the body of a SHUTDOWN event returned by /extension/event/next.
type ShutdownEvent struct {
	EventType      string `json:"eventType"`      // "SHUTDOWN"
	ShutdownReason string `json:"shutdownReason"` // spindown, timeout or failure
	DeadlineMs     int64  `json:"deadlineMs"`     // when the process is killed, Unix milliseconds
}

// RegisterResponse is the body of a successful /extension/register.
type RegisterResponse struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId,omitempty"`
}

// ErrorResponse is Lambda's error document: the body of the Runtime and Extensions APIs' 4xx/5xx
// answers and the payload of a failed invoke.
type ErrorResponse struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// statusResponse is the body of a 202 from an error or response endpoint.
type statusResponse struct {
	Status string `json:"status"`
}
