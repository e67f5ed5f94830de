// Package client is what a Go Lambda function imports to use the breakerbox extension: ask whether a
// call may go out (Acquire), report how it went (Report), read a circuit (State), or let Do do all
// three around a call, returning ErrOpen when the circuit denies it.
//
// New reads the extension's port (BREAKERBOX_PORT), the token (AWS_SESSION_TOKEN, unless
// BREAKERBOX_AUTH=none) and the fail mode (BREAKERBOX_FAIL_MODE) from the function's environment,
// which the extension shares, and returns an error naming the variable when one holds a value the
// extension would refuse too (BREAKERBOX_FAIL_MODE=clsoed is an error, not "open"). When the
// extension cannot be reached, or answers with an error, the client follows the fail mode: "open"
// (the default) lets calls through, "closed" denies them. It says so: the first such call logs a
// warning through log/slog (WithLogger, default slog.Default()), once per process and again if the
// extension comes back and goes away, and UnreachableCalls counts them. New also warns about a
// BREAKERBOX_* variable that no part of breakerbox reads, naming the one probably meant.
//
// BREAKERBOX_DISABLED=true, read at every call, bypasses the breaker (for tests); package
// clienttest is an in-memory extension a test can force OPEN or CLOSED and that records the calls.
//
// It uses the standard library only. The layer carries the same client for Python (import
// breakerbox, from clients/python) and Node.js (require("breakerbox"), from clients/node); the
// pages docs/python.md and docs/node.md show them.
package client
