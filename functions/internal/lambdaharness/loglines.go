package lambdaharness

import (
	"encoding/json"
	"strings"
)

// LogLine is one JSON line of a function's log (its slog output), by attribute.
type LogLine map[string]any

// Get is the attribute key as a string; "" when it is absent or not a string.
func (l LogLine) Get(key string) string {
	s, _ := l[key].(string)
	return s
}

// LogLines are the JSON object lines of logs, in order; other lines (a panic, a
// build's output) are left out.
func LogLines(logs string) []LogLine {
	var out []LogLine
	for _, line := range strings.Split(logs, "\n") {
		var l LogLine
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}
