// Package input parses and validates the checker's input: the constant Input of the EventBridge rule
// that runs the checker. Three shapes are accepted:
//
//	{"id":"inventory","url":"https://...","timeout":"4s","method":"GET","expectStatus":"200-399","slowCall":"1s","headers":{}}
//	{"targets":[{...}, {...}]}
//	{"ID":"inventory","URL":"https://..."}     (the shape of AWS's circuit-breaker sample)
//
// Field names are matched exactly (no case folding), unknown fields are errors, and every problem is
// reported with the target it belongs to, so a typo in a rule fails loudly instead of probing with a
// default. Parse validates everything before the checker probes or writes anything.
package input
