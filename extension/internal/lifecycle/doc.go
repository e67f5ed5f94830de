// Package lifecycle runs the extension's side of the Lambda lifecycle: register for INVOKE and
// SHUTDOWN, loop on /event/next, flush outcome buffers while the sandbox is thawed (in the background
// every flush interval, and when an INVOKE arrives if a flush is due, since once the extension calls
// /event/next again the sandbox may be frozen), and on SHUTDOWN flush everything before the deadline.
package lifecycle
