package httpapi

import (
	"testing"

	"github.com/doormanhq/doorman/shared/invite"
)

// TestScopedKey: a token without org_id keeps the derivation of the versions before
// organizations counted (their stored records must keep replaying), and no two
// callers, organizations or keys share a stored key.
func TestScopedKey(t *testing.T) {
	if got, want := scopedKey(invite.Actor{Sub: "auth0|ann"}, "k-1"), "v1:9:auth0|ann:k-1"; got != want {
		t.Errorf("application token: scopedKey = %q, want %q (the deployed derivation)", got, want)
	}
	keys := []struct {
		a   invite.Actor
		key string
	}{
		{invite.Actor{Sub: "auth0|ann"}, "k"},
		{invite.Actor{Sub: "auth0|ann", OrgID: "org_a"}, "k"},
		{invite.Actor{Sub: "auth0|ann", OrgID: "org_b"}, "k"},
		{invite.Actor{Sub: "auth0|ann", OrgID: "org_a:k"}, ""},
		{invite.Actor{Sub: "auth0|ann:org_a"}, "k"},
		{invite.Actor{Sub: "auth0|bob", OrgID: "org_a"}, "k"},
	}
	seen := map[string]int{}
	for i, k := range keys {
		got := scopedKey(k.a, k.key)
		if j, dup := seen[got]; dup {
			t.Errorf("scopedKey(%+v, %q) = scopedKey(%+v, %q) = %q", k.a, k.key, keys[j].a, keys[j].key, got)
		}
		seen[got] = i
	}
}
