package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// protojson reports where decoding failed as a line:column of the JSON it was given; that JSON is
// derived from the YAML, so the position means nothing to a reader. Name the field instead.
var position = regexp.MustCompile(`\(line (\d+):(\d+)\): `)

// withFieldPath rewrites "proto: (line 1:4124): unknown field "x"" to
// "static_resources.listeners[1]...x: unknown field "x"".
func withFieldPath(js []byte, err error) string {
	text := strings.TrimPrefix(err.Error(), "proto: ")
	m := position.FindStringSubmatchIndex(text)
	if m == nil {
		return text
	}
	line, _ := strconv.Atoi(text[m[2]:m[3]])
	col, _ := strconv.Atoi(text[m[4]:m[5]])
	path := jsonPathAt(js, byteOffset(js, line, col))
	return fmt.Sprintf("%s: %s%s", orRoot(path), text[:m[0]], text[m[1]:])
}

// byteOffset turns a 1-based line and rune column into a byte offset.
func byteOffset(js []byte, line, col int) int64 {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(js[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(js); c++ {
		_, size := utf8.DecodeRune(js[off:])
		off += size
	}
	return int64(off)
}

type level struct {
	array   bool
	index   int
	key     string
	wantKey bool
}

// jsonPathAt names the object key or value that covers byte offset `at`, as a.b[2].c.
func jsonPathAt(js []byte, at int64) string {
	dec := json.NewDecoder(bytes.NewReader(js))
	var levels []*level
	path := func() string {
		var b strings.Builder
		for _, l := range levels {
			if l.array {
				fmt.Fprintf(&b, "[%d]", l.index)
			} else if l.key != "" {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			}
		}
		return b.String()
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			levels = levels[:len(levels)-1]
			if n := len(levels); n > 0 && !levels[n-1].array {
				levels[n-1].wantKey = true
			}
			continue
		}
		var cur *level
		if n := len(levels); n > 0 {
			cur = levels[n-1]
		}
		if cur != nil && !cur.array && cur.wantKey {
			cur.key, cur.wantKey = tok.(string), false
			if dec.InputOffset() > at {
				return path()
			}
			continue
		}
		if cur != nil && cur.array {
			cur.index++
		}
		if dec.InputOffset() > at {
			return path()
		}
		if d, ok := tok.(json.Delim); ok {
			levels = append(levels, &level{array: d == '[', index: -1, wantKey: d == '{'})
		} else if cur != nil && !cur.array {
			cur.wantKey = true
		}
	}
}
