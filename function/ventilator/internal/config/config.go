// Package config reads the ventilator's environment once, at init, into a validated Config. Every
// error names the variable at fault, so a bad deployment fails at init with a message that says what
// to fix.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/internal/adaptive"
	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Names of the variables read by [Load]. The batch controller's own variables (BATCH_POLICY,
// MIN_BATCH, MAX_BATCH, ...) are those of [adaptive.LoadConfig]; the extension client reads
// BREAKERBOX_PORT and BREAKERBOX_FAIL_MODE itself.
const (
	EnvCircuit        = "BREAKERBOX_CIRCUIT"
	EnvTable          = "BREAKERBOX_TABLE"
	EnvWorkerFunction = "WORKER_FUNCTION"
	EnvDedupTable     = "DEDUP_TABLE"
	EnvDLQURL         = "DLQ_URL"
	EnvMaxAttempts    = "MAX_ATTEMPTS"
	EnvInvokeTimeout  = "INVOKE_TIMEOUT"
	EnvESMUUID        = "ESM_UUID"
	EnvEventSourceARN = "EVENT_SOURCE_ARN"
	EnvAWSTimeout     = "AWS_CALL_TIMEOUT"
	EnvDedupTTL       = "DEDUP_TTL"
	EnvFunctionName   = "AWS_LAMBDA_FUNCTION_NAME"
)

// Defaults of the optional variables.
const (
	DefaultMaxAttempts   = 3
	DefaultInvokeTimeout = 30 * time.Second
	DefaultAWSTimeout    = 5 * time.Second
	DefaultDedupTTL      = 48 * time.Hour
)

// MaxInvokeTimeout is the longest INVOKE_TIMEOUT accepted: Lambda's own maximum function timeout.
const MaxInvokeTimeout = 15 * time.Minute

// ErrInvalid is wrapped by every error [Load] returns.
var ErrInvalid = errors.New("invalid ventilator configuration")

// Config is the ventilator's validated configuration.
type Config struct {
	// Circuit is the breaker circuit guarding the worker's provider (BREAKERBOX_CIRCUIT, required).
	Circuit string
	// Table is breakerbox's table, which also holds the controller state (BREAKERBOX_TABLE, required).
	Table string
	// WorkerFunction is the name or ARN of the worker invoked per record (WORKER_FUNCTION, required).
	WorkerFunction string
	// DedupTable is the table of processed records (DEDUP_TABLE, required).
	DedupTable string
	// DLQURL is the SQS queue URL of the dead-letter queue (DLQ_URL, required).
	DLQURL string
	// MaxAttempts is the number of worker calls a record gets before it goes to the dead-letter
	// queue (MAX_ATTEMPTS, default 3).
	MaxAttempts int
	// InvokeTimeout bounds one worker call (INVOKE_TIMEOUT, default 30s).
	InvokeTimeout time.Duration
	// ESMUUID is the event source mapping to control (ESM_UUID). When empty, the mapping is found
	// by listing the mappings of FunctionName on EventSourceARN.
	ESMUUID string
	// EventSourceARN is the Kinesis stream or SQS queue the mapping reads (EVENT_SOURCE_ARN);
	// required when ESM_UUID is not set.
	EventSourceARN string
	// FunctionName is the ventilator's own name (AWS_LAMBDA_FUNCTION_NAME, set by Lambda); needed
	// to find the mapping when ESM_UUID is not set.
	FunctionName string
	// AWSTimeout bounds every DynamoDB, SQS and Lambda control-plane call (AWS_CALL_TIMEOUT,
	// default 5s).
	AWSTimeout time.Duration
	// DedupTTL is how long a dedup item is kept after its last write (DEDUP_TTL, default 48h; at
	// least 24h, since a record's key holds its UTC day).
	DedupTTL time.Duration
	// Adaptive is the batch-size controller's configuration.
	Adaptive adaptive.Config
}

// ClaimLease is how long a record's claim in the dedup table keeps other ventilators away: the worker
// call, the dedup writes around it, and a margin. A claim older than this is presumed abandoned (its
// ventilator crashed or timed out) and may be taken over.
func (c Config) ClaimLease() time.Duration {
	return c.InvokeTimeout + 2*c.AWSTimeout + 10*time.Second
}

// Load reads and validates the configuration through lookup (os.LookupEnv in the function). It
// reports every problem at once; each error names its variable and wraps [ErrInvalid] (and
// [adaptive.ErrInvalidConfig] for the controller's variables).
func Load(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		Circuit:        r.required(EnvCircuit),
		Table:          r.required(EnvTable),
		WorkerFunction: r.required(EnvWorkerFunction),
		DedupTable:     r.required(EnvDedupTable),
		DLQURL:         r.required(EnvDLQURL),
		MaxAttempts:    r.positiveInt(EnvMaxAttempts, DefaultMaxAttempts),
		InvokeTimeout:  r.duration(EnvInvokeTimeout, DefaultInvokeTimeout, MaxInvokeTimeout),
		ESMUUID:        r.optional(EnvESMUUID),
		EventSourceARN: r.optional(EnvEventSourceARN),
		FunctionName:   r.optional(EnvFunctionName),
		AWSTimeout:     r.duration(EnvAWSTimeout, DefaultAWSTimeout, time.Minute),
		DedupTTL:       r.duration(EnvDedupTTL, DefaultDedupTTL, 366*24*time.Hour),
	}
	if c.Circuit != "" {
		if err := circuit.ValidateID(c.Circuit); err != nil {
			r.fail("%s: %v", EnvCircuit, err)
		}
	}
	if c.DLQURL != "" {
		if u, err := url.Parse(c.DLQURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			// Without a path the URL names the SQS endpoint, not a queue: every dead letter would fail.
			r.fail("%s must be an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/dlq, got %q", EnvDLQURL, c.DLQURL)
		}
	}
	if c.DedupTTL > 0 && c.DedupTTL < 24*time.Hour {
		r.fail("%s must be at least 24h (a record's dedup key holds its UTC day), got %s", EnvDedupTTL, c.DedupTTL)
	}
	switch {
	case c.ESMUUID != "":
	case c.EventSourceARN == "":
		r.fail("%s or %s must be set: the ventilator needs to find the event source mapping it controls", EnvESMUUID, EnvEventSourceARN)
	case c.FunctionName == "":
		r.fail("%s is not set: with %s and no %s the ventilator finds its mapping by its own function name", EnvFunctionName, EnvEventSourceARN, EnvESMUUID)
	}
	if c.EventSourceARN != "" {
		if _, err := SourceOf(c.EventSourceARN); err != nil {
			r.fail("%s: %v", EnvEventSourceARN, err)
		}
	}
	ac, err := adaptive.LoadConfig(lookup)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	if src, serr := SourceOf(c.EventSourceARN); err == nil && serr == nil && src != SourceKinesis {
		// Lambda runs at least 2 invocations on SQS (MaximumConcurrency >= 2), each with a call in
		// flight: below that the fleet could exceed the concurrency it was given.
		if ferr := ac.FitsPollers(adaptive.SQSMinMaximumConcurrency); ferr != nil {
			r.fail("%s is an SQS queue, where Lambda runs at least %d ventilators at once: set %s to at least %d (%v)",
				EnvEventSourceARN, adaptive.SQSMinMaximumConcurrency, adaptive.EnvMinConcurrency, adaptive.SQSMinMaximumConcurrency, ferr)
		}
	}
	c.Adaptive = ac
	if len(r.errs) > 0 {
		return Config{}, errors.Join(r.errs...)
	}
	return c, nil
}

// reader collects values and errors.
type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *reader) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
}

func (r *reader) optional(name string) string {
	v, _ := r.lookup(name)
	return strings.TrimSpace(v)
}

func (r *reader) required(name string) string {
	v := r.optional(name)
	if v == "" {
		r.fail("%s is required and not set", name)
	}
	return v
}

func (r *reader) positiveInt(name string, def int) int {
	v := r.optional(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r.fail("%s must be a whole number of at least 1, got %q", name, v)
		return def
	}
	return n
}

func (r *reader) duration(name string, def, most time.Duration) time.Duration {
	v := r.optional(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > most {
		r.fail("%s must be a positive Go duration such as 30s, at most %s, got %q", name, most, v)
		return def
	}
	return d
}
