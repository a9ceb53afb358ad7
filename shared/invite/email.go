package invite

import (
	"strings"

	"github.com/doormanhq/doorman/shared/mailbox"
)

// NormalizeEmail returns the address as Doorman stores it, gives Auth0 and delivers
// to (mailbox.Normalize): trimmed, in NFC, its domain in lower-case ASCII through
// IDNA. The local part keeps its case: some mail systems honour it, and the invitee
// should see it as it was typed. A domain IDNA refuses is only lower-cased;
// validation refuses it (ValidateEmail).
func NormalizeEmail(email string) string {
	n, err := mailbox.Normalize(email)
	if err != nil {
		return lowerDomain(n)
	}
	return n
}

// EmailKey is the form used to compare addresses and to key reservations
// (mailbox.Key): the normalized address lower-cased, so that Ann@Example.com,
// ann@example.com, ann@ｅｘａｍｐｌｅ.com and the Unicode, decomposed and Punycode
// spellings of ann@bücher.de are each one invitee. The key of an ASCII address is
// its lower-case, as it always was.
func EmailKey(email string) string {
	return mailbox.Key(email)
}

func lowerDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	return email[:at] + "@" + strings.ToLower(email[at+1:])
}
