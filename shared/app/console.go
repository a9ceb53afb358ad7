package app

import (
	"fmt"
	"net/http"

	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/console"
)

// consoleHandler is the hosted admin page of cfg, or nil when CONSOLE_AUDIENCE is
// unset.
func consoleHandler(cfg *config.Config) (http.Handler, error) {
	if cfg.Console.Audience == "" {
		return nil, nil
	}
	h, err := console.New(console.Config{Auth0Domain: cfg.Auth0.Domain, ClientID: cfg.Console.ClientID, Audience: cfg.Console.Audience})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return h, nil
}
