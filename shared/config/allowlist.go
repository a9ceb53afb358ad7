package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Allowlist is REDIRECT_ALLOWLIST: where an invitation's redirect_url may point. The
// zero Allowlist allows nothing.
type Allowlist struct {
	entries []allowEntry
}

type allowEntry struct {
	scheme, host string // host is lower-case, with the port only when not the default
	path         string // "" for an origin entry; else starts and ends with "/"
}

// ParseAllowlist parses comma-separated entries. Each entry is either
//
//   - an origin, "https://app.example.com" (a trailing "/" is allowed): it allows
//     every URL of exactly that scheme, host and port; or
//   - a URL prefix with a path, "https://app.example.com/welcome": it allows URLs of
//     that origin whose path is the prefix's path or lies below it, at a segment
//     boundary ("/welcome", "/welcome/", "/welcome/x", not "/welcomex").
//
// Hosts compare case-insensitively and default ports are implied ("https://a.com" and
// "https://a.com:443" are one origin). No wildcards; entries use https, or http on a
// loopback host for local runs, and carry no credentials, query or fragment.
func ParseAllowlist(v string) (Allowlist, error) {
	var al Allowlist
	for _, raw := range splitList(v) {
		e, err := parseEntry(raw)
		if err != nil {
			return Allowlist{}, fmt.Errorf("entry %q %v", raw, err)
		}
		al.entries = append(al.entries, e)
	}
	return al, nil
}

func parseEntry(raw string) (allowEntry, error) {
	if strings.Contains(raw, "*") {
		return allowEntry{}, errors.New("has a wildcard; list each origin or prefix")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return allowEntry{}, errors.New("must be an absolute https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return allowEntry{}, errors.New("must have no credentials, query or fragment")
	}
	if err := checkScheme(u); err != nil {
		return allowEntry{}, err
	}
	p := u.EscapedPath()
	if hasDotSegment(p) {
		return allowEntry{}, errors.New("must not contain . or .. path segments")
	}
	e := allowEntry{scheme: u.Scheme, host: canonicalHost(u)}
	if p != "" && p != "/" {
		e.path = strings.TrimRight(p, "/") + "/"
	}
	return e, nil
}

// Allows reports whether raw, an absolute URL, is covered by an entry. Its path is
// compared as a browser resolves it ("." and ".." segments applied), and a URL that
// clients and servers may read differently is refused outright: one holding a
// backslash anywhere, or in its path an encoded separator ("%2f", "%5c") or an
// encoded dot segment ("%2e", ".%2e"), even under further percent-encoding ("%252f").
func (al Allowlist) Allows(raw string) bool {
	if strings.ContainsRune(raw, '\\') {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// The path as sent, before Go re-escapes it: RawPath when it differs from the
	// canonical escaping, else that escaping.
	if ambiguousPath(cmp.Or(u.RawPath, u.EscapedPath())) {
		return false
	}
	p := browserPath(u.EscapedPath())
	scheme, host := strings.ToLower(u.Scheme), canonicalHost(u)
	for _, e := range al.entries {
		if e.scheme != scheme || e.host != host {
			continue
		}
		if e.path == "" || p+"/" == e.path || strings.HasPrefix(p, e.path) {
			return true
		}
	}
	return false
}

// origins lists each entry's scheme://host[:port].
func (al Allowlist) origins() []string {
	out := make([]string, len(al.entries))
	for i, e := range al.entries {
		out[i] = e.scheme + "://" + e.host
	}
	return out
}

// Len is the number of entries.
func (al Allowlist) Len() int { return len(al.entries) }

func canonicalHost(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if port == "" {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// hasDotSegment reports a "." or ".." path segment, plain or percent-encoded.
func hasDotSegment(escaped string) bool {
	for _, seg := range strings.Split(escaped, "/") {
		if dotSegment(seg) != 0 {
			return true
		}
	}
	return false
}

// dotSegment says whether seg is a single-dot (1) or double-dot (2) segment as the
// WHATWG URL standard reads them, "%2e" being a dot; 0 when it is neither.
func dotSegment(seg string) int {
	switch strings.ToLower(seg) {
	case ".", "%2e":
		return 1
	case "..", ".%2e", "%2e.", "%2e%2e":
		return 2
	}
	return 0
}

// ambiguousPath reports an escaped path that a browser, a proxy and a server may
// resolve to different places: one with a backslash, an encoded "/" or "\", or an
// encoded dot segment, at any depth of percent-encoding ("%252e" is "%2e" to a
// server that decodes twice).
func ambiguousPath(escaped string) bool {
	for s := strings.ToLower(escaped); ; {
		if strings.ContainsRune(s, '\\') || strings.Contains(s, "%2f") || strings.Contains(s, "%5c") {
			return true
		}
		for _, seg := range strings.Split(s, "/") {
			if dotSegment(seg) != 0 && strings.Contains(seg, "%") {
				return true
			}
		}
		if !strings.Contains(s, "%25") {
			return false
		}
		s = strings.ReplaceAll(s, "%25", "%")
	}
}

// browserPath resolves an escaped http(s) path as a browser does (the WHATWG URL
// standard's path state): "\" separates segments like "/", "." segments go, and a
// ".." segment removes the one before it, never climbing above the root.
func browserPath(escaped string) string {
	if escaped == "" {
		return ""
	}
	segs := strings.Split(strings.ReplaceAll(escaped, "\\", "/"), "/")[1:]
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch dotSegment(seg) {
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case 1:
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/")
}
