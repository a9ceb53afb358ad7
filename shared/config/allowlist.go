package config

import (
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

// Allows reports whether raw, an absolute URL, is covered by an entry. A URL with
// dot segments in its path is refused outright, since a browser would resolve them
// to somewhere the prefix does not cover.
func (al Allowlist) Allows(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	p := u.EscapedPath()
	if hasDotSegment(p) || strings.Contains(p, "\\") {
		return false
	}
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
		s := strings.ToLower(strings.ReplaceAll(strings.ToLower(seg), "%2e", "."))
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}
