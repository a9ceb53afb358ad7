// Package mailbox makes every spelling of one email address one address: Unicode
// normalization (NFC) and IDNA (UTS #46), which the standard library lacks. Doorman
// stores, compares, keys, hands to Auth0 and delivers to the forms it returns, so
// that full-width, decomposed and Punycode spellings of a domain cannot make two
// invitations, or two accounts, for one mailbox. It is a leaf on golang.org/x/net
// and golang.org/x/text alone, the one package beyond the standard library that the
// domain (shared/invite) imports.
package mailbox

import (
	"errors"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// ErrDomain is Normalize's error for a domain IDNA refuses (an underscore, a label
// with "--" in third and fourth place, invalid Punycode, a disallowed character).
var ErrDomain = errors.New("the domain is not a valid internationalized domain name")

// Normalize returns addr trimmed and in NFC, with its domain mapped through IDNA's
// lookup profile to lower-case ASCII (Punycode for the parts beyond ASCII): the form
// SMTP and SES take, and the one Doorman stores and sends. The local part keeps its
// case: some mail systems honour it. An address without "@" comes back trimmed and
// in NFC, for validation to refuse.
func Normalize(addr string) (string, error) {
	addr = norm.NFC.String(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr, nil
	}
	domain, err := idna.Lookup.ToASCII(addr[at+1:])
	if err != nil || domain == "" {
		return addr, ErrDomain
	}
	return addr[:at+1] + strings.ToLower(domain), nil
}

// Key is the form addresses are compared and keyed by: Normalize's, lower-cased.
// An address whose domain IDNA refuses keys as its NFC form lower-cased, which is
// what earlier versions keyed every address by, so that Key never fails and the key
// of an ASCII address is its lower-case, as it always was.
func Key(addr string) string {
	n, _ := Normalize(addr)
	return strings.ToLower(n)
}
