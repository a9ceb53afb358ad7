package auth0

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/doormanhq/doorman/shared/invite"
)

// passwordLen is the length of a generated password: 72 ASCII characters is the most
// any Auth0 policy admits (the flexible policy's limit, which may refuse a longer
// one) and at least the minimum length any policy may ask for.
const passwordLen = 72

// The character classes of Auth0's policies. The special characters are those
// Auth0's policy text gives as examples, all in the OWASP list it checks against.
const (
	pwLower   = "abcdefghijklmnopqrstuvwxyz"
	pwUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pwDigits  = "0123456789"
	pwSpecial = "!@#$%^&*"
	pwAll     = pwLower + pwUpper + pwDigits + pwSpecial
)

// randomPassword returns a password that every Auth0 password policy accepts, so
// that creating the user never fails on it: passwordLen characters drawn uniformly
// from pwAll, with all four classes present, no character next to an identical one
// or to its alphabetic or numeric neighbour ("aa", "ab", "21" never occur, so
// neither do Auth0's refused runs of three), and none of the user's personal data
// (personal, compared case-insensitively) contained in it. It is sent once and never
// kept: the invitee sets their own through a ticket.
func randomPassword(r io.Reader, personal ...string) (string, error) {
	var avoid []string
	for _, p := range personal {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			avoid = append(avoid, p)
		}
	}
	src := &byteSource{r: r}
	// A draw misses a class with a chance of about 1 in 6,000; five tries make a
	// failure as likely as guessing the password.
	for range 5 {
		pw, err := drawPassword(src, avoid)
		if err != nil {
			return "", fmt.Errorf("auth0: random password: %w", err)
		}
		if hasEveryClass(pw) {
			return pw, nil
		}
	}
	return "", errors.New("auth0: random password: no draw held every character class")
}

func drawPassword(src *byteSource, avoid []string) (string, error) {
	b := make([]byte, 0, passwordLen)
	lower := make([]byte, 0, passwordLen) // b lower-cased, to compare with avoid
	// Each position refuses at most a few characters (the previous one and its
	// neighbours, the last of a personal value), so a draw needs about passwordLen
	// picks; the bound only stops a caller whose personal data forbids every one.
	for picks := 0; len(b) < passwordLen; picks++ {
		if picks == 100*passwordLen {
			return "", errors.New("the personal data leaves no character to draw")
		}
		c, err := src.pick(pwAll)
		if err != nil {
			return "", err
		}
		if n := len(b); n > 0 && adjacent(b[n-1], c) {
			continue
		}
		lower = append(lower, toLower(c))
		if endsWithAny(lower, avoid) {
			lower = lower[:len(lower)-1]
			continue
		}
		b = append(b, c)
	}
	return string(b), nil
}

// adjacent reports two characters Auth0 may count as a run: identical, or letters or
// digits one code point apart.
func adjacent(prev, c byte) bool {
	if prev == c {
		return true
	}
	return isAlnum(prev) && isAlnum(c) && (c == prev+1 || c+1 == prev)
}

func endsWithAny(s []byte, avoid []string) bool {
	for _, a := range avoid {
		if len(s) >= len(a) && string(s[len(s)-len(a):]) == a {
			return true
		}
	}
	return false
}

func hasEveryClass(pw string) bool {
	for _, class := range []string{pwLower, pwUpper, pwDigits, pwSpecial} {
		if !strings.ContainsAny(pw, class) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func toLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// byteSource draws uniformly from an alphabet, reading r in blocks.
type byteSource struct {
	r   io.Reader
	buf [64]byte
	n   int // unread bytes at the end of buf
}

// pick returns a uniformly chosen byte of alphabet (at most 256 long), discarding
// the random bytes that would bias the choice.
func (s *byteSource) pick(alphabet string) (byte, error) {
	limit := 256 - 256%len(alphabet)
	for {
		if s.n == 0 {
			if _, err := io.ReadFull(s.r, s.buf[:]); err != nil {
				return 0, err
			}
			s.n = len(s.buf)
		}
		v := int(s.buf[len(s.buf)-s.n])
		s.n--
		if v < limit {
			return alphabet[v%len(alphabet)], nil
		}
	}
}

// personalData is what Auth0's "personal data" policy may compare a new user's
// password with: the email and its part before the @ (also the default nickname),
// the name, and the user_metadata strings (name, first, last or any field a tenant
// blocks).
func personalData(nu invite.NewUser) []string {
	out := []string{nu.Email, nu.Name}
	if at := strings.LastIndexByte(nu.Email, '@'); at > 0 {
		out = append(out, nu.Email[:at])
	}
	for _, v := range nu.UserMetadata {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
