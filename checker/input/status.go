package input

import (
	"fmt"
	"strconv"
	"strings"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Low, High int }

// StatusSet is the set of status codes that count as healthy, e.g. "200-399" or "200,204,300-302".
type StatusSet []StatusRange

// ParseStatusSet reads a comma-separated list of codes and ranges of codes from 100 to 599.
func ParseStatusSet(s string) (StatusSet, error) {
	var out StatusSet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		r := StatusRange{}
		var err error
		if r.Low, err = parseCode(lo); err != nil {
			return nil, fmt.Errorf("%q: %w; write codes and ranges such as \"200-399\" or \"200,204\"", s, err)
		}
		r.High = r.Low
		if isRange {
			if r.High, err = parseCode(hi); err != nil {
				return nil, fmt.Errorf("%q: %w; write codes and ranges such as \"200-399\" or \"200,204\"", s, err)
			}
			if r.High < r.Low {
				return nil, fmt.Errorf("%q: range %s runs backwards", s, part)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("%q is not a status code from 100 to 599", s)
	}
	return n, nil
}

// Contains reports whether code is in the set.
func (s StatusSet) Contains(code int) bool {
	for _, r := range s {
		if code >= r.Low && code <= r.High {
			return true
		}
	}
	return false
}

// String writes the set back in its input form.
func (s StatusSet) String() string {
	parts := make([]string, len(s))
	for i, r := range s {
		parts[i] = strconv.Itoa(r.Low)
		if r.High != r.Low {
			parts[i] += "-" + strconv.Itoa(r.High)
		}
	}
	return strings.Join(parts, ",")
}
