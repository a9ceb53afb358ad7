package auth0

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/doormanhq/doorman/shared/invite"
)

// TestRandomPasswordMeetsEveryAuth0Policy draws many passwords and checks each
// against the strictest setting of every Auth0 policy: the "Excellent" strength
// level, the flexible policy's composition options (all four character classes,
// identical and sequential characters blocked, at most 72 bytes, any minimum length
// up to 72) and "block personal data", with the checks written out here rather than
// borrowed from the generator.
func TestRandomPasswordMeetsEveryAuth0Policy(t *testing.T) {
	users := []invite.NewUser{
		{Email: "ann.smith@example.com", Name: "Ann Smith"},
		{Email: "a@example.com", Name: "A"}, // one-letter personal data
		{Email: "jo@example.com", Name: "Jo", UserMetadata: map[string]any{"first": "X", "last": "7", "nick": "!"}},
		{Email: "zq@example.com"},
	}
	const draws = 100_000
	for i := range draws {
		nu := users[i%len(users)]
		pw, err := randomPassword(rand.Reader, personalData(nu)...)
		if err != nil {
			t.Fatalf("draw %d: %v", i, err)
		}
		if msg := policyViolation(pw, personalData(nu)); msg != "" {
			t.Fatalf("draw %d for %s: %q %s", i, nu.Email, pw, msg)
		}
	}
}

// policyViolation says which Auth0 rule pw breaks, or "".
func policyViolation(pw string, personal []string) string {
	if len(pw) < 16 || len(pw) > 72 {
		return "has a length outside [16, 72]"
	}
	var lower, upper, digit, special bool
	for i := 0; i < len(pw); i++ {
		c := pw[i]
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		case strings.IndexByte(`!"#$%&'()*+,-./:;<=>?@[\]^_`+"`{|}~", c) >= 0:
			special = true
		default:
			return "holds a character outside printable ASCII: " + string(c)
		}
	}
	if !lower || !upper || !digit || !special {
		return "lacks a character class"
	}
	for i := 2; i < len(pw); i++ {
		a, b, c := pw[i-2], pw[i-1], pw[i]
		if a == b && b == c {
			return "has three identical characters in a row"
		}
		if alnum(a) && alnum(b) && alnum(c) && (int(b)-int(a) == int(c)-int(b)) && (int(c)-int(b) == 1 || int(c)-int(b) == -1) {
			return "has three sequential characters (abc, 321)"
		}
	}
	low := strings.ToLower(pw)
	for _, p := range personal {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" && strings.Contains(low, p) {
			return "contains personal data " + p
		}
	}
	return ""
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

func TestRandomPasswordFails(t *testing.T) {
	t.Run("random source fails", func(t *testing.T) {
		boom := errors.New("entropy gone")
		if _, err := randomPassword(iotest.ErrReader(boom)); !errors.Is(err, boom) {
			t.Errorf("got %v, want %v", err, boom)
		}
	})
	t.Run("personal data forbids every character", func(t *testing.T) {
		every := strings.Split(pwAll, "")
		if pw, err := randomPassword(rand.Reader, every...); err == nil {
			t.Errorf("got %q, want an error", pw)
		}
	})
}

func TestPersonalData(t *testing.T) {
	got := personalData(invite.NewUser{Email: "ann.smith@example.com", Name: "Ann", UserMetadata: map[string]any{"first": "Annie", "age": 7}})
	for _, want := range []string{"ann.smith@example.com", "ann.smith", "Ann", "Annie"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("got %q, want %q among them", got, want)
		}
	}
}
