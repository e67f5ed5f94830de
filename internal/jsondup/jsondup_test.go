package jsondup_test

import (
	"testing"

	"github.com/breakerbox/breakerbox/internal/jsondup"
)

func TestFirst(t *testing.T) {
	cases := map[string]string{
		`{"a":1,"b":2}`:                         "",
		`{"a":1,"a":2}`:                         "a",
		`{"a":{"b":1,"c":{"d":1,"d":2}}}`:       "a.c.d",
		`{"l":[{"x":1},{"x":1,"y":2,"x":3}]}`:   "l[1].x",
		`[{"a":1},{"a":1}]`:                     "",
		`{"a":"{\"b\":1,\"b\":2}"}`:             "",
		`{"outcomes":[{"ok":true,"ok":false}]}`: "outcomes[0].ok",
		`"plain"`:                               "",
		`{"a":1,"a"`:                            "a",
	}
	for in, want := range cases {
		if got := jsondup.First([]byte(in)); got != want {
			t.Errorf("First(%s) = %q, want %q", in, got, want)
		}
	}
}
