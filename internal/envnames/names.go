package envnames

import (
	"slices"
	"strings"
)

// Prefix starts every breakerbox variable.
const Prefix = "BREAKERBOX_"

// Known is every BREAKERBOX_* variable some part of breakerbox reads, sorted. Keep the copies in
// clients/python/breakerbox/names.py (KNOWN_VARIABLES) and clients/node/breakerbox/names.js
// (KNOWN_VARIABLES) the same.
var Known = []string{
	"BREAKERBOX_AUTH",                 // extension, clients
	"BREAKERBOX_BACKOFF_MULTIPLIER",   // policy: extension, checker
	"BREAKERBOX_CACHE_SIZE",           // extension
	"BREAKERBOX_CACHE_TTL",            // extension
	"BREAKERBOX_CHECKER_ARN",          // breakerctl
	"BREAKERBOX_CIRCUIT",              // ventilator
	"BREAKERBOX_CIRCUITS",             // extension
	"BREAKERBOX_CONSECUTIVE_FAILURES", // policy
	"BREAKERBOX_COUNTER_SHARDS",       // extension
	"BREAKERBOX_DISABLED",             // clients
	"BREAKERBOX_EVENT_BUS",            // extension, checker, breakerctl
	"BREAKERBOX_FAILURE_RATE",         // policy
	"BREAKERBOX_FAIL_MODE",            // extension, clients
	"BREAKERBOX_FLUSH_INTERVAL",       // extension
	"BREAKERBOX_HALF_OPEN_PROBES",     // policy
	"BREAKERBOX_LOG_LEVEL",            // extension
	"BREAKERBOX_MAX_OPEN_DURATION",    // policy
	"BREAKERBOX_MIN_CALLS",            // policy
	"BREAKERBOX_OPEN_DURATION",        // policy
	"BREAKERBOX_PORT",                 // extension, clients
	"BREAKERBOX_PROBE_LEASE",          // policy
	"BREAKERBOX_PUBLISH_TIMEOUT",      // extension, checker
	"BREAKERBOX_RECENT_SPAN",          // policy
	"BREAKERBOX_SLOW_CALL",            // policy
	"BREAKERBOX_SLOW_CALL_RATE",       // policy
	"BREAKERBOX_STALE_TTL",            // extension
	"BREAKERBOX_STORE_TIMEOUT",        // extension, checker
	"BREAKERBOX_SUCCESS_THRESHOLD",    // policy
	"BREAKERBOX_TABLE",                // extension, checker, ventilator, breakerctl
	"BREAKERBOX_WINDOW",               // policy
}

// IsKnown reports whether name is on [Known].
func IsKnown(name string) bool {
	_, found := slices.BinarySearch(Known, name)
	return found
}

// Unknown is a BREAKERBOX_* variable that no part reads, with the known name closest to it.
type Unknown struct {
	Name    string
	Closest string
}

// Message says what is wrong and what to do, in the words every part logs.
func (u Unknown) Message() string {
	return u.Name + " is not a breakerbox variable and is ignored: did you mean " + u.Closest + "? (set " + u.Closest + " instead, or remove " + u.Name + ")"
}

// Find returns the unknown BREAKERBOX_* variables of environ (KEY=VALUE, as os.Environ), each once,
// in the order given.
func Find(environ []string) []Unknown {
	var out []Unknown
	seen := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix) || IsKnown(name) || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, Unknown{Name: name, Closest: Closest(name)})
	}
	return out
}

// Closest returns the known name at the least edit distance from name (the first on [Known] when
// several are as close).
func Closest(name string) string {
	best, bestD := Known[0], -1
	for _, k := range Known {
		if d := distance(name, k); bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b (bytes: the names are ASCII).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
