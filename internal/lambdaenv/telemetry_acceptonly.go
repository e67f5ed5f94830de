package lambdaenv

import (
	"errors"
	"net/http"
)

// telemetryAcceptOnly serves PUT /2022-07-01/telemetry with FunctionConfig.TelemetryAcceptOnly, as
// AWS's Runtime Interface Emulator does in its default model, which has no telemetry service and answers
// every subscription 200 with the body {} (NoOpSubscriptionAPI in
// github.com/aws/aws-lambda-runtime-interface-emulator, internal/lambda/telemetry/logs_subscription_api.go),
// without reading the subscription, and delivers nothing. AWS documents that the emulator does not
// emulate Lambda's integrations (https://docs.aws.amazon.com/lambda/latest/dg/images-test.html and
// the emulator's README, "Level of support"). As there, only a registered extension may call it
// (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api-reference.html: 403 for an unknown
// Lambda-Extension-Identifier).
func (s *sandbox) telemetryAcceptOnly(w http.ResponseWriter, r *http.Request) {
	if _, err := readBody(r.Body, maxAPIBodySize); errors.Is(err, errBodyTooLarge) {
		writeAPIError(w, http.StatusRequestEntityTooLarge, errEntityTooLarge, "subscription body exceeds %d bytes", maxAPIBodySize)
		return
	}
	s.mu.Lock()
	_, ext, aerr := s.extensionLocked(r)
	s.mu.Unlock()
	if aerr != nil {
		aerr.write(w)
		return
	}
	s.log.Info("telemetry subscription accepted, nothing will be delivered (TelemetryAcceptOnly)", "extension", ext.name)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("{}"))
}
