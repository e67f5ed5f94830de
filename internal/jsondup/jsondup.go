// Package jsondup finds object keys given twice in a JSON document. encoding/json keeps the last of
// two equal keys without a word, so {"ok":true,"ok":false} reads as a failure and
// {"id":"a","id":"b"} names b: the project's strict inputs refuse such documents instead.
package jsondup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// First returns the path of the first object key that appears twice in the JSON value raw (such as
// `targets[1].url`), or "" when there is none. raw should be valid JSON (the caller has decoded
// it); on a syntax error First returns what it found before it.
func First(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	path, _ := walkValue(dec, "")
	return path
}

// walkValue reads one value from dec; it returns the path of a duplicate key within it, if any.
func walkValue(dec *json.Decoder, at string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			key, _ := kt.(string)
			path := key
			if at != "" {
				path = at + "." + key
			}
			if seen[key] {
				return path, nil
			}
			seen[key] = true
			if dup, err := walkValue(dec, path); dup != "" || err != nil {
				return dup, err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if dup, err := walkValue(dec, fmt.Sprintf("%s[%d]", at, i)); dup != "" || err != nil {
				return dup, err
			}
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return "", err
	}
	return "", nil
}
