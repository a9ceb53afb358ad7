// Log-stream framing: how the records are cut out of a body in each of the three
// formats (a JSON array, JSON lines, one JSON object), and how a record's type is
// peeked at without decoding it. Both scan bytes rather than use encoding/json: its
// Decoder cannot step over a malformed array element, and framing the mixed 100-event
// fixture with it measured 4 to 8 times slower (the type peek by json.Unmarshal
// slower again).

package auth0

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// firstByte peeks at the first non-space byte.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, fmt.Errorf("%w: it is empty", ErrNotLogStream)
		}
		if err != nil {
			return 0, fmt.Errorf("auth0: read log-stream body: %w", err)
		}
		if !isSpace(b) {
			return b, br.UnreadByte()
		}
	}
}

// array reads the body element by element into one reused buffer, so memory follows
// the largest record rather than the body. Elements are delimited by their brackets
// and strings before they are parsed, so an element that is bad JSON inside balanced
// brackets is reported and skipped without losing its neighbours.
func (d *decoder) array(br *bufio.Reader) error {
	if _, err := br.ReadByte(); err != nil { // the '[', already seen
		return fmt.Errorf("auth0: read log-stream array: %w", err)
	}
	var buf []byte
	for i := 0; ; i++ {
		c, err := nextNonSpace(br)
		if err != nil {
			return d.cut(i, err)
		}
		if c == ']' && i == 0 {
			return nil
		}
		buf, err = readValue(br, buf[:0])
		if err != nil {
			return d.cut(i, err)
		}
		d.record(i, buf)
		c, err = nextNonSpace(br)
		if err != nil {
			return d.cut(i+1, err)
		}
		_, _ = br.ReadByte()
		switch c {
		case ']':
			return nil
		case ',':
		default:
			return d.cut(i+1, fmt.Errorf("%w: %q between elements", errMalformed, c))
		}
	}
}

// cut records that the array ended early at element i; a read error other than the
// body's end is the caller's.
func (d *decoder) cut(i int, err error) error {
	if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, errMalformed) {
		return fmt.Errorf("auth0: read log-stream array: %w", err)
	}
	d.batch.Truncated = true
	d.fail(i, fmt.Errorf("array cut short: %w", err))
	return nil
}

var errMalformed = errors.New("malformed JSON")

// nextNonSpace peeks at the next byte that is not white space.
func nextNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(b) {
			return b, br.UnreadByte()
		}
	}
}

// readValue appends one JSON value's bytes to buf, finding its end by its brackets
// and strings only; json.Valid judges the rest. It works on the reader's buffered
// window rather than byte by byte, and jumps through strings with IndexAny.
func readValue(br *bufio.Reader, buf []byte) ([]byte, error) {
	depth, inString, escaped := 0, false, false
	for {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					if depth == 0 && !inString && len(buf) > 0 {
						return buf, nil
					}
					return buf, io.ErrUnexpectedEOF
				}
				return buf, err
			}
		}
		chunk, _ := br.Peek(br.Buffered())
		for j := 0; j < len(chunk); j++ {
			c := chunk[j]
			if inString {
				if escaped {
					escaped = false
					continue
				}
				k := bytes.IndexAny(chunk[j:], "\"\\")
				if k < 0 {
					j = len(chunk)
					break
				}
				j += k
				if chunk[j] == '\\' {
					escaped = true
					continue
				}
				inString = false
				if depth == 0 {
					return take(br, buf, chunk, j+1)
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 { // the end of a scalar element: leave the ']' for the caller
					return take(br, buf, chunk, j)
				}
				depth--
				if depth == 0 {
					return take(br, buf, chunk, j+1)
				}
			case ',', ' ', '\t', '\n', '\r':
				if depth == 0 { // the end of a scalar, or an empty slot
					return take(br, buf, chunk, j)
				}
			}
		}
		buf = append(buf, chunk...)
		_, _ = br.Discard(len(chunk))
	}
}

// take appends chunk[:n] to buf and consumes it from br.
func take(br *bufio.Reader, buf, chunk []byte, n int) ([]byte, error) {
	buf = append(buf, chunk[:n]...)
	_, err := br.Discard(n)
	return buf, err
}

// objects handles the two formats that start with '{': JSON lines, read line by line,
// and a single object, which may span lines. A first line that is a whole JSON value
// means lines; otherwise the body is one object, or lines whose first one is broken.
func (d *decoder) objects(br *bufio.Reader) error {
	first, err := readLine(br)
	if err != nil && err != io.EOF {
		return fmt.Errorf("auth0: read log-stream body: %w", err)
	}
	if json.Valid(first) {
		// One record on one line is both formats; it reads as an object.
		if err == io.EOF || onlySpaceLeft(br) {
			d.batch.Format = FormatObject
			d.record(0, first)
			return nil
		}
		d.batch.Format = FormatLines
		d.record(0, first)
		return d.lines(br, 1)
	}
	rest, rerr := io.ReadAll(br)
	if rerr != nil {
		return fmt.Errorf("auth0: read log-stream body: %w", rerr)
	}
	whole := append(append(first, '\n'), rest...)
	if json.Valid(whole) {
		d.batch.Format = FormatObject
		d.record(0, whole)
		return nil
	}
	d.batch.Format = FormatLines
	d.batch.Records++
	d.fail(0, errors.New("malformed JSON line"))
	return d.lines(bufio.NewReader(bytes.NewReader(rest)), 1)
}

// onlySpaceLeft reports whether nothing but white space remains, consuming it.
func onlySpaceLeft(br *bufio.Reader) bool {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return true
		}
		if !isSpace(b) {
			_ = br.UnreadByte()
			return false
		}
	}
}

func (d *decoder) lines(br *bufio.Reader, index int) error {
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			d.record(index, line)
			index++
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("auth0: read log-stream line %d: %w", index, err)
		}
	}
}

// readLine returns the next line, trimmed; blank lines are skipped.
func readLine(br *bufio.Reader) ([]byte, error) {
	for {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if len(line) > 0 || err != nil {
			return line, err
		}
	}
}

// peekType finds data.type in a record without decoding the rest. ok is false when
// it cannot tell (no data object, no plain type string, malformed JSON on the way);
// the caller then decodes the record in full.
func peekType(raw []byte) (string, bool) {
	data, ok := member(raw, "data")
	if !ok {
		return "", false
	}
	t, ok := member(data, "type")
	if !ok || len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' || bytes.IndexByte(t, '\\') >= 0 {
		return "", false
	}
	return string(t[1 : len(t)-1]), true
}

// member returns the raw value of key in the JSON object obj. It trusts obj to be
// JSON only as far as staying in bounds: on malformed input it may answer wrongly,
// never panic. Keys written with escapes are not matched.
func member(obj []byte, key string) ([]byte, bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil, false
		}
		kEnd := skipString(obj, i)
		if kEnd-1 < i+1 || obj[kEnd-1] != '"' {
			return nil, false
		}
		k := obj[i+1 : kEnd-1]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		vEnd := skipValue(obj, i)
		if string(k) == key {
			return obj[i:vEnd], true
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) || obj[i] != ',' {
			return nil, false
		}
		i++
	}
}

// skipString returns the index just past the string starting at s[i] == '"'.
func skipString(s []byte, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// skipValue returns the index just past the value starting at s[i].
func skipValue(s []byte, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipString(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	default: // number, true, false, null
		j := i
		for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && !isSpace(s[j]) {
			j++
		}
		return j
	}
}

func skipSpace(s []byte, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
