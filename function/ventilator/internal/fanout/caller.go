package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Invoker is the part of the Lambda client the Caller uses.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Caller invokes one worker function.
type Caller struct {
	api      Invoker
	function string
	timeout  time.Duration
	now      func() time.Time
}

// NewCaller returns a Caller of function whose every call is bounded by timeout. now nil means
// time.Now.
func NewCaller(api Invoker, function string, timeout time.Duration, now func() time.Time) *Caller {
	if now == nil {
		now = time.Now
	}
	return &Caller{api: api, function: function, timeout: timeout, now: now}
}

// Outcome is the result of one call.
type Outcome struct {
	// OK is true when the worker answered without a function error.
	OK bool
	// Latency is the time the call took, as the ventilator saw it (SDK retries included).
	Latency time.Duration
	// Err says why the call failed (nil when OK).
	Err error
	// Refused is true when the call was turned away without being done: Lambda throttled the
	// worker (TooManyRequestsException), or the worker says its provider answered 429.
	Refused bool
	// Payload is the worker's answer (or its error document).
	Payload []byte
}

// ErrTimeout is wrapped by the Err of a call that ran out of its time.
var ErrTimeout = errors.New("worker call timed out")

// Call invokes the worker with payload synchronously, under the per-call timeout, and times it.
// It never returns an error: a failure is an Outcome that is not OK.
func (c *Caller) Call(ctx context.Context, payload []byte) Outcome {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	start := c.now()
	out, err := c.api.Invoke(cctx, &lambda.InvokeInput{
		FunctionName:   aws.String(c.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	o := Outcome{Latency: c.now().Sub(start)}
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(cctx.Err(), context.DeadlineExceeded):
		o.Err = fmt.Errorf("invoke %s: %w after %s: %w", c.function, ErrTimeout, c.timeout, err)
	case err != nil:
		var throttled *types.TooManyRequestsException
		o.Refused = errors.As(err, &throttled)
		o.Err = fmt.Errorf("invoke %s: %w", c.function, err)
	case out.FunctionError != nil:
		o.Payload = out.Payload
		msg := describe(out.Payload)
		o.Refused = strings.Contains(msg, "provider answered 429")
		o.Err = fmt.Errorf("invoke %s: function error %s: %s", c.function, aws.ToString(out.FunctionError), msg)
	case out.StatusCode != 0 && (out.StatusCode < 200 || out.StatusCode > 299):
		o.Payload = out.Payload
		o.Err = fmt.Errorf("invoke %s: status %d", c.function, out.StatusCode)
	default:
		o.OK, o.Payload = true, out.Payload
	}
	return o
}

// describe summarises a Lambda error document ({"errorType","errorMessage"}) or a raw payload.
func describe(payload []byte) string {
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(payload, &doc) == nil && (doc.ErrorType != "" || doc.ErrorMessage != "") {
		if doc.ErrorType == "" {
			return doc.ErrorMessage
		}
		return doc.ErrorType + ": " + doc.ErrorMessage
	}
	const most = 256
	if len(payload) > most {
		return string(payload[:most]) + "..."
	}
	return string(payload)
}
