package lambdaenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/breakerbox/breakerbox/internal/motoserver/mototest"
)

// The SDK's Invoke works against the Env's endpoint: payloads, function errors, unknown functions,
// ARNs, Event and DryRun; every other Lambda API call goes through to moto.
func TestInvokeAPIWithTheSDK(t *testing.T) {
	moto := mototest.Shared(t)
	r := newRig(t, Config{Upstream: moto.URL})
	r.function(FunctionConfig{Name: "sdk-echo"})
	cfg := moto.AWSConfig()
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(r.env.URL()) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk-echo"), Payload: []byte(`{"hello":"world"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.StatusCode != 200 || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Errorf("Invoke: status %d, function error %v, version %q", out.StatusCode, out.FunctionError, aws.ToString(out.ExecutedVersion))
	}
	var reply helperReply
	if err := json.Unmarshal(out.Payload, &reply); err != nil || string(reply.Event) != `{"hello":"world"}` {
		t.Errorf("payload %s (%v)", out.Payload, err)
	}

	out, err = client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:sdk-echo"),
		Payload:      []byte(`{"action":"error","message":"boom"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionError) != "Unhandled" {
		t.Errorf("FunctionError %q, want Unhandled", aws.ToString(out.FunctionError))
	}
	sameJSON(t, "function error payload", out.Payload, "function_error.json")

	_, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: []byte(`{}`)})
	var nf *lambdatypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("unknown function: %v, want ResourceNotFoundException", err)
	}
	resp, err := http.Post(r.env.URL()+"/2015-03-31/functions/nope/invocations", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" {
		t.Errorf("unknown function over HTTP: %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	sameJSON(t, "404 body", body, "invoke_not_found.json")

	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk-echo"), InvocationType: lambdatypes.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Errorf("DryRun: %v, status %d", err, out.StatusCode)
	}

	out, err = client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("sdk-echo"), InvocationType: lambdatypes.InvocationTypeEvent, Payload: []byte(`{"marker":"async-1"}`)})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event: %v, status %d", err, out.StatusCode)
	}
	eventually(t, "the async invoke to run", func() bool {
		for _, e := range find(r.entries(), "runtime", "invoke") {
			if strings.Contains(string(e.Data), "async-1") {
				return true
			}
		}
		return false
	})

	resp, err = http.Post(r.env.URL()+"/2015-03-31/functions/sdk-echo/invocations", "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestContentException" {
		t.Errorf("malformed payload: %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}

	// Everything else is moto's: a function and mapping created there are visible through the Env.
	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("invokeapi-proxy")})
	if err != nil {
		t.Fatal(err)
	}
	uuid, err := CreateMapping(ctx, cfg, MappingInput{FunctionName: "proxied", EventSourceArn: queueARNFromURL(aws.ToString(q.QueueUrl)), BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	fns, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(fns.Functions, func(f lambdatypes.FunctionConfiguration) bool { return aws.ToString(f.FunctionName) == "proxied" }) {
		t.Errorf("ListFunctions through the Env does not show moto's function %q", "proxied")
	}
	m, err := client.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(uuid)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(m.BatchSize) != 7 || aws.ToString(m.State) != "Enabled" {
		t.Errorf("mapping through the proxy: batch %d, state %q", aws.ToInt32(m.BatchSize), aws.ToString(m.State))
	}
}

// Invokes beyond the maximum concurrency are answered 429 TooManyRequestsException.
func TestInvokeAPITooManyRequests(t *testing.T) {
	r := newRig(t, Config{})
	f := r.function(FunctionConfig{Name: "single", MaxConcurrency: 1})
	done := make(chan Result, 1)
	go func() { done <- r.invoke("single", `{"action":"sleep","sleep":"1s"}`) }()
	eventually(t, "the sandbox to be busy", func() bool { sb := f.Sandboxes(); return len(sb) == 1 && sb[0].Busy })
	resp, err := http.Post(r.env.URL()+"/2015-03-31/functions/single/invocations", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("X-Amzn-ErrorType") != "TooManyRequestsException" {
		t.Errorf("busy function: %d %q, want 429 TooManyRequestsException", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	mustSucceed(t, <-done)
}

// queueARNFromURL turns moto's http://host/ACCOUNT/NAME queue URL into the queue's ARN.
func queueARNFromURL(u string) string {
	p, _ := url.Parse(u)
	parts := strings.Split(strings.Trim(p.Path, "/"), "/")
	return "arn:aws:sqs:us-east-1:" + parts[0] + ":" + parts[1]
}
