# Doorman's developer commands. `make dev` runs Doorman locally; `make test` runs every
# test against the real local stack. Both install what they need.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export DDB_PORT ?= 8000
export SES_PORT ?= 8005
export TABLE_NAME ?= doorman-local
STACK := ./.ci/stack.sh
GO ?= go

.PHONY: help dev test test-unit stack-up stack-down stack-status bench deps build synth deploy sizes invoke load

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

deps: ## install the pinned Node tools and Go modules
	@[ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
	@$(GO) mod download

stack-up: ## start DynamoDB Local and the local SES (idempotent) and create the table
	@$(STACK) up

stack-down: ## stop exactly the stack processes that stack-up started
	@$(STACK) down

stack-status: ## say whether the stack runs
	@$(STACK) status

dev: ## run Doorman locally on its embedded defaults (Ctrl-C stops everything it started)
	@$(STACK) up
	@eval "$$($(STACK) env)"; trap '$(STACK) down' EXIT; $(GO) run ./functions/local serve

# The stack is stopped afterwards, whatever the tests said, unless it was already
# running before (a `make dev` in another terminal keeps its stack).
test: ## run every test against the local stack (stack tests may not skip)
	@was_up=$$($(STACK) status | grep -c running || true); \
	$(STACK) browser; \
	$(STACK) up; \
	status=0; \
	eval "$$($(STACK) env)"; \
	REQUIRE_LOCAL_STACK=1 $(GO) test -count=1 ./... || status=$$?; \
	[ "$$was_up" = 2 ] || $(STACK) down; \
	exit $$status

# Keeps the stack running afterwards, so that what the function did can be looked at.
invoke: ## run one function's bootstrap on an event: make invoke FN=worker EVENT=events/sqs/worker.json
	@[ -n "$(FN)" ] && [ -n "$(EVENT)" ] || { echo "usage: make invoke FN=api|logstream|sweeper|worker|sesevents|publisher EVENT=events/…"; exit 1; }
	@$(STACK) up
	@eval "$$($(STACK) env)"; $(GO) run ./functions/local invoke $(FN) $(EVENT)

# CREATORS concurrent admins create invitations for DURATION against the stand-in at
# RATE Management API requests per second (README, "Under load").
CREATORS ?= 20
DURATION ?= 60s
RATE ?= 2
THINK ?= 0s
load: ## measure creates under load: make load CREATORS=20 DURATION=60s RATE=2 THINK=0s
	@$(STACK) up
	@eval "$$($(STACK) env)"; $(GO) run ./functions/local load -creators $(CREATORS) -duration $(DURATION) -auth0-rate $(RATE) -think $(THINK)

test-unit: ## run the tests that need no stack (stack tests skip, saying why)
	@$(GO) test ./...

bench: ## run the store benchmarks against the local stack
	@$(STACK) up
	@eval "$$($(STACK) env)"; REQUIRE_LOCAL_STACK=1 $(GO) test -run '^$$' -bench . -benchmem -count=5 ./shared/dynamo/

# --- Deploying -------------------------------------------------------------------
FUNCTIONS := api logstream sweeper worker sesevents publisher
# Example settings, enough for an offline synth; a deploy takes the real ones in
# CDK_CONTEXT (README, "Deploying").
SYNTH_CONTEXT := -c auth0Domain=example.eu.auth0.com -c auth0Audience=https://doorman.example.com \
	-c auth0ClientId=example-m2m-client -c auth0ClientSecret=doorman/auth0-client-secret \
	-c auth0LoginClientId=example-login-client -c mailFrom=no-reply@example.com \
	-c corsOrigins=https://app.example.com -c redirectAllowlist=https://app.example.com/welcome
CDK := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx --no-install cdk

build: ## cross-compile every function for Lambda (linux/arm64) into dist/<name>/bootstrap
	@for f in $(FUNCTIONS); do \
	  [ -d functions/$$f ] || { echo "build: functions/$$f does not exist yet (README, Deploying)"; exit 1; }; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o dist/$$f/bootstrap ./functions/$$f; \
	done

synth: deps build ## synthesize the CloudFormation template offline into cdk.out (example settings)
	@$(CDK) synth --no-notices -q $(SYNTH_CONTEXT) $(CDK_CONTEXT)

deploy: deps build ## deploy with AWS credentials and CDK_CONTEXT holding the real settings
	@[ -n "$(CDK_CONTEXT)" ] || { echo "set CDK_CONTEXT='-c auth0Domain=… …' (README, Deploying)"; exit 1; }
	@$(CDK) deploy --no-notices $(CDK_CONTEXT)

# The floor (functions/internal/floor) links the same SDK clients and operations and
# answers hello: the goal is each function within 1.25 × its size (README, Performance).
sizes: build ## stripped linux/arm64 and zipped size of each function, and its ratio to the floor
	@CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o dist/floor/bootstrap ./functions/internal/floor
	@floor=$$(stat -c %s dist/floor/bootstrap); \
	for f in floor $(FUNCTIONS); do rm -f dist/$$f.zip; (cd dist/$$f && zip -q -9 -X ../$$f.zip bootstrap); \
	  size=$$(stat -c %s dist/$$f/bootstrap); \
	  printf '%-10s %10d bytes %5.2f × floor %10d bytes zipped\n' $$f $$size $$(awk "BEGIN { print $$size / $$floor }") $$(stat -c %s dist/$$f.zip); \
	done
