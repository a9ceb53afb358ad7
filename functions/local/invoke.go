package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/doormanhq/doorman/functions/internal/lambdaharness"
	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/config"
)

// functionNames are the functions invoke can run, each a main package in functions/.
var functionNames = []string{"api", "logstream", "sweeper", "worker", "sesevents", "publisher"}

// invoke builds one function's bootstrap as the release build does (for this
// machine's architecture), runs it under the Lambda Runtime API harness with the local
// settings, sends it the event in eventFile and prints its answer to out. Unless
// AUTH0_DOMAIN names a tenant, the Auth0 stand-in serves on a free loopback port for
// the length of the call. The function's own log goes to errOut.
func invoke(ctx context.Context, getenv func(string) string, args []string, out, errOut io.Writer, log *slog.Logger) error {
	if len(args) != 2 || !slices.Contains(functionNames, args[0]) {
		return fmt.Errorf("usage: local invoke <%s> <event.json>", strings.Join(functionNames, "|"))
	}
	fn, eventFile := args[0], args[1]
	event, err := os.ReadFile(eventFile)
	if err != nil {
		return fmt.Errorf("read the event: %w", err)
	}

	// The stand-in listens before the settings are made: they name its URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	l, cfg, _, err := prepare(ctx, getenv, "http://"+ln.Addr().String(), config.Function(fn))
	if err != nil {
		return err
	}
	// The fixtures name placeholders where a live value belongs (events/README.md).
	placeholders := []string{"Bearer WEBHOOK_TOKEN", "Bearer " + l.WebhookToken}
	if l.UseSim {
		sim := auth0sim.New(auth0sim.Options{ClientID: cfg.Auth0.ClientID, ClientSecret: cfg.Auth0.ClientSecret.Reveal(),
			Audience: l.Audience, Connection: cfg.Auth0.Connection, Logger: log, RateLimit: -1})
		sim.SetBaseURL("http://" + ln.Addr().String())
		s := seedSim(sim)
		placeholders = append(placeholders, "rol_EXAMPLEmember000", s.Member.ID, "org_EXAMPLEacme00000", s.Org.ID)
		srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
	}
	event = []byte(strings.NewReplacer(placeholders...).Replace(string(event)))

	dir, err := os.MkdirTemp("", "doorman-invoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := lambdaharness.Build(ctx, filepath.Join(repoRoot(), "functions", fn), ".", dir)
	if err != nil {
		return err
	}
	rt, err := lambdaharness.Start(lambdaharness.Options{Binary: bin, Env: functionEnv(l.getenv), FunctionName: "doorman-" + fn, Timeout: time.Minute})
	if err != nil {
		return err
	}
	defer rt.Stop()
	answer, err := rt.Invoke(ctx, event)
	fmt.Fprint(errOut, rt.Logs())
	var fe *lambdaharness.FunctionError
	if errors.As(err, &fe) {
		return fmt.Errorf("the %s function failed: %w", fn, err)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", answer)
	return err
}

// functionEnv is the environment a function process gets: the local settings, and
// the static credentials DynamoDB Local and the local SES accept.
func functionEnv(getenv func(string) string) []string {
	env := []string{"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"}
	for _, k := range settingNames {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// settingNames are the variables shared/config reads.
var settingNames = []string{
	"TABLE_NAME", "AWS_REGION", "DYNAMODB_ENDPOINT", "SES_ENDPOINT",
	"AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_CONNECTION", "AUTH0_CLIENT_ID_FOR_LOGIN",
	"MAIL_FROM", "SES_CONFIGURATION_SET", "PUBLIC_BASE_URL", "REDIRECT_ALLOWLIST", "CORS_ORIGINS",
	"WEBHOOK_TOKEN", "CURSOR_KEY", "INVITES_PER_HOUR", "APPLICATION_NAME", "APPLICATION_URL",
	"QUEUE_URL", "QUEUE_MAX_RECEIVES", "AUTH0_RATE_LIMIT",
	"GRANTABLE_ROLES", "APP_METADATA_KEYS", "ALLOWED_CONNECTIONS", "ALLOWED_CLIENT_IDS", "VERIFY_DISCLOSED_LINKS",
}

// repoRoot finds the module root from the working directory, so that invoke works
// from any folder of the checkout.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}
