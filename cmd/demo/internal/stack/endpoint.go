package stack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/breakerbox/breakerbox/internal/motoserver"
)

// Endpoint is where the AWS APIs are served: a moto_server the demo started, or one it was given.
type Endpoint struct {
	// URL is the endpoint's base URL.
	URL string
	// Owned is true when the demo started the server (and stops it).
	Owned bool
	moto  *motoserver.Server
}

// StartEndpoint uses external (AWS_ENDPOINT_URL) when it is set, after checking that it answers,
// and otherwise starts moto_server on a free loopback port.
func StartEndpoint(ctx context.Context, external string) (*Endpoint, error) {
	if external == "" {
		s, err := motoserver.Start(ctx)
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		return &Endpoint{URL: s.URL, Owned: true, moto: s}, nil
	}
	u, err := url.Parse(external)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("stack: AWS_ENDPOINT_URL=%q: want an http URL such as http://127.0.0.1:5000", external)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, external, nil)
	if err != nil {
		return nil, fmt.Errorf("stack: AWS_ENDPOINT_URL=%q: %w", external, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stack: AWS_ENDPOINT_URL=%s does not answer: %w", external, err)
	}
	resp.Body.Close()
	return &Endpoint{URL: external}, nil
}

// AWSConfig is an SDK configuration for the endpoint, with static test credentials.
func (e *Endpoint) AWSConfig() aws.Config {
	return aws.Config{
		Region:       motoserver.Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(e.URL),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
	}
}

// Env is the environment that points a child process's SDK at the endpoint.
func (e *Endpoint) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + e.URL,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=" + motoserver.Region,
		"AWS_DEFAULT_REGION=" + motoserver.Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Stop stops the server if the demo started it.
func (e *Endpoint) Stop() {
	if e.moto != nil {
		e.moto.Stop()
	}
}
