// Package envnames holds the one list of BREAKERBOX_* variables that any part of breakerbox reads,
// and finds the known name closest to one that is not on it.
//
// A function's environment is shared by the function, its client (Go, Python or Node) and the
// extension, and the ventilator, the checker and breakerctl read some of the same variables. So a
// name is "known" when any part reads it: the extension does not warn about BREAKERBOX_DISABLED,
// which only the clients read, nor a client about BREAKERBOX_CACHE_TTL, which only the extension
// reads. The Python and Node clients carry a copy of [Known] (they ship standard library only, with
// no Go to import); the clients package's tests check that the three lists are the same, and this
// package's tests that every BREAKERBOX_ name the Go code reads is on the list.
package envnames
