package config

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

const (
	testAuth0Secret  = "auth0-client-secret-0123456789-abcdefghijklmnop"
	testWebhookToken = "webhook-token-0123456789-abcdefghijklmnopqrstuv"
	auth0SecretARN   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:doorman/auth0-AbCdEf"
	webhookARN       = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:doorman/webhook-AbCdEf"
	cursorARN        = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:doorman/cursor-AbCdEf"
)

var testCursorKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func baseEnv() map[string]string {
	return map[string]string{
		"TABLE_NAME":                "doorman-test",
		"AWS_REGION":                "eu-west-1",
		"AUTH0_DOMAIN":              "acme.eu.auth0.com",
		"AUTH0_CLIENT_ID":           "m2m-client",
		"AUTH0_CLIENT_SECRET":       testAuth0Secret,
		"AUTH0_CONNECTION":          "Username-Password-Authentication",
		"AUTH0_CLIENT_ID_FOR_LOGIN": "login-client",
		"MAIL_FROM":                 "Doorman <invites@example.com>",
		"PUBLIC_BASE_URL":           "https://invite.example.com/",
	}
}

// fakeSecrets is Secrets Manager in memory, counting reads.
type fakeSecrets struct {
	values map[string]string
	err    error
	reads  int
}

func (f *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.values[*in.SecretId]
	if !ok {
		return nil, fmt.Errorf("ResourceNotFoundException: Secrets Manager can't find the specified secret")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: &v}, nil
}

func load(t *testing.T, env map[string]string, secrets SecretsClient, fn Function) (*Config, error) {
	t.Helper()
	return Load(context.Background(), func(k string) string { return env[k] }, secrets, fn)
}

func TestLoadValid(t *testing.T) {
	c, err := load(t, baseEnv(), nil, API)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := c.PublicBaseURL, "https://invite.example.com"; got != want {
		t.Errorf("PublicBaseURL: got %q, want %q", got, want)
	}
	if got, want := c.InvitesPerHour, DefaultInvitesPerHour; got != want {
		t.Errorf("InvitesPerHour: got %d, want %d", got, want)
	}
	if got := c.Auth0.ClientSecret.Reveal(); got != testAuth0Secret {
		t.Errorf("Auth0.ClientSecret: got %q, want the AUTH0_CLIENT_SECRET value", got)
	}
	want, err := hkdf.Key(sha256.New, []byte(testAuth0Secret), nil, cursorKeyInfo, 32)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CursorKey.Reveal(); got != string(want) {
		t.Errorf("CursorKey: got %x, want the HKDF of the Auth0 client secret %x", got, want)
	}
	if c.WebhookToken != "" {
		t.Errorf("WebhookToken: got a value for the api function, want none")
	}
	// Without grant settings invitations carry no roles and no app_metadata, and
	// name only the configured connection and login client.
	ceiling := invite.Ceiling{Connections: []string{"Username-Password-Authentication"}, ClientIDs: []string{"login-client"}}
	if got := c.Ceiling(); !reflect.DeepEqual(got, ceiling) {
		t.Errorf("Ceiling: got %+v, want %+v", got, ceiling)
	}
	eq(t, "VerifyDisclosedLinks", c.VerifyDisclosedLinks, false)
}

func TestLoadSettings(t *testing.T) {
	tests := []struct {
		name  string
		set   map[string]string // "" deletes the variable
		fn    Function
		check func(t *testing.T, c *Config)
	}{
		{"auth0 https URL becomes host", map[string]string{"AUTH0_DOMAIN": "https://Acme.EU.auth0.com/"}, API,
			func(t *testing.T, c *Config) { eq(t, "Auth0.Domain", c.Auth0.Domain, "acme.eu.auth0.com") }},
		{"auth0 loopback stand-in keeps http", map[string]string{"AUTH0_DOMAIN": "http://127.0.0.1:4321"}, API,
			func(t *testing.T, c *Config) { eq(t, "Auth0.Domain", c.Auth0.Domain, "http://127.0.0.1:4321") }},
		{"invites cap off", map[string]string{"INVITES_PER_HOUR": "0"}, API,
			func(t *testing.T, c *Config) { eq(t, "InvitesPerHour", c.InvitesPerHour, -1) }},
		{"invites cap set", map[string]string{"INVITES_PER_HOUR": " 25 "}, API,
			func(t *testing.T, c *Config) { eq(t, "InvitesPerHour", c.InvitesPerHour, 25) }},
		{"sweeper settings", map[string]string{"REMINDER_BEFORE": "24h", "EXPIRED_USER_POLICY": "block"}, Sweeper,
			func(t *testing.T, c *Config) {
				eq(t, "ReminderBefore", c.ReminderBefore, 24*time.Hour)
				eq(t, "ExpiredUserPolicy", c.ExpiredUserPolicy, "block")
			}},
		{"create budget", map[string]string{"CREATE_BUDGET": "750ms"}, API,
			func(t *testing.T, c *Config) { eq(t, "CreateBudget", c.CreateBudget, 750*time.Millisecond) }},
		{"create budget default", nil, API,
			func(t *testing.T, c *Config) { eq(t, "CreateBudget", c.CreateBudget, time.Duration(0)) }},
		{"reminders off", map[string]string{"REMINDER_BEFORE": "OFF"}, Sweeper,
			func(t *testing.T, c *Config) { eq(t, "ReminderBefore", c.ReminderBefore, -1) }},
		{"bulk defaults", nil, Worker,
			func(t *testing.T, c *Config) {
				eq(t, "QueueURL", c.QueueURL, "")
				eq(t, "QueueMaxReceives", c.QueueMaxReceives, DefaultQueueMaxReceives)
				eq(t, "Auth0RateLimit", c.Auth0RateLimit, float64(DefaultAuth0RateLimit))
			}},
		{"bulk settings", map[string]string{"QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/doorman-worker",
			"QUEUE_MAX_RECEIVES": "8", "AUTH0_RATE_LIMIT": "15.5"}, API,
			func(t *testing.T, c *Config) {
				eq(t, "QueueURL", c.QueueURL, "https://sqs.eu-west-1.amazonaws.com/123456789012/doorman-worker")
				eq(t, "QueueMaxReceives", c.QueueMaxReceives, 8)
				eq(t, "Auth0RateLimit", c.Auth0RateLimit, 15.5)
			}},
		{"cors origins split and trimmed", map[string]string{"CORS_ORIGINS": "https://admin.example.com, http://localhost:5173,"}, API,
			func(t *testing.T, c *Config) {
				eq(t, "CORSOrigins", strings.Join(c.CORSOrigins, "|"), "https://admin.example.com|http://localhost:5173")
			}},
		{"explicit cursor key", map[string]string{"CURSOR_KEY": testCursorKey}, API,
			func(t *testing.T, c *Config) {
				eq(t, "CursorKey", c.CursorKey.Reveal(), "0123456789abcdef0123456789abcdef")
			}},
		{"short auth0 secret with explicit cursor key", map[string]string{"AUTH0_CLIENT_SECRET": "short", "CURSOR_KEY": testCursorKey}, API,
			func(t *testing.T, c *Config) { eq(t, "Auth0.ClientSecret", c.Auth0.ClientSecret.Reveal(), "short") }},
		{"logstream webhook token", map[string]string{"WEBHOOK_TOKEN": testWebhookToken}, Logstream,
			func(t *testing.T, c *Config) { eq(t, "WebhookToken", c.WebhookToken.Reveal(), testWebhookToken) }},
		{"local endpoints", map[string]string{"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000", "SES_ENDPOINT": "http://127.0.0.1:8005/"}, API,
			func(t *testing.T, c *Config) { eq(t, "DynamoEndpoint", c.DynamoEndpoint, "http://127.0.0.1:8000") }},
		{"application settings", map[string]string{"APPLICATION_NAME": "Acme Portal", "APPLICATION_URL": "https://app.example.com/home", "SES_CONFIGURATION_SET": "doorman-mail"}, API,
			func(t *testing.T, c *Config) { eq(t, "ApplicationName", c.ApplicationName, "Acme Portal") }},
		{"grant ceiling", map[string]string{"GRANTABLE_ROLES": "member, rol_Ab12Cd34Ef56Gh78,Billing admin", "APP_METADATA_KEYS": "plan,tenant_id",
			"ALLOWED_CONNECTIONS": "google-oauth2", "ALLOWED_CLIENT_IDS": "spa-client, mobile-client"}, Worker,
			func(t *testing.T, c *Config) {
				want := invite.Ceiling{
					Roles:           []string{"member", "rol_Ab12Cd34Ef56Gh78", "Billing admin"},
					AppMetadataKeys: []string{"plan", "tenant_id"},
					Connections:     []string{"Username-Password-Authentication", "google-oauth2"},
					ClientIDs:       []string{"login-client", "spa-client", "mobile-client"},
				}
				if got := c.Ceiling(); !reflect.DeepEqual(got, want) {
					t.Errorf("Ceiling: got %+v, want %+v", got, want)
				}
			}},
		{"disclosed links verify", map[string]string{"VERIFY_DISCLOSED_LINKS": "TRUE"}, API,
			func(t *testing.T, c *Config) { eq(t, "VerifyDisclosedLinks", c.VerifyDisclosedLinks, true) }},
		{"disclosed links do not verify", map[string]string{"VERIFY_DISCLOSED_LINKS": "false"}, API,
			func(t *testing.T, c *Config) { eq(t, "VerifyDisclosedLinks", c.VerifyDisclosedLinks, false) }},
		{"public base URL with stage path", map[string]string{"PUBLIC_BASE_URL": "https://abc.execute-api.eu-west-1.amazonaws.com/prod/"}, API,
			func(t *testing.T, c *Config) {
				eq(t, "PublicBaseURL", c.PublicBaseURL, "https://abc.execute-api.eu-west-1.amazonaws.com/prod")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			for k, v := range tt.set {
				env[k] = v
			}
			c, err := load(t, env, nil, tt.fn)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// TestLoadRejects checks every rule: each bad setting stops the load with a message
// that names the variable and never contains a secret.
func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name   string
		set    map[string]string // "" deletes the variable
		fn     Function
		naming string // the variable the message must name
	}{
		{"missing table", map[string]string{"TABLE_NAME": ""}, API, "TABLE_NAME"},
		{"bad table", map[string]string{"TABLE_NAME": "a b"}, API, "TABLE_NAME"},
		{"missing region", map[string]string{"AWS_REGION": ""}, API, "AWS_REGION"},
		{"bad region", map[string]string{"AWS_REGION": "Europe"}, API, "AWS_REGION"},
		{"bad dynamo endpoint", map[string]string{"DYNAMODB_ENDPOINT": "localhost:8000"}, API, "DYNAMODB_ENDPOINT"},
		{"ses endpoint with path", map[string]string{"SES_ENDPOINT": "http://127.0.0.1:8005/v2"}, API, "SES_ENDPOINT"},
		{"missing auth0 domain", map[string]string{"AUTH0_DOMAIN": ""}, API, "AUTH0_DOMAIN"},
		{"auth0 domain with path", map[string]string{"AUTH0_DOMAIN": "https://acme.auth0.com/api/v2"}, API, "AUTH0_DOMAIN"},
		{"auth0 domain http not loopback", map[string]string{"AUTH0_DOMAIN": "http://acme.auth0.com"}, API, "AUTH0_DOMAIN"},
		{"auth0 domain not a host", map[string]string{"AUTH0_DOMAIN": "acme"}, API, "AUTH0_DOMAIN"},
		{"missing client id", map[string]string{"AUTH0_CLIENT_ID": ""}, API, "AUTH0_CLIENT_ID"},
		{"client id with space", map[string]string{"AUTH0_CLIENT_ID": "a b"}, API, "AUTH0_CLIENT_ID"},
		{"missing client secret", map[string]string{"AUTH0_CLIENT_SECRET": ""}, API, "AUTH0_CLIENT_SECRET"},
		{"both client secret forms", map[string]string{"AUTH0_CLIENT_SECRET_ARN": auth0SecretARN}, API, "AUTH0_CLIENT_SECRET"},
		{"bad client secret ARN", map[string]string{"AUTH0_CLIENT_SECRET": "", "AUTH0_CLIENT_SECRET_ARN": "doorman/auth0"}, API, "AUTH0_CLIENT_SECRET_ARN"},
		{"client secret ARN without client", map[string]string{"AUTH0_CLIENT_SECRET": "", "AUTH0_CLIENT_SECRET_ARN": auth0SecretARN}, API, "AUTH0_CLIENT_SECRET_ARN"},
		{"missing connection", map[string]string{"AUTH0_CONNECTION": ""}, API, "AUTH0_CONNECTION"},
		{"missing login client", map[string]string{"AUTH0_CLIENT_ID_FOR_LOGIN": ""}, API, "AUTH0_CLIENT_ID_FOR_LOGIN"},
		{"missing mail from", map[string]string{"MAIL_FROM": ""}, API, "MAIL_FROM"},
		{"bad mail from", map[string]string{"MAIL_FROM": "Doorman"}, API, "MAIL_FROM"},
		{"bad configuration set", map[string]string{"SES_CONFIGURATION_SET": "mail set"}, API, "SES_CONFIGURATION_SET"},
		{"missing public base", map[string]string{"PUBLIC_BASE_URL": ""}, API, "PUBLIC_BASE_URL"},
		{"public base http", map[string]string{"PUBLIC_BASE_URL": "http://invite.example.com"}, API, "PUBLIC_BASE_URL"},
		{"public base relative", map[string]string{"PUBLIC_BASE_URL": "/i"}, API, "PUBLIC_BASE_URL"},
		{"public base with query", map[string]string{"PUBLIC_BASE_URL": "https://invite.example.com/?a=1"}, API, "PUBLIC_BASE_URL"},
		{"allowlist wildcard", map[string]string{"REDIRECT_ALLOWLIST": "https://*.example.com"}, API, "REDIRECT_ALLOWLIST"},
		{"allowlist http", map[string]string{"REDIRECT_ALLOWLIST": "https://ok.example.com,http://app.example.com"}, API, "REDIRECT_ALLOWLIST"},
		{"allowlist with query", map[string]string{"REDIRECT_ALLOWLIST": "https://app.example.com/cb?x=1"}, API, "REDIRECT_ALLOWLIST"},
		{"cors star", map[string]string{"CORS_ORIGINS": "*"}, API, "CORS_ORIGINS"},
		{"cors trailing slash", map[string]string{"CORS_ORIGINS": "https://admin.example.com/"}, API, "CORS_ORIGINS"},
		{"cors http", map[string]string{"CORS_ORIGINS": "http://admin.example.com"}, API, "CORS_ORIGINS"},
		{"cors bad host", map[string]string{"CORS_ORIGINS": "https://a;b"}, API, "CORS_ORIGINS"},
		{"logstream missing webhook token", nil, Logstream, "WEBHOOK_TOKEN"},
		{"logstream short webhook token", map[string]string{"WEBHOOK_TOKEN": "short"}, Logstream, "WEBHOOK_TOKEN"},
		// The webhook's own minimum, not one of config's.
		{"webhook token one short", map[string]string{"WEBHOOK_TOKEN": strings.Repeat("t", httpapi.MinWebhookToken-1)}, Logstream, "WEBHOOK_TOKEN"},
		{"webhook token with a space", map[string]string{"WEBHOOK_TOKEN": testWebhookToken + " x"}, Logstream, "WEBHOOK_TOKEN"},
		{"both webhook token forms", map[string]string{"WEBHOOK_TOKEN": testWebhookToken, "WEBHOOK_TOKEN_ARN": webhookARN}, Logstream, "WEBHOOK_TOKEN"},
		{"cursor key not base64", map[string]string{"CURSOR_KEY": "not base64!"}, API, "CURSOR_KEY"},
		{"cursor key short", map[string]string{"CURSOR_KEY": base64.StdEncoding.EncodeToString([]byte("short"))}, API, "CURSOR_KEY"},
		{"cursor key not derivable", map[string]string{"AUTH0_CLIENT_SECRET": "short-secret"}, API, "CURSOR_KEY"},
		{"invites not a number", map[string]string{"INVITES_PER_HOUR": "many"}, API, "INVITES_PER_HOUR"},
		{"invites negative", map[string]string{"INVITES_PER_HOUR": "-1"}, API, "INVITES_PER_HOUR"},
		{"invites too many", map[string]string{"INVITES_PER_HOUR": "100001"}, API, "INVITES_PER_HOUR"},
		{"queue URL without queue", map[string]string{"QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/"}, API, "QUEUE_URL"},
		{"queue URL plain http", map[string]string{"QUEUE_URL": "http://sqs.eu-west-1.amazonaws.com/1/q"}, API, "QUEUE_URL"},
		{"max receives zero", map[string]string{"QUEUE_MAX_RECEIVES": "0"}, Worker, "QUEUE_MAX_RECEIVES"},
		{"rate not a number", map[string]string{"AUTH0_RATE_LIMIT": "fast"}, Worker, "AUTH0_RATE_LIMIT"},
		{"rate too low", map[string]string{"AUTH0_RATE_LIMIT": "0"}, Worker, "AUTH0_RATE_LIMIT"},
		{"rate NaN", map[string]string{"AUTH0_RATE_LIMIT": "NaN"}, Worker, "AUTH0_RATE_LIMIT"},
		{"reminder not a duration", map[string]string{"REMINDER_BEFORE": "two days"}, Sweeper, "REMINDER_BEFORE"},
		{"reminder too short", map[string]string{"REMINDER_BEFORE": "10m"}, Sweeper, "REMINDER_BEFORE"},
		{"create budget past API Gateway's limit", map[string]string{"CREATE_BUDGET": "40s"}, API, "CREATE_BUDGET"},
		{"unknown user policy", map[string]string{"EXPIRED_USER_POLICY": "archive"}, Sweeper, "EXPIRED_USER_POLICY"},
		{"application name control char", map[string]string{"APPLICATION_NAME": "Acme\nBcc: x"}, API, "APPLICATION_NAME"},
		{"application url http", map[string]string{"APPLICATION_URL": "http://app.example.com"}, API, "APPLICATION_URL"},
		{"role name too long", map[string]string{"GRANTABLE_ROLES": "member," + strings.Repeat("r", 129)}, API, "GRANTABLE_ROLES"},
		{"role name with a control character", map[string]string{"GRANTABLE_ROLES": "mem\tber"}, API, "GRANTABLE_ROLES"},
		{"role listed twice", map[string]string{"GRANTABLE_ROLES": "member,member"}, API, "GRANTABLE_ROLES"},
		{"metadata key with a dot", map[string]string{"APP_METADATA_KEYS": "plan.tier"}, API, "APP_METADATA_KEYS"},
		{"metadata key with a dollar", map[string]string{"APP_METADATA_KEYS": "$set"}, Logstream, "APP_METADATA_KEYS"},
		{"connection with a space", map[string]string{"ALLOWED_CONNECTIONS": "google oauth2"}, API, "ALLOWED_CONNECTIONS"},
		{"client id with a space", map[string]string{"ALLOWED_CLIENT_IDS": "spa client"}, Worker, "ALLOWED_CLIENT_IDS"},
		{"disclosed links not a bool", map[string]string{"VERIFY_DISCLOSED_LINKS": "yes"}, API, "VERIFY_DISCLOSED_LINKS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			for k, v := range tt.set {
				if v == "" {
					delete(env, k)
				} else {
					env[k] = v
				}
			}
			c, err := load(t, env, nil, tt.fn)
			if err == nil {
				t.Fatalf("Load: got %+v, want an error naming %s", c, tt.naming)
			}
			if !strings.Contains(err.Error(), tt.naming+":") {
				t.Errorf("Load: got %q, want a message naming %s", err, tt.naming)
			}
			for _, secret := range []string{testAuth0Secret, testWebhookToken, "short-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Load: the message %q contains a secret", err)
				}
			}
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	env := baseEnv()
	delete(env, "TABLE_NAME")
	env["MAIL_FROM"] = "nobody"
	_, err := load(t, env, nil, API)
	if err == nil {
		t.Fatal("Load: got no error, want one naming TABLE_NAME and MAIL_FROM")
	}
	for _, name := range []string{"TABLE_NAME:", "MAIL_FROM:"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Load: got %q, want it to name %s", err, name)
		}
	}
}

func TestLoadUnknownFunction(t *testing.T) {
	if _, err := load(t, baseEnv(), nil, Function("web")); err == nil {
		t.Error(`Load(function "web"): got no error, want one`)
	}
}

func TestLoadSecretsFromARN(t *testing.T) {
	sm := &fakeSecrets{values: map[string]string{
		auth0SecretARN: testAuth0Secret + "\n",
		webhookARN:     testWebhookToken,
		cursorARN:      testCursorKey,
	}}
	env := baseEnv()
	delete(env, "AUTH0_CLIENT_SECRET")
	env["AUTH0_CLIENT_SECRET_ARN"] = auth0SecretARN
	env["WEBHOOK_TOKEN_ARN"] = webhookARN
	env["CURSOR_KEY_ARN"] = cursorARN
	c, err := load(t, env, sm, Logstream)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	eq(t, "Auth0.ClientSecret", c.Auth0.ClientSecret.Reveal(), testAuth0Secret)
	eq(t, "WebhookToken", c.WebhookToken.Reveal(), testWebhookToken)
	eq(t, "CursorKey", c.CursorKey.Reveal(), "0123456789abcdef0123456789abcdef")
	eq(t, "secret reads", sm.reads, 3)
}

func TestLoadSecretFailures(t *testing.T) {
	tests := []struct {
		name    string
		secrets *fakeSecrets
		naming  string
	}{
		{"access denied", &fakeSecrets{err: errors.New("AccessDeniedException: not authorized")}, "AUTH0_CLIENT_SECRET_ARN"},
		{"not found", &fakeSecrets{values: map[string]string{}}, "AUTH0_CLIENT_SECRET_ARN"},
		{"empty", &fakeSecrets{values: map[string]string{auth0SecretARN: "  "}}, "AUTH0_CLIENT_SECRET_ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			delete(env, "AUTH0_CLIENT_SECRET")
			env["AUTH0_CLIENT_SECRET_ARN"] = auth0SecretARN
			_, err := load(t, env, tt.secrets, API)
			if err == nil || !strings.Contains(err.Error(), tt.naming+":") {
				t.Fatalf("Load: got %v, want an error naming %s", err, tt.naming)
			}
		})
	}
}

func TestSecretsNeverFormatted(t *testing.T) {
	env := baseEnv()
	env["CURSOR_KEY"] = testCursorKey
	c, err := load(t, env, nil, API)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "config", c, "secret", c.Auth0.ClientSecret)
	outputs := map[string]string{
		"%v":  fmt.Sprintf("%v", c),
		"%+v": fmt.Sprintf("%+v", *c),
		"%#v": fmt.Sprintf("%#v", *c),
		"%s":  fmt.Sprintf("%s", c.Auth0.ClientSecret),
		"log": logs.String(),
	}
	for format, out := range outputs {
		for _, secret := range []string{testAuth0Secret, "0123456789abcdef0123456789abcdef"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s: got %q, which contains a secret", format, out)
			}
		}
	}
	if !strings.Contains(logs.String(), `"table":"doorman-test"`) {
		t.Errorf("log: got %s, want the table among the settings", logs.String())
	}
}

func TestNameChecks(t *testing.T) {
	tests := []struct {
		check func(string) bool
		in    string
		want  bool
	}{
		{isRegion, "eu-west-1", true},
		{isRegion, "us-gov-west-1", true},
		{isRegion, "eu-west", false},
		{isRegion, "EU-west-1", false},
		{isRegion, "eu--1", false},
		{isHostName, "acme.eu.auth0.com", true},
		{isHostName, "login.example-idp.com", true},
		{isHostName, "acme", false},
		{isHostName, "-acme.auth0.com", false},
		{isHostName, "acme..com", false},
		{isHostName, "ac_me.auth0.com", false},
	}
	for _, tt := range tests {
		if got := tt.check(tt.in); got != tt.want {
			t.Errorf("check(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestFormActionSources: the invitee's page may be redirected, after its Continue
// form, to every plain-http origin Continue can answer with; https needs no entry.
func TestFormActionSources(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"a tenant and https targets", map[string]string{"APPLICATION_URL": "https://app.example.com/home",
			"REDIRECT_ALLOWLIST": "https://app.example.com/welcome"}, nil},
		{"a local run", map[string]string{"AUTH0_DOMAIN": "http://127.0.0.1:8080", "APPLICATION_URL": "http://localhost:3000/home",
			"REDIRECT_ALLOWLIST": "http://127.0.0.1:8080/, http://localhost:3000/welcome, http://[::1]:5173"},
			[]string{"http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:5173"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv()
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := load(t, env, nil, API)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := c.FormActionSources(); !slices.Equal(got, tt.want) {
				t.Errorf("FormActionSources: got %v, want %v", got, tt.want)
			}
			for _, o := range c.FormActionSources() {
				if err := httpapi.CheckOrigin(o); err != nil {
					t.Errorf("FormActionSources: %q %v", o, err)
				}
			}
		})
	}
}
