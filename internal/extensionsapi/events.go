package extensionsapi

import "time"

// EventType is the type of an event delivered by Next.
type EventType string

// The event types an extension can subscribe to.
const (
	Invoke   EventType = "INVOKE"
	Shutdown EventType = "SHUTDOWN"
)

// Tracing is the X-Ray tracing block of an INVOKE event.
type Tracing struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Event is one event from /extension/event/next: an INVOKE (RequestID, InvokedFunctionArn, Tracing
// set) or a SHUTDOWN (ShutdownReason set). DeadlineMs is set for both.
type Event struct {
	EventType          EventType `json:"eventType"`
	DeadlineMs         int64     `json:"deadlineMs"`
	RequestID          string    `json:"requestId,omitempty"`
	InvokedFunctionArn string    `json:"invokedFunctionArn,omitempty"`
	Tracing            *Tracing  `json:"tracing,omitempty"`
	// ShutdownReason is "spindown", "timeout" or "failure" today; other values are accepted as is.
	ShutdownReason string `json:"shutdownReason,omitempty"`
}

// Deadline is the event's deadline as a time (zero when DeadlineMs is not set).
func (e Event) Deadline() time.Time {
	if e.DeadlineMs <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(e.DeadlineMs)
}

// RegisterResponse is the body of a successful register.
type RegisterResponse struct {
	FunctionName    string `json:"functionName"`
	FunctionVersion string `json:"functionVersion"`
	Handler         string `json:"handler"`
	AccountID       string `json:"accountId,omitempty"`
}
