package mapping_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/breakerbox/breakerbox/function/ventilator/internal/mapping"
)

// fakeAPI is a Lambda API whose updates fail with the queued errors first.
type fakeAPI struct {
	state     string
	batchSize int32
	failures  []error
	updates   int
	listed    []types.EventSourceMappingConfiguration
}

func (f *fakeAPI) GetEventSourceMapping(_ context.Context, in *lambda.GetEventSourceMappingInput, _ ...func(*lambda.Options)) (*lambda.GetEventSourceMappingOutput, error) {
	return &lambda.GetEventSourceMappingOutput{UUID: in.UUID, BatchSize: aws.Int32(f.batchSize), State: aws.String(f.state),
		EventSourceArn: aws.String("arn:aws:kinesis:us-east-1:123456789012:stream/s")}, nil
}

func (f *fakeAPI) UpdateEventSourceMapping(ctx context.Context, in *lambda.UpdateEventSourceMappingInput, _ ...func(*lambda.Options)) (*lambda.UpdateEventSourceMappingOutput, error) {
	f.updates++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(f.failures) > 0 {
		err := f.failures[0]
		f.failures = f.failures[1:]
		return nil, err
	}
	if in.BatchSize != nil {
		f.batchSize = *in.BatchSize
	}
	return &lambda.UpdateEventSourceMappingOutput{UUID: in.UUID, BatchSize: aws.Int32(f.batchSize), State: aws.String("Updating")}, nil
}

func (f *fakeAPI) ListEventSourceMappings(context.Context, *lambda.ListEventSourceMappingsInput, ...func(*lambda.Options)) (*lambda.ListEventSourceMappingsOutput, error) {
	return &lambda.ListEventSourceMappingsOutput{EventSourceMappings: f.listed}, nil
}

func fastOptions() mapping.Options {
	return mapping.Options{Timeout: time.Second, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: 4}
}

func inUse() error {
	return &types.ResourceInUseException{Message: aws.String("The resource you requested is currently in use")}
}

func TestUpdateRetriesInUseAndThrottling(t *testing.T) {
	f := &fakeAPI{state: "Enabled", batchSize: 4, failures: []error{
		inUse(),
		&types.TooManyRequestsException{Message: aws.String("Rate exceeded"), RetryAfterSeconds: aws.String("0.001")},
		inUse(),
	}}
	m := mapping.New(f, mapping.Locator{UUID: "u"}, fastOptions())
	a, err := m.Apply(context.Background(), mapping.Want{BatchSize: 2, Enabled: mapping.Enable}, false)
	if err != nil || !a.Changed || a.Attempts != 4 || f.batchSize != 2 {
		t.Fatalf("Apply = %+v, %v after %d updates; want success on the 4th", a, err, f.updates)
	}
	// After an update, the cached view is "Updating": the next Apply of the same reads afresh and,
	// once the mapping is Enabled again, changes nothing.
	f.state = "Enabled"
	if a, err := m.Apply(context.Background(), mapping.Want{BatchSize: 2, Enabled: mapping.Enable}, false); err != nil || a.Changed {
		t.Fatalf("Apply of the same = %+v, %v", a, err)
	}
}

func TestUpdateRetriesAreBounded(t *testing.T) {
	f := &fakeAPI{state: "Enabled", batchSize: 4, failures: []error{inUse(), inUse(), inUse(), inUse(), inUse()}}
	m := mapping.New(f, mapping.Locator{UUID: "u"}, fastOptions())
	a, err := m.Apply(context.Background(), mapping.Want{BatchSize: 2, Enabled: mapping.Enable}, false)
	var iu *types.ResourceInUseException
	if !errors.As(err, &iu) || a.Attempts != 4 || f.updates != 4 || !strings.Contains(err.Error(), "after 4 attempt(s)") {
		t.Fatalf("Apply = %+v, %v after %d updates; want the in-use error after 4", a, err, f.updates)
	}
}

func TestOtherErrorsAreNotRetried(t *testing.T) {
	f := &fakeAPI{state: "Enabled", batchSize: 4, failures: []error{&types.InvalidParameterValueException{Message: aws.String("bad batch size")}}}
	m := mapping.New(f, mapping.Locator{UUID: "u"}, fastOptions())
	if _, err := m.Apply(context.Background(), mapping.Want{BatchSize: 2, Enabled: mapping.Enable}, false); err == nil || f.updates != 1 {
		t.Fatalf("Apply = %v after %d updates; want one failed update", err, f.updates)
	}
}

func TestCancelledContextStopsRetries(t *testing.T) {
	f := &fakeAPI{state: "Enabled", batchSize: 4, failures: []error{inUse(), inUse(), inUse()}}
	opt := fastOptions()
	opt.BaseDelay, opt.MaxDelay = time.Hour, time.Hour
	m := mapping.New(f, mapping.Locator{UUID: "u"}, opt)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := m.Apply(ctx, mapping.Want{BatchSize: 2, Enabled: mapping.Enable}, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply = %v, want the context's deadline", err)
	}
}

func TestSeveralMappingsNeedESMUUID(t *testing.T) {
	arn := "arn:aws:kinesis:us-east-1:123456789012:stream/s"
	f := &fakeAPI{listed: []types.EventSourceMappingConfiguration{
		{UUID: aws.String("a"), EventSourceArn: aws.String(arn)}, {UUID: aws.String("b"), EventSourceArn: aws.String(arn)},
	}}
	m := mapping.New(f, mapping.Locator{FunctionName: "v", EventSourceARN: arn}, fastOptions())
	if _, err := m.UUID(context.Background()); err == nil || !strings.Contains(err.Error(), "set ESM_UUID") {
		t.Fatalf("UUID = %v", err)
	}
}
