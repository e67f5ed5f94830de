package main

import "encoding/json"

// redactedHeader stands for a header value breakerctl does not print.
const redactedHeader = "***"

// shownInput is a checker input as breakerctl prints it: every header value replaced with
// redactedHeader, since headers carry API keys and tokens (Authorization, X-Api-Key) and what
// breakerctl prints ends up in terminals and CI logs. The rule's target keeps them; `aws events
// list-targets-by-rule` shows them to whoever may read it. An input that is not a JSON object, or
// has no headers, is shown as it is.
func shownInput(body string) string {
	var doc map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &doc) != nil {
		return body
	}
	raw, ok := doc["headers"]
	if !ok {
		return body
	}
	var headers map[string]any
	if json.Unmarshal(raw, &headers) != nil || len(headers) == 0 {
		return body
	}
	for k := range headers {
		headers[k] = redactedHeader
	}
	b, err := json.Marshal(headers)
	if err != nil {
		return body
	}
	doc["headers"] = b
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return string(out)
}
