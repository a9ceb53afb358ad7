package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every endpoint secret, as the Standard Webhooks specification
// writes them: "whsec_" + the base64 of the key.
const SecretPrefix = "whsec_"

// secretBytes is the size of a new signing key (the specification asks for 24 to 64).
const secretBytes = 32

// NewSecret returns a fresh signing secret read from rand.
func NewSecret(rand io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// secretKey is the HMAC key of a secret.
func secretKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, errors.New("events: malformed secret")
	}
	return k, nil
}

// Headers are the Standard Webhooks headers of one delivery.
type Headers struct {
	ID        string // webhook-id: the event id, the same on every attempt
	Timestamp string // webhook-timestamp: seconds since the epoch, of this attempt
	Signature string // webhook-signature: "v1,<base64>" per secret, space separated
}

// Sign signs body for the event id at time at with every secret: one v1 signature
// each, so that a receiver holding either the new or the rotated-out secret verifies
// the delivery while a rotation settles. The signed content is
// "<id>.<timestamp>.<body>" with HMAC-SHA256, as the specification says.
func Sign(id string, at time.Time, body []byte, secrets []string) (Headers, error) {
	ts := strconv.FormatInt(at.Unix(), 10)
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		k, err := secretKey(s)
		if err != nil {
			return Headers{}, err
		}
		m := hmac.New(sha256.New, k)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return Headers{ID: id, Timestamp: ts, Signature: strings.Join(sigs, " ")}, nil
}

// Verify checks a delivery as a receiver would: one of the v1 signatures matches
// secret (compared in constant time) and the timestamp is within tolerance of now.
func Verify(secret string, h Headers, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(h.Timestamp, 10, 64)
	if err != nil {
		return errors.New("events: malformed webhook-timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("events: webhook-timestamp outside tolerance")
	}
	want, err := Sign(h.ID, time.Unix(sec, 0), body, []string{secret})
	if err != nil {
		return err
	}
	for _, s := range strings.Fields(h.Signature) {
		if hmac.Equal([]byte(s), []byte(want.Signature)) {
			return nil
		}
	}
	return errors.New("events: no matching signature")
}
