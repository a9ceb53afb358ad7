package invite_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"testing/iotest"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

func TestNewIDSortableAndUnique(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	seen := map[string]bool{}
	for i := range 2000 {
		id, err := invite.NewID(base.Add(time.Duration(i)*time.Millisecond), rand.Reader)
		if err != nil {
			t.Fatalf("NewID: %v", err)
		}
		if len(id) != invite.IDLen || !invite.ValidID(id) {
			t.Fatalf("NewID: got %q, want 26 Crockford base32 characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID: duplicate %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids of increasing times are not sorted")
	}
	// Many ids in one millisecond are still unique.
	for range 2000 {
		id, _ := invite.NewID(base, rand.Reader)
		if seen[id] {
			t.Fatalf("NewID: duplicate %q within a millisecond", id)
		}
		seen[id] = true
	}
}

func TestNewIDEncoding(t *testing.T) {
	tests := []struct {
		name string
		ms   int64
		rnd  []byte
		want string
	}{
		{"zero", 0, make([]byte, 10), "00000000000000000000000000"},
		{"max", 1<<48 - 1, bytes.Repeat([]byte{0xff}, 10), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		// The ULID spec's example time, 1469918176385 ms, encodes as 01ARYZ6S41.
		{"spec time", 1469918176385, make([]byte, 10), "01ARYZ6S410000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := invite.NewID(time.UnixMilli(tt.ms), bytes.NewReader(tt.rnd))
			if err != nil {
				t.Fatalf("NewID: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewIDRandomFailure(t *testing.T) {
	boom := errors.New("entropy exhausted")
	if _, err := invite.NewID(time.Now(), iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("got %v, want the reader's error", err)
	}
	if _, err := invite.NewToken(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("NewToken: got %v, want the reader's error", err)
	}
}

func TestNewTokenAndHash(t *testing.T) {
	a, err := invite.NewToken(rand.Reader)
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	b, _ := invite.NewToken(rand.Reader)
	if a == b {
		t.Fatalf("two tokens are equal: %s", a)
	}
	if len(a) != 43 || !invite.ValidToken(a) {
		t.Errorf("token %q: want 43 characters of unpadded base64url", a)
	}
	sum := sha256.Sum256([]byte(a))
	if got, want := invite.TokenHash(a), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("TokenHash: got %s, want %s", got, want)
	}
	for _, bad := range []string{"", "short", a + "A", a[:42] + "=", a[:42] + "+"} {
		if invite.ValidToken(bad) {
			t.Errorf("ValidToken(%q): got true, want false", bad)
		}
	}
}
