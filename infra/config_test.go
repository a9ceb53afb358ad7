package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := ConfigFromContext(baseContext())
	if err != nil {
		t.Fatalf("ConfigFromContext: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"stage", cfg.Stage, "prod"},
		{"throwaway", cfg.Throwaway, false},
		{"asset dir", cfg.AssetDir, "dist"},
		{"connection", cfg.Auth0Connection, "Username-Password-Authentication"},
		{"SES identity from mailFrom", cfg.SESIdentity, "mail.example.com"},
		{"sweep rate", cfg.SweepRate, 5 * time.Minute},
		{"throttle rate", cfg.ThrottleRate, 50.0},
		{"throttle burst", cfg.ThrottleBurst, 100},
		{"admin API budget", cfg.AdminThrottle, Throttle{Rate: 50, Burst: 100}},
		{"public routes' budget", cfg.PublicThrottle, Throttle{Rate: 10, Burst: 20}},
		{"webhook budget", cfg.WebhookThrottle, Throttle{Rate: 25, Burst: 50}},
		{"join routes' budget", cfg.JoinThrottle, Throttle{Rate: 5, Burst: 10}},
		{"log retention", cfg.LogRetention, awslogs.RetentionDays_ONE_MONTH},
		{"tracing", cfg.Tracing, false},
		{"5xx percent", cfg.API5xxPercent, 5.0},
		{"queue age", cfg.QueueAge, 15 * time.Minute},
		{"CORS origins", strings.Join(cfg.CORSOrigins, " "), "https://app.example.com https://admin.example.com"},
		{"redirect allow-list", strings.Join(cfg.RedirectAllowlist, " "), "https://app.example.com/welcome"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigValues(t *testing.T) {
	tests := []struct {
		name  string
		set   mapContext
		check func(Config) (got, want any)
	}{
		{"throwaway from the command line", mapContext{ctxThrowaway: "true"},
			func(c Config) (any, any) { return c.Throwaway, true }},
		{"throwaway from cdk.json", mapContext{ctxThrowaway: true},
			func(c Config) (any, any) { return c.Throwaway, true }},
		{"sweep rate in minutes", mapContext{ctxSweepRateMinutes: "15"},
			func(c Config) (any, any) { return c.SweepRate, 15 * time.Minute }},
		{"sweep rate as a JSON number", mapContext{ctxSweepRateMinutes: 2.0},
			func(c Config) (any, any) { return c.SweepRate, 2 * time.Minute }},
		{"throttling", mapContext{ctxThrottleRate: "10", ctxThrottleBurst: "20"},
			func(c Config) (any, any) {
				return [2]float64{c.ThrottleRate, float64(c.ThrottleBurst)}, [2]float64{10, 20}
			}},
		{"retention in days", mapContext{ctxLogRetentionDays: "365"},
			func(c Config) (any, any) { return c.LogRetention, awslogs.RetentionDays_ONE_YEAR }},
		{"domain given as a URL", mapContext{ctxAuth0Domain: "https://example.eu.auth0.com/"},
			func(c Config) (any, any) { return c.Auth0Domain, "example.eu.auth0.com" }},
		{"explicit SES identity", mapContext{ctxSESIdentity: "no-reply@mail.example.com"},
			func(c Config) (any, any) { return c.SESIdentity, "no-reply@mail.example.com" }},
		{"public base URL loses its slash", mapContext{ctxPublicBaseURL: "https://invite.example.com/"},
			func(c Config) (any, any) { return c.PublicBaseURL, "https://invite.example.com" }},
		{"origins as a JSON list", mapContext{ctxCORSOrigins: []any{"https://a.example.com", "https://b.example.com"}},
			func(c Config) (any, any) {
				return strings.Join(c.CORSOrigins, " "), "https://a.example.com https://b.example.com"
			}},
		{"grantable roles as a JSON list", mapContext{ctxGrantableRoles: []any{"member", "Billing admin"}},
			func(c Config) (any, any) { return c.GrantableRoles, "member,Billing admin" }},
		{"disclosed links verify, from cdk.json", mapContext{ctxVerifyDisclosed: true},
			func(c Config) (any, any) { return c.VerifyDisclosed, "true" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := baseContext()
			for k, v := range tt.set {
				ctx[k] = v
			}
			cfg, err := ConfigFromContext(ctx)
			if err != nil {
				t.Fatalf("ConfigFromContext: %v", err)
			}
			if got, want := tt.check(cfg); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		set   mapContext
		unset []string
		want  []string // each must appear in the error
	}{
		{"every required key named", nil,
			[]string{ctxAuth0Domain, ctxAuth0Audience, ctxAuth0ClientID, ctxAuth0ClientSecret, ctxAuth0LoginClientID, ctxMailFrom},
			[]string{"auth0Domain is required", "auth0Audience is required", "auth0ClientId is required",
				"auth0ClientSecret is required", "auth0LoginClientId is required", "mailFrom is required"}},
		{"empty value is missing", mapContext{ctxAuth0Audience: "  "}, nil, []string{"auth0Audience is required"}},
		{"bad boolean", mapContext{ctxThrowaway: "yes please"}, nil, []string{`throwaway "yes please" is not true or false`}},
		{"bad number", mapContext{ctxSweepRateMinutes: "five"}, nil, []string{`sweepRateMinutes "five" is not a number`}},
		{"sweep too often", mapContext{ctxSweepRateMinutes: "0"}, nil, []string{"sweepRateMinutes must be at least 1"}},
		{"retention CloudWatch refuses", mapContext{ctxLogRetentionDays: "10"}, nil, []string{"logRetentionDays 10 is not one CloudWatch Logs accepts"}},
		{"mailFrom not an address", mapContext{ctxMailFrom: "doorman"}, nil, []string{`mailFrom "doorman" is not an email address`}},
		{"domain with a path", mapContext{ctxAuth0Domain: "example.auth0.com/x"}, nil, []string{"must be a bare host name"}},
		{"origin with a path", mapContext{ctxCORSOrigins: "https://app.example.com/home"}, nil, []string{"corsOrigins entry"}},
		// The functions' own origin rule (httpapi.CheckOrigin), checked before the synth.
		{"plain http origin", mapContext{ctxCORSOrigins: "http://app.example.com"}, nil, []string{"corsOrigins entry", "https"}},
		{"plain http base URL", mapContext{ctxPublicBaseURL: "http://invite.example.com"}, nil, []string{"publicBaseUrl"}},
		{"two alarm targets", mapContext{ctxAlarmEmail: "ops@example.com", ctxAlarmTopicArn: "arn:aws:sns:eu-west-1:123456789012:ops"}, nil,
			[]string{"set alarmEmail or alarmTopicArn, not both"}},
		{"bad stage", mapContext{ctxStage: "prod_1"}, nil, []string{`stage "prod_1"`}},
		{"zero throttle", mapContext{ctxThrottleRate: "0"}, nil, []string{"throttleRate and throttleBurst must be positive"}},
		{"zero route budgets", mapContext{ctxAdminThrottleBurst: "0", ctxPublicThrottleRate: "-1", ctxWebhookThrottleRate: "0"}, nil,
			[]string{"adminThrottleRate and adminThrottleBurst must be positive", "publicThrottleRate and publicThrottleBurst must be positive",
				"webhookThrottleRate and webhookThrottleBurst must be positive"}},
		{"budget not a number", mapContext{ctxPublicThrottleBurst: "lots"}, nil, []string{`publicThrottleBurst "lots" is not a number`}},
		{"secret ARN without its suffix", mapContext{ctxAuth0ClientSecret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:doorman/auth0"}, nil,
			[]string{"auth0ClientSecret", "must be the secret's complete ARN"}},
		{"secret ARN of another service", mapContext{ctxAuth0ClientSecret: "arn:aws:ssm:eu-west-1:123456789012:parameter/doorman-AbCdEf"}, nil,
			[]string{"must be the secret's complete ARN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := baseContext()
			for k, v := range tt.set {
				ctx[k] = v
			}
			for _, k := range tt.unset {
				delete(ctx, k)
			}
			_, err := ConfigFromContext(ctx)
			if err == nil {
				t.Fatalf("got no error, want one naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRetentionDaysCoverCloudWatch(t *testing.T) {
	// The values CloudWatch Logs' PutRetentionPolicy accepts.
	want := []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	var got []int
	for d := range retentionDays {
		got = append(got, d)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
