package config

import (
	"testing"
)

// TestSESEventsNeedsNoAuth0: the sesevents function starts without any Auth0 setting
// or secret, reads no secret, and still checks what it uses.
func TestSESEventsNeedsNoAuth0(t *testing.T) {
	env := map[string]string{
		"TABLE_NAME":      "doorman-test",
		"AWS_REGION":      "eu-west-1",
		"MAIL_FROM":       "Doorman <invites@example.com>",
		"PUBLIC_BASE_URL": "https://invite.example.com/",
	}
	secrets := &fakeSecrets{}
	c, err := load(t, env, secrets, SESEvents)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Function != SESEvents || c.Auth0.ClientSecret != "" || c.CursorKey != "" || secrets.reads != 0 {
		t.Errorf("got function %q, secret set %v, cursor key set %v, %d secret reads; want sesevents and none",
			c.Function, c.Auth0.ClientSecret != "", c.CursorKey != "", secrets.reads)
	}
	delete(env, "TABLE_NAME")
	if _, err := load(t, env, secrets, SESEvents); err == nil {
		t.Error("Load without TABLE_NAME succeeded")
	}
	// The other functions still need Auth0.
	if _, err := load(t, map[string]string{"TABLE_NAME": "t", "AWS_REGION": "eu-west-1", "MAIL_FROM": "a@example.com",
		"PUBLIC_BASE_URL": "https://invite.example.com/"}, secrets, Worker); err == nil {
		t.Error("the worker loaded without Auth0 settings")
	}
}
