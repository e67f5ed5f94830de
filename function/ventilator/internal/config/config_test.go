package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/config"
	"github.com/breakerbox/breakerbox/internal/adaptive"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func valid() map[string]string {
	return map[string]string{
		"BREAKERBOX_CIRCUIT": "inventory",
		"BREAKERBOX_TABLE":   "breakerbox",
		"WORKER_FUNCTION":    "worker",
		"DEDUP_TABLE":        "dedup",
		"DLQ_URL":            "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
		"ESM_UUID":           "a1b2",
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxAttempts != 3 || c.InvokeTimeout != 30*time.Second || c.AWSTimeout != 5*time.Second || c.DedupTTL != 48*time.Hour {
		t.Errorf("defaults = %+v", c)
	}
	if c.Adaptive != adaptive.DefaultConfig() {
		t.Errorf("adaptive = %+v, want the defaults", c.Adaptive)
	}
	if c.ClaimLease() != 30*time.Second+10*time.Second+10*time.Second {
		t.Errorf("ClaimLease = %s", c.ClaimLease())
	}
}

func TestEverything(t *testing.T) {
	e := valid()
	delete(e, "ESM_UUID")
	e["EVENT_SOURCE_ARN"] = "arn:aws:sqs:us-east-1:123456789012:orders.fifo"
	e["AWS_LAMBDA_FUNCTION_NAME"] = "ventilator"
	e["MAX_ATTEMPTS"] = "5"
	e["INVOKE_TIMEOUT"] = "2s"
	e["AWS_CALL_TIMEOUT"] = "750ms"
	e["DEDUP_TTL"] = "72h"
	e["BATCH_POLICY"] = "step"
	e["MAX_BATCH"] = "10"
	e["MIN_CONCURRENCY"] = "2"
	c, err := config.Load(env(e))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxAttempts != 5 || c.InvokeTimeout != 2*time.Second || c.AWSTimeout != 750*time.Millisecond ||
		c.DedupTTL != 72*time.Hour || c.FunctionName != "ventilator" || c.Adaptive.Policy != "step" || c.Adaptive.MaxBatch != 10 {
		t.Errorf("config = %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(map[string]string)
		wants []string
	}{
		{"missing circuit", func(e map[string]string) { delete(e, "BREAKERBOX_CIRCUIT") }, []string{"BREAKERBOX_CIRCUIT is required"}},
		{"bad circuit", func(e map[string]string) { e["BREAKERBOX_CIRCUIT"] = "a b" }, []string{"BREAKERBOX_CIRCUIT", "' '"}},
		{"missing table", func(e map[string]string) { e["BREAKERBOX_TABLE"] = "  " }, []string{"BREAKERBOX_TABLE is required"}},
		{"missing worker", func(e map[string]string) { delete(e, "WORKER_FUNCTION") }, []string{"WORKER_FUNCTION is required"}},
		{"missing dedup", func(e map[string]string) { delete(e, "DEDUP_TABLE") }, []string{"DEDUP_TABLE is required"}},
		{"missing dlq", func(e map[string]string) { delete(e, "DLQ_URL") }, []string{"DLQ_URL is required"}},
		{"bad dlq", func(e map[string]string) { e["DLQ_URL"] = "dlq" }, []string{"DLQ_URL must be an SQS queue URL"}},
		{"dlq without a queue", func(e map[string]string) { e["DLQ_URL"] = "https://sqs.us-east-1.amazonaws.com/" }, []string{"DLQ_URL must be an SQS queue URL"}},
		{"bad attempts", func(e map[string]string) { e["MAX_ATTEMPTS"] = "0" }, []string{`MAX_ATTEMPTS must be a whole number of at least 1, got "0"`}},
		{"bad timeout", func(e map[string]string) { e["INVOKE_TIMEOUT"] = "30" }, []string{`INVOKE_TIMEOUT must be a positive Go duration`}},
		{"long timeout", func(e map[string]string) { e["INVOKE_TIMEOUT"] = "16m" }, []string{`INVOKE_TIMEOUT`, "at most 15m0s"}},
		{"bad aws timeout", func(e map[string]string) { e["AWS_CALL_TIMEOUT"] = "-1s" }, []string{`AWS_CALL_TIMEOUT`}},
		{"short ttl", func(e map[string]string) { e["DEDUP_TTL"] = "1h" }, []string{`DEDUP_TTL must be at least 24h`}},
		{"no mapping", func(e map[string]string) { delete(e, "ESM_UUID") }, []string{"ESM_UUID or EVENT_SOURCE_ARN must be set"}},
		{"no function name", func(e map[string]string) {
			delete(e, "ESM_UUID")
			e["EVENT_SOURCE_ARN"] = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
		}, []string{"AWS_LAMBDA_FUNCTION_NAME is not set"}},
		{"bad arn", func(e map[string]string) { e["EVENT_SOURCE_ARN"] = "arn:aws:sns:us-east-1:1:t" }, []string{"EVENT_SOURCE_ARN: want the ARN of a Kinesis stream or an SQS queue"}},
		{"bad policy", func(e map[string]string) { e["BATCH_POLICY"] = "fast" }, []string{"BATCH_POLICY must be one of"}},
		{"one ventilator on SQS", func(e map[string]string) {
			e["EVENT_SOURCE_ARN"] = "arn:aws:sqs:us-east-1:123456789012:orders"
			e["MIN_CONCURRENCY"] = "1"
		}, []string{"EVENT_SOURCE_ARN is an SQS queue", "set MIN_CONCURRENCY to at least 2"}},
		{"bad min batch", func(e map[string]string) { e["MIN_BATCH"] = "x" }, []string{"MIN_BATCH must be an integer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := valid()
			tc.edit(e)
			_, err := config.Load(env(e))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !errors.Is(err, config.ErrInvalid) && !errors.Is(err, adaptive.ErrInvalidConfig) {
				t.Errorf("error %v wraps neither ErrInvalid nor adaptive.ErrInvalidConfig", err)
			}
		})
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	_, err := config.Load(env(map[string]string{"MAX_BATCH": "0"}))
	for _, v := range []string{"BREAKERBOX_CIRCUIT", "BREAKERBOX_TABLE", "WORKER_FUNCTION", "DEDUP_TABLE", "DLQ_URL", "ESM_UUID", "MAX_BATCH"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("error %v does not name %s", err, v)
		}
	}
}

func TestSourceOf(t *testing.T) {
	for arn, want := range map[string]config.Source{
		"arn:aws:kinesis:us-east-1:123456789012:stream/orders": config.SourceKinesis,
		"arn:aws:sqs:us-east-1:123456789012:orders":            config.SourceSQS,
		"arn:aws:sqs:us-east-1:123456789012:orders.fifo":       config.SourceSQSFIFO,
	} {
		if got, err := config.SourceOf(arn); err != nil || got != want {
			t.Errorf("SourceOf(%s) = %q, %v; want %q", arn, got, err, want)
		}
	}
	for _, arn := range []string{"", "arn:aws:kinesis:us-east-1:1:orders", "arn:aws:sqs:us-east-1:1:", "sqs:orders"} {
		if _, err := config.SourceOf(arn); err == nil {
			t.Errorf("SourceOf(%q) accepted", arn)
		}
	}
}
