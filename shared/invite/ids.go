package invite

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// crockford is Crockford's base32 alphabet (no I, L, O, U), in ascending byte order so
// that ids sort as their times do.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of an id from NewID.
const IDLen = 26

// NewID returns a ULID-shaped id: 48 bits of milliseconds since the Unix epoch and 80
// random bits read from r, in 26 characters of Crockford base32. Ids of different
// milliseconds sort by time; within one millisecond their order is random.
func NewID(now time.Time, r io.Reader) (string, error) {
	ms := now.UnixMilli()
	if ms < 0 || ms >= 1<<48 {
		return "", fmt.Errorf("new id: time %s out of range", now.Format(time.RFC3339))
	}
	var b [16]byte
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := io.ReadFull(r, b[6:]); err != nil {
		return "", fmt.Errorf("new id: read random: %w", err)
	}
	return encodeULID(b), nil
}

// encodeULID writes 128 bits as 26 base32 digits, the first carrying 3 bits.
func encodeULID(b [16]byte) string {
	var out [IDLen]byte
	// Walk from the least significant end, 5 bits at a time.
	var acc uint32
	var bits uint
	j := IDLen - 1
	for i := 15; i >= 0; i-- {
		acc |= uint32(b[i]) << bits
		bits += 8
		for bits >= 5 {
			out[j] = crockford[acc&31]
			j--
			acc >>= 5
			bits -= 5
		}
	}
	out[j] = crockford[acc&31] // the top 3 bits
	return string(out[:])
}

// ValidID reports whether id has the shape of an id from NewID, so that callers can
// refuse garbage without a database read.
func ValidID(id string) bool {
	if len(id) != IDLen || id[0] > '7' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isCrockford(id[i]) {
			return false
		}
	}
	return true
}

func isCrockford(c byte) bool {
	for i := 0; i < len(crockford); i++ {
		if crockford[i] == c {
			return true
		}
	}
	return false
}

// TokenBytes is the entropy of a link token.
const TokenBytes = 32

// tokenLen is the length of a token from NewToken: 32 bytes in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// NewToken returns a 256-bit random link token in unpadded base64url. Only its hash
// (TokenHash) is ever stored.
func NewToken(r io.Reader) (string, error) {
	var b [TokenBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("new token: read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// TokenHash is the hex SHA-256 of a link token, the form in which it is stored.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ValidToken reports whether token has the shape of a token from NewToken.
func ValidToken(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil
}
