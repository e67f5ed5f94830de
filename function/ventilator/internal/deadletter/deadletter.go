// Package deadletter sends records the ventilator gives up on to its dead-letter queue (DLQ_URL, an
// SQS queue), with the reason and the original event record, so nothing is ever silently dropped.
//
// Each message body is a JSON [Letter]; the message attributes "reason" (a short code) and "circuit"
// allow filtering. A FIFO dead-letter queue gets the circuit as its message group and the dedup key
// as its deduplication id.
package deadletter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Reason codes of a Letter.
const (
	ReasonInvalidJSON = "invalid-json"
	ReasonMissingID   = "missing-id"
	ReasonMaxAttempts = "max-attempts"
)

// SQS is the part of the SQS client the Queue uses.
type SQS interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Letter is the body of a dead-letter message.
type Letter struct {
	// Reason is a code (invalid-json, missing-id, max-attempts); Detail says more.
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	// Circuit is the ventilator's circuit; Key the record's dedup key.
	Circuit string `json:"circuit"`
	Key     string `json:"key"`
	// Attempts is the number of attempts charged to the record: its failed worker calls that were its
	// own fault (an outage charges none; see the ventilator's attempt rule).
	Attempts int `json:"attempts"`
	// EventSource ("aws:kinesis", "aws:sqs") and EventSourceARN say where the record came from;
	// ItemIdentifier is its sequence number or message id.
	EventSource    string `json:"eventSource"`
	EventSourceARN string `json:"eventSourceARN"`
	ItemIdentifier string `json:"itemIdentifier"`
	// At is when the ventilator gave up (RFC 3339).
	At time.Time `json:"at"`
	// Record is the original event record, as Lambda delivered it.
	Record json.RawMessage `json:"record"`
}

// Queue is the dead-letter queue.
type Queue struct {
	api     SQS
	url     string
	fifo    bool
	timeout time.Duration
}

// New returns the queue at url; every send is bounded by timeout.
func New(api SQS, url string, timeout time.Duration) *Queue {
	return &Queue{api: api, url: url, fifo: strings.HasSuffix(url, ".fifo"), timeout: timeout}
}

// Send puts l on the queue.
func (q *Queue) Send(ctx context.Context, l Letter) error {
	body, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("deadletter: encode letter for %s: %w", l.Key, err)
	}
	in := &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
		MessageBody: aws.String(string(body)),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"reason":  {DataType: aws.String("String"), StringValue: aws.String(l.Reason)},
			"circuit": {DataType: aws.String("String"), StringValue: aws.String(l.Circuit)},
		},
	}
	if q.fifo {
		sum := sha256.Sum256([]byte(l.Key))
		in.MessageGroupId = aws.String(l.Circuit)
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
	}
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	if _, err := q.api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("deadletter: send %s (%s) to %s: %w", l.Key, l.Reason, q.url, err)
	}
	return nil
}
