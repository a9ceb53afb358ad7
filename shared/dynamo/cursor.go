package dynamo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"

	"github.com/doormanhq/doorman/shared/invite"
)

// cursors seal a position in an index together with the query it belongs to:
// base64url(payload || HMAC-SHA256(key, payload)), where payload is the JSON array of the
// query's binding followed by the position. A cursor that was altered, or that comes
// from another scope or filter, does not verify.
type cursors struct{ key []byte }

func (c cursors) seal(binding []string, pos string) string {
	payload, _ := json.Marshal(append(slices.Clip(binding), pos)) // []string always encodes
	mac := hmac.New(sha256.New, c.key)
	mac.Write(payload)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(payload))
}

// open returns the position sealed in cursor, which must have been sealed with binding.
func (c cursors) open(cursor string, binding []string) (string, error) {
	bad := invite.Invalid("cursor", "the cursor is malformed or belongs to another query")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor) // Strict: unused trailing bits must be zero, so no two cursors decode alike
	if err != nil || len(raw) <= sha256.Size {
		return "", bad
	}
	payload, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	mac := hmac.New(sha256.New, c.key)
	mac.Write(payload)
	if !hmac.Equal(mac.Sum(nil), sum) {
		return "", bad
	}
	var parts []string
	if err := json.Unmarshal(payload, &parts); err != nil || len(parts) != len(binding)+1 {
		return "", bad
	}
	if !slices.Equal(parts[:len(binding)], binding) {
		return "", bad
	}
	return parts[len(binding)], nil
}
