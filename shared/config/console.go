package config

import (
	"errors"
	"strings"
)

// Console is the sign-in of the hosted admin page, /console.
type Console struct {
	// Audience is the API identifier the console asks access tokens for
	// (CONSOLE_AUDIENCE); empty turns the console off.
	Audience string
	// ClientID is the Auth0 Single Page Application it signs in with
	// (CONSOLE_CLIENT_ID, default AUTH0_CLIENT_ID_FOR_LOGIN).
	ClientID string
}

func (r *reader) console(loginClientID string) Console {
	c := Console{Audience: r.optional("CONSOLE_AUDIENCE", checkAudience), ClientID: r.optional("CONSOLE_CLIENT_ID", checkIdentifier)}
	if c.ClientID == "" {
		c.ClientID = loginClientID
	}
	return c
}

// checkAudience accepts an API identifier as Auth0 takes it: a URI or any string of
// printable characters without spaces, at most 300.
func checkAudience(v string) error {
	if len(v) > 300 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == '"' || r == '<' || r == '>' || r == 0x7f }) {
		return errors.New("must be at most 300 printable characters without spaces, quotes or angle brackets")
	}
	return nil
}
