package lambdaenv

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// MotoRoleName is the IAM role RegisterInMoto creates for the function records: moto refuses a
// function whose role does not exist in its IAM.
const MotoRoleName = "lambdaenv-function"

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// RegisterInMoto makes sure the Lambda API at cfg's endpoint (moto_server) has a function record
// named name, so that event source mappings can refer to it, and returns its ARN. It creates the IAM
// role MotoRoleName (moto checks that a function's role exists) and a function with a placeholder
// zip (runtime provided.al2023, handler bootstrap). It is idempotent. Invokes still go to the Env:
// the record only exists for the management API (mappings, ListFunctions, ...).
func RegisterInMoto(ctx context.Context, cfg aws.Config, name string) (string, error) {
	role, err := ensureMotoRole(ctx, cfg)
	if err != nil {
		return "", err
	}
	code, err := placeholderZip()
	if err != nil {
		return "", err
	}
	lc := lambda.NewFromConfig(cfg)
	out, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Role:         aws.String(role),
		Runtime:      lambdatypes.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Code:         &lambdatypes.FunctionCode{ZipFile: code},
		Description:  aws.String("placeholder for a function run by lambdaenv"),
	})
	if err == nil {
		return aws.ToString(out.FunctionArn), nil
	}
	var conflict *lambdatypes.ResourceConflictException
	if !errors.As(err, &conflict) {
		return "", fmt.Errorf("lambdaenv: create function %s in moto: %w", name, err)
	}
	got, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("lambdaenv: get function %s from moto: %w", name, err)
	}
	return aws.ToString(got.Configuration.FunctionArn), nil
}

// roleARN finds the first <Arn> inside a <Role> of an IAM answer.
func roleARN(raw []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	inRole := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "Role":
				inRole = true
			case inRole && t.Name.Local == "Arn":
				var arn string
				if dec.DecodeElement(&arn, &t) == nil {
					return strings.TrimSpace(arn)
				}
				return ""
			}
		case xml.EndElement:
			if t.Name.Local == "Role" {
				inRole = false
			}
		}
	}
}

// placeholderZip is a deployment package holding a bootstrap that does nothing.
func placeholderZip() ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.WriteString(w, "#!/bin/sh\n# placeholder: lambdaenv runs this function locally\nexit 0\n")
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("lambdaenv: build placeholder zip: %w", err)
	}
	return buf.Bytes(), nil
}

// ensureMotoRole creates MotoRoleName in moto's IAM (or finds it) and returns its ARN. It speaks
// IAM's query protocol directly, so the module needs no IAM client.
func ensureMotoRole(ctx context.Context, cfg aws.Config) (string, error) {
	arn, status, err := iamCall(ctx, cfg, url.Values{
		"Action":                   {"CreateRole"},
		"RoleName":                 {MotoRoleName},
		"AssumeRolePolicyDocument": {trustPolicy},
		"Path":                     {"/"},
	})
	if err != nil {
		return "", err
	}
	if status == http.StatusOK {
		return arn, nil
	}
	arn, status, err = iamCall(ctx, cfg, url.Values{"Action": {"GetRole"}, "RoleName": {MotoRoleName}})
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("lambdaenv: IAM GetRole %s: status %d", MotoRoleName, status)
	}
	return arn, nil
}

// iamCall sends one signed IAM query request and returns the role ARN in the answer, if any.
func iamCall(ctx context.Context, cfg aws.Config, form url.Values) (string, int, error) {
	endpoint := aws.ToString(cfg.BaseEndpoint)
	if endpoint == "" {
		return "", 0, errors.New("lambdaenv: RegisterInMoto needs cfg.BaseEndpoint set to moto_server's URL")
	}
	form.Set("Version", "2010-05-08")
	body := form.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/", strings.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("lambdaenv: IAM request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if cfg.Credentials != nil {
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return "", 0, fmt.Errorf("lambdaenv: credentials for IAM: %w", err)
		}
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
			return "", 0, fmt.Errorf("lambdaenv: sign IAM request: %w", err)
		}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("lambdaenv: IAM %s: %w", form.Get("Action"), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("lambdaenv: IAM %s: %w", form.Get("Action"), err)
	}
	arn := roleARN(raw)
	if resp.StatusCode == http.StatusOK && arn == "" {
		return "", 0, fmt.Errorf("lambdaenv: IAM %s: no role ARN in %s", form.Get("Action"), raw)
	}
	return arn, resp.StatusCode, nil
}
