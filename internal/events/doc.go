// Package events publishes circuit state changes to Amazon EventBridge, as the design contract fixes
// them: source "breakerbox", detail-type "Circuit State Change", and a detail of
// {"id","from","to","reason","at","version"} with "at" in RFC 3339.
//
// A publish is best effort by design: callers write the state first and publish after, and a failed
// publish is reported to the caller (to log and count), never retried in a way that blocks the write.
package events
