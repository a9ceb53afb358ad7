package mailbox

import (
	"regexp"
	"strings"
)

// addressLike is a word holding an "@": an email address, or what is left of one a
// provider found malformed ("ann@", "ann@@example.com").
var addressLike = regexp.MustCompile("[^\\s'\"`<>()\\[\\]{},;]*@[^\\s'\"`<>()\\[\\]{},;]*")

// Redact blanks out every address-like word of s: providers' error texts and
// diagnostics quote addresses, which stay out of logs and histories.
func Redact(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return addressLike.ReplaceAllString(s, "[address]")
}
