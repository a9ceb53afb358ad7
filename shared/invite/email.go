package invite

import (
	"strings"
)

// NormalizeEmail trims the address and lower-cases its domain. The local part is kept
// as given: some mail systems honour its case, and the invitee should see their address
// as it was typed. Validation is separate (ValidateEmail).
func NormalizeEmail(email string) string {
	email = strings.TrimSpace(email)
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	return email[:at] + "@" + strings.ToLower(email[at+1:])
}

// EmailKey is the form used to compare addresses and to key reservations: the whole
// normalized address lower-cased, so that Ann@Example.com and ann@example.com are one
// invitee.
func EmailKey(email string) string {
	return strings.ToLower(NormalizeEmail(email))
}
