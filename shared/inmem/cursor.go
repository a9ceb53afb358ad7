package inmem

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Cursors are sealed as the DynamoDB store's are: base64url(payload || sum), where
// payload is the JSON array of the query's binding followed by the position, so that
// a cursor that was altered, or that comes from another query, does not open. The sum
// needs no key here: nothing outside the process reads these cursors.
const sumLen = 16

func sum(payload []byte) []byte {
	h := sha256.Sum256(append([]byte("inmem-cursor\x00"), payload...))
	return h[:sumLen]
}

func seal(binding []string, pos string) string {
	payload, _ := json.Marshal(append(slices.Clip(binding), pos)) // []string always encodes
	return base64.RawURLEncoding.EncodeToString(append(payload, sum(payload)...))
}

// open returns the position sealed in cursor, which must have been sealed with binding.
func open(cursor string, binding []string) (string, error) {
	bad := invite.Invalid("cursor", "the cursor is malformed or belongs to another query")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor) // Strict: no two cursors decode alike
	if err != nil || len(raw) <= sumLen {
		return "", bad
	}
	payload := raw[:len(raw)-sumLen]
	if string(raw[len(raw)-sumLen:]) != string(sum(payload)) {
		return "", bad
	}
	var parts []string
	if err := json.Unmarshal(payload, &parts); err != nil || len(parts) != len(binding)+1 || !slices.Equal(parts[:len(binding)], binding) {
		return "", bad
	}
	return parts[len(binding)], nil
}

// keyTime is the DynamoDB store's fixed-width time in sort keys: byte order is time
// order.
const keyTime = "2006-01-02T15:04:05.000000000Z"

// sortKey orders invitations as the DynamoDB store's indexes do: by a time, then by id.
func sortKey(t time.Time, id string) string { return t.UTC().Format(keyTime) + "#" + id }

// rank orders invitations by creation: the copies the webhook reads name the highest.
func rank(inv *invite.Invitation) string { return sortKey(inv.CreatedAt, inv.ID) }
