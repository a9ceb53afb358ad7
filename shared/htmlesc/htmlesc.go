// Package htmlesc escapes text for the HTML Doorman writes (its emails and the
// invitee's pages) exactly as html/template escapes a string in element text, in a
// quoted attribute value and in a quoted URL attribute, without html/template: its
// method calls by reflection keep the linker from dropping unused methods anywhere in
// a program that links it.
package htmlesc

import (
	"strings"
)

// replacer maps what html/template escapes in text and in quoted attribute values;
// NUL becomes U+FFFD as an HTML parser would read it. '+' is escaped because UTF-7
// would read it as a shift.
var replacer = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// Text returns s escaped for HTML element text or a quoted attribute value.
func Text(s string) string {
	return replacer.Replace(s)
}

// Unsafe is what URL returns for a link whose scheme could run code (javascript:,
// data:, vbscript: …): a fragment that goes nowhere, as html/template writes it.
const Unsafe = "#ZgotmplZ"

// URL returns s escaped for a quoted URL attribute such as href. A link with a scheme
// other than http, https or mailto becomes Unsafe; otherwise every byte that may not
// stand in a URL is percent-encoded (valid %XX escapes are kept) and the rest escaped
// as Text does.
func URL(s string) string {
	if !safeScheme(s) {
		return Unsafe
	}
	return Text(normalizeURL(s))
}

// safeScheme reports whether s is relative or has an http, https or mailto scheme.
func safeScheme(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(scheme, "/") {
		return true
	}
	return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "mailto")
}

// normalizeURL percent-encodes the bytes of s that RFC 3986 neither reserves nor
// leaves unreserved, and the quote and parentheses that could end an attribute or a
// CSS url(...). A '%' that starts a valid escape is kept.
func normalizeURL(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if urlByteKept(c) || c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			continue
		}
		if written == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

// urlByteKept reports whether c stands in a URL as it is: the reserved characters
// but the quote and parentheses, and the unreserved ones.
func urlByteKept(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
