package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
)

// localHint is how to point breakerctl at a local moto_server.
const localHint = "for a local moto_server set AWS_ENDPOINT_URL=http://127.0.0.1:5000 with AWS_REGION=us-east-1 and any AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"

// endpoint is the DynamoDB endpoint the SDK was pointed at (AWS_ENDPOINT_URL and friends), or ""
// for AWS itself.
func (a *app) endpoint() string {
	if e := strings.TrimSpace(a.env.Getenv("AWS_ENDPOINT_URL_DYNAMODB")); e != "" {
		return e
	}
	if a.awsCfg != nil && a.awsCfg.BaseEndpoint != nil {
		return *a.awsCfg.BaseEndpoint
	}
	return strings.TrimSpace(a.env.Getenv("AWS_ENDPOINT_URL"))
}

// checkAWS refuses a configuration that cannot work before any call is made, naming the setting
// that is missing: without a region the SDK builds a request no server understands (a local one
// answers with an HTML error page), and without credentials every call fails after a wait.
func (a *app) checkAWS(ctx context.Context, cfg aws.Config) error {
	for _, name := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_EVENTBRIDGE"} {
		if err := checkEndpoint(name, a.env.Getenv(name)); err != nil {
			return err
		}
	}
	if cfg.Region == "" {
		return fmt.Errorf("no AWS region: set AWS_REGION (or a region in your AWS_PROFILE); %s", localHint)
	}
	if cfg.Credentials == nil {
		return fmt.Errorf("no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; %s", localHint)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		msg := "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
		if a.endpoint() == "" {
			msg += "; AWS_ENDPOINT_URL is not set, so this is AWS itself: " + localHint
		}
		return fmt.Errorf("%s (%w)", msg, err)
	}
	return nil
}

// checkEndpoint refuses an endpoint the SDK cannot send to, which it reports only as "failed to
// resolve service endpoint" or "unsupported protocol scheme" after its retries: the commonest is
// a host and port without the scheme.
func checkEndpoint(name, value string) error {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s=%q is not an endpoint URL: want http:// or https://, a host and a port, e.g. %s=http://127.0.0.1:5000", name, value, name)
	}
	return nil
}

// explain adds to an AWS error what is most likely wrong and which setting to look at.
func (a *app) explain(err error) error {
	where := "AWS's DynamoDB in region " + a.region()
	if e := a.endpoint(); e != "" {
		where = "the endpoint " + e + " (AWS_ENDPOINT_URL), region " + a.region()
	}
	var nf *types.ResourceNotFoundException
	var op *net.OpError
	var api smithy.APIError
	switch {
	case errors.As(err, &nf):
		hint := "check --table or BREAKERBOX_TABLE, and AWS_REGION"
		if a.endpoint() == "" {
			hint += "; AWS_ENDPOINT_URL is not set, so this is AWS itself (" + localHint + ")"
		} else {
			hint += "; 'breakerctl create-table' creates it on a local server"
		}
		return fmt.Errorf("%w\ntable %q does not exist at %s: %s", err, a.table, where, hint)
	case errors.As(err, &api) && api.ErrorCode() == "ValidationException" && strings.Contains(api.ErrorMessage(), "key element does not match the schema"):
		return fmt.Errorf("%w\ntable %q at %s is not a breakerbox table (its key is not pk/sk): check --table or BREAKERBOX_TABLE", err, a.table, where)
	case errors.Is(err, context.DeadlineExceeded):
		from := "AWS in region " + a.region()
		if e := a.endpoint(); e != "" {
			from = e + " (AWS_ENDPOINT_URL)"
		}
		return fmt.Errorf("%w\nno answer from %s within %s (--aws-timeout): it is unreachable or overloaded; check AWS_ENDPOINT_URL, AWS_REGION and the network, or allow more with e.g. --aws-timeout 30s", err, from, a.awsTimeout)
	case errors.As(err, &op) && a.endpoint() != "":
		return fmt.Errorf("%w\nnothing answers at %s: start the server (e.g. moto_server -p 5000) or fix AWS_ENDPOINT_URL", err, a.endpoint())
	case errors.As(err, &op):
		return fmt.Errorf("%w\ncannot reach %s: check the network and AWS_REGION; %s", err, where, localHint)
	}
	return err
}

// region is the region in use, for messages.
func (a *app) region() string {
	if a.awsCfg != nil && a.awsCfg.Region != "" {
		return a.awsCfg.Region
	}
	return "(none)"
}

// sdkLogger passes the SDK's own log lines on as warnings, except those that are noise: checksum
// warnings about a local server's responses (moto's error pages carry a CRC32 that does not match),
// and the IMDSv1 fallback notice that precedes a credentials error breakerctl explains itself.
type sdkLogger struct {
	w     io.Writer
	local bool
}

// Logf implements logging.Logger.
func (l sdkLogger) Logf(class logging.Classification, format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "IMDSv1") || (l.local && strings.Contains(msg, "checksum")) {
		return
	}
	fmt.Fprintf(l.w, "warning: AWS SDK %s: %s\n", strings.ToLower(string(class)), msg)
}
