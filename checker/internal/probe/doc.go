// Package probe sends one HTTP request to a monitored service and judges the answer: healthy, or a
// failure classified as timeout, connect, DNS, TLS, status, redirect or slow, in the short words the
// circuit keeps as its lastError.
//
// A probe never follows redirects unless its target asks for it, reads at most 64 KiB of a body, and
// is bounded as a whole (connect, TLS, headers and body) by its target's timeout.
package probe
