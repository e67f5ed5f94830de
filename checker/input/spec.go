package input

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/breakerbox/breakerbox/internal/circuit"
)

// Defaults and limits of a target.
const (
	// DefaultTimeout bounds a probe whose target sets no timeout.
	DefaultTimeout = 4 * time.Second
	// MaxTimeout is the longest probe timeout accepted.
	MaxTimeout = 5 * time.Minute
	// DefaultMethod is the probe's HTTP method when none is set.
	DefaultMethod = http.MethodGet
	// DefaultExpectStatus is the accepted status range when none is set. 3xx answers count as
	// healthy without being followed: the service answered, and following is opt-in.
	DefaultExpectStatus = "200-399"
	// MaxTargets is the most targets one input may hold.
	MaxTargets = 500
)

// Spec is one target as written in the rule's input. Empty fields take their defaults.
type Spec struct {
	ID           string            `json:"id"`
	URL          string            `json:"url"`
	Timeout      string            `json:"timeout,omitempty"`
	Method       string            `json:"method,omitempty"`
	ExpectStatus string            `json:"expectStatus,omitempty"`
	SlowCall     string            `json:"slowCall,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	// FollowRedirects follows up to 10 redirects; by default a 3xx answer is judged as it is.
	FollowRedirects bool `json:"followRedirects,omitempty"`
}

// Target is a validated Spec with its defaults applied.
type Target struct {
	ID      string
	URL     *url.URL
	Timeout time.Duration
	Method  string
	Expect  StatusSet
	// SlowCall is the target's own slow-call threshold; 0 means the circuit policy's.
	SlowCall        time.Duration
	Headers         http.Header
	FollowRedirects bool
}

// allowedMethods are the methods a probe may use.
var allowedMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Validate checks s and returns its Target. Errors name the field and say what a valid value is.
func (s Spec) Validate() (Target, error) {
	t := Target{ID: s.ID, Timeout: DefaultTimeout, Method: DefaultMethod, FollowRedirects: s.FollowRedirects}
	if s.ID == "" {
		return Target{}, fmt.Errorf(`missing "id": name the circuit, e.g. "inventory"`)
	}
	if err := circuit.ValidateID(s.ID); err != nil {
		return Target{}, fmt.Errorf(`"id": %w`, err)
	}
	u, err := parseURL(s.URL)
	if err != nil {
		return Target{}, err
	}
	t.URL = u
	if s.Timeout != "" {
		if t.Timeout, err = parseDuration("timeout", s.Timeout); err != nil {
			return Target{}, err
		}
		if t.Timeout > MaxTimeout {
			return Target{}, fmt.Errorf(`"timeout" %q is over the %s limit`, s.Timeout, MaxTimeout)
		}
	}
	if s.SlowCall != "" {
		if t.SlowCall, err = parseDuration("slowCall", s.SlowCall); err != nil {
			return Target{}, err
		}
		if t.SlowCall >= t.Timeout {
			// A probe is cut at its timeout, as a failure, before it could count as slow: the
			// threshold would never apply.
			of := "the timeout"
			if s.Timeout == "" {
				of = "the default timeout"
			}
			return Target{}, fmt.Errorf(`"slowCall" %q is not below %s %s: a probe fails at its timeout before it can count as slow; lower "slowCall" or raise "timeout"`, s.SlowCall, of, t.Timeout)
		}
	}
	if s.Method != "" {
		t.Method = strings.ToUpper(strings.TrimSpace(s.Method))
		if !allowedMethods[t.Method] {
			return Target{}, fmt.Errorf(`"method" %q is not supported: use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS`, s.Method)
		}
	}
	expect := s.ExpectStatus
	if expect == "" {
		expect = DefaultExpectStatus
	}
	if t.Expect, err = ParseStatusSet(expect); err != nil {
		return Target{}, fmt.Errorf(`"expectStatus": %w`, err)
	}
	if t.Headers, err = parseHeaders(s.Headers); err != nil {
		return Target{}, err
	}
	return t, nil
}

func parseURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf(`missing "url": give the service's health URL, e.g. "https://api.example.com/health"`)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf(`"url" %q is not a URL: %w`, raw, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return nil, fmt.Errorf(`"url" %q has no scheme: start it with https:// or http://`, raw)
	default:
		return nil, fmt.Errorf(`"url" %q: unsupported scheme %q: only http and https can be probed`, raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf(`"url" %q has no host`, raw)
	}
	if p := u.Port(); p != "" {
		// url.Parse checks only that the port is digits: one out of range would fail every probe
		// and open a healthy service's circuit, so it is the input's error.
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf(`"url" %q: port %s is not a port from 1 to 65535`, raw, p)
		}
	}
	return u, nil
}

func parseDuration(field, v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf(`%q %q is not a duration: use Go's form, e.g. "4s" or "500ms"`, field, v)
	}
	if d <= 0 {
		return 0, fmt.Errorf(`%q %q must be positive`, field, v)
	}
	return d, nil
}

func parseHeaders(m map[string]string) (http.Header, error) {
	if len(m) == 0 {
		return nil, nil
	}
	h := make(http.Header, len(m))
	given := make(map[string]string, len(m))
	for _, name := range sortedNames(m) {
		v := m[name]
		if !isToken(name) {
			return nil, fmt.Errorf(`"headers": %q is not a valid header name`, name)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf(`"headers": the value of %q holds a line break or NUL`, name)
		}
		key := http.CanonicalHeaderKey(name)
		if droppedHeaders[key] {
			return nil, fmt.Errorf(`"headers": %q is set by the HTTP client from the request itself and would not be sent: leave it out`, name)
		}
		if other, dup := given[key]; dup {
			// Header names are case-insensitive: one of the two would be lost.
			return nil, fmt.Errorf(`"headers": %q and %q name the same header: keep one`, other, name)
		}
		given[key] = name
		h.Set(name, v)
	}
	return h, nil
}

// droppedHeaders are the request headers Go's HTTP client writes from the request itself, ignoring
// any value set for them (net/http's request writer): given in a target, they would silently not be
// sent. Host is not among them: the probe sends it as the request's host.
var droppedHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Trailer": true}

// sortedNames returns m's keys in order, so that the first of two clashing names is always the same.
func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// isToken reports whether s is an RFC 9110 token (the grammar of header names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Encode validates s and returns it as the rule input JSON the checker reads (single-target shape).
func Encode(s Spec) ([]byte, error) {
	if _, err := s.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}
