// Package server is the extension's localhost HTTP API (chi): circuit views, acquire, outcome
// reports, health and stats, as DESIGN.md specifies. Answers and errors are JSON; errors are
// {"error":{"code":"...","message":"..."}}. Request bodies over 64 KiB are refused with 413. When a
// token is configured, every request but /healthz must carry it in X-Breakerbox-Token.
//
// The cache-hit path (GET /v1/circuits/{id}) is written to cost little more than a bare net/http
// handler: the view is appended into a pooled buffer without reflection.
package server
