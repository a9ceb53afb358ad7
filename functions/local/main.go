// Command local runs Doorman on localhost for development: the HTTP API and the
// invitee's pages on LISTEN_ADDR (127.0.0.1:8080), against DynamoDB Local, the local
// SES and, unless AUTH0_DOMAIN names a real tenant, the built-in Auth0 stand-in on the
// same port. It validates callers' JWTs itself (API Gateway's job in AWS) and hands
// the same claims to the same handlers.
//
//	go run ./functions/local serve          run until Ctrl-C; `make dev` runs it
//	go run ./functions/local token [flags]  mint an access token from a running serve
//	go run ./functions/local create-table   create the table (idempotent); `make stack-up` runs it
//	go run ./functions/local invoke FN EVENT run one function's bootstrap on an event file;
//	                                        `make invoke FN=… EVENT=…` runs it
//	go run ./functions/local load [flags]   Doorman under load, measured (`make load`)
//	go run ./functions/local dead-letters   list the log events refused for good
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/doormanhq/doorman/shared/app"
	"github.com/doormanhq/doorman/shared/invite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := app.NewLogger(os.Stderr, "")
	if err := run(ctx, os.Args[1:], log); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, log *slog.Logger) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: local serve | token [flags] | create-table | invoke <function> <event.json> | load [flags] | dead-letters")
	}
	switch args[0] {
	case "create-table":
		return createTable(ctx, os.Getenv, log)
	case "serve":
		return serve(ctx, os.Getenv, os.Stdout, log)
	case "token":
		return mintToken(ctx, os.Getenv, args[1:], os.Stdout)
	case "invoke":
		return invoke(ctx, os.Getenv, args[1:], os.Stdout, os.Stderr, log)
	case "load":
		// Doorman's own lines would drown the report: warnings and errors only.
		quiet := slog.New(invite.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		return load(ctx, os.Getenv, args[1:], os.Stdout, quiet)
	case "dead-letters":
		return deadLetters(ctx, os.Getenv, os.Stdout)
	default:
		return fmt.Errorf("unknown command %q (want serve, token, create-table, invoke, load or dead-letters)", args[0])
	}
}
