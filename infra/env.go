package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/doormanhq/doorman/shared/config"
)

// checkEnvironments runs the functions' own loader (shared/config.Load) on the
// environment the stack gives each of them, so that a setting a function would refuse
// at every cold start stops the synth instead of the deployed service. Values that
// CloudFormation resolves only at deploy time (the table's name, ARNs, the API's URL)
// stand in as well-formed placeholders, and every secret reads as a placeholder value.
func checkEnvironments(envs map[string]map[string]*string, region *string) error {
	names := make([]string, 0, len(envs))
	for name := range envs {
		names = append(names, name)
	}
	sort.Strings(names)
	r := "us-east-1"
	if region != nil && !*awscdk.Token_IsUnresolved(region) {
		r = *region
	}
	var problems []string
	for _, name := range names {
		vars := map[string]string{"AWS_REGION": r} // Lambda sets it
		for k, v := range envs[name] {
			switch {
			case v == nil:
			case *awscdk.Token_IsUnresolved(v):
				p, ok := deployTimeValues[k]
				if !ok {
					return fmt.Errorf("infra: %s function: %s is resolved at deploy time and has no placeholder to check it with", name, k)
				}
				vars[k] = p
			default:
				vars[k] = *v
			}
		}
		_, err := config.Load(context.Background(), func(k string) string { return vars[k] }, placeholderSecrets{}, config.Function(name))
		if err != nil {
			problems = append(problems, withContextKeys(err.Error()))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("infra: the functions would refuse to start with these settings:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

// deployTimeValues are well-formed stand-ins for the environment values that are
// CloudFormation references at synth time.
var deployTimeValues = map[string]string{
	"TABLE_NAME":              "Doorman-prod-TableCD117FA1-ABCDEFGHIJKL",
	"AUTH0_CLIENT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:doorman/auth0-client-secret",
	"WEBHOOK_TOKEN_ARN":       "arn:aws:secretsmanager:us-east-1:123456789012:secret:WebhookToken-AbCdEf",
	"SES_CONFIGURATION_SET":   "MailConfigurationSet-ABCDEFGHIJKL",
	"PUBLIC_BASE_URL":         "https://abcdef1234.execute-api.us-east-1.amazonaws.com",
	"QUEUE_URL":               "https://sqs.us-east-1.amazonaws.com/123456789012/Doorman-prod-WorkerQueue-ABCDEFGHIJKL",
	"DELIVERY_QUEUE_URL":      "https://sqs.us-east-1.amazonaws.com/123456789012/Doorman-prod-DeliveryQueue-ABCDEFGHIJKL.fifo",
}

// withContextKeys names, after each environment variable an operator sets through the
// context, the context key to change.
func withContextKeys(msg string) string {
	for env, key := range map[string]string{
		"AUTH0_DOMAIN": ctxAuth0Domain, "AUTH0_CLIENT_ID_FOR_LOGIN": ctxAuth0LoginClientID, "AUTH0_CLIENT_ID": ctxAuth0ClientID,
		"AUTH0_CONNECTION": ctxAuth0Connection, "MAIL_FROM": ctxMailFrom, "PUBLIC_BASE_URL": ctxPublicBaseURL,
		"REDIRECT_ALLOWLIST": ctxRedirectAllowlist, "CORS_ORIGINS": ctxCORSOrigins,
		"APPLICATION_NAME": ctxApplicationName, "APPLICATION_URL": ctxApplicationURL,
		"INVITES_PER_HOUR": ctxInvitesPerHour, "AUTH0_RATE_LIMIT": ctxAuth0RateLimit,
		"REMINDER_BEFORE": ctxReminderBefore, "EXPIRED_USER_POLICY": ctxExpiredUserPolicy,
		"GRANTABLE_ROLES": ctxGrantableRoles, "APP_METADATA_KEYS": ctxAppMetadataKeys,
		"ALLOWED_CONNECTIONS": ctxAllowedConnections, "ALLOWED_CLIENT_IDS": ctxAllowedClientIDs,
		"VERIFY_DISCLOSED_LINKS": ctxVerifyDisclosed, "CREATE_BUDGET": ctxCreateBudget,
		"JOIN_POLICY": ctxJoinPolicy, "JOIN_ROLES": ctxJoinRoles,
		"JOIN_PER_SOURCE_MINUTE": ctxJoinPerSourceMinute, "JOIN_MAILS_PER_DAY": ctxJoinMailsPerDay,
		"CONSOLE_CLIENT_ID": ctxConsoleClientID,
		"EVENT_BUS_NAME":    ctxEventBusName,
	} {
		msg = strings.ReplaceAll(msg, " "+env+":", " "+env+" (context "+key+"):")
	}
	return msg
}

// placeholderSecrets answers every secret with a placeholder value long enough for
// any check: the real values are read by the functions, never by the stack.
type placeholderSecrets struct{}

var _ config.SecretsClient = placeholderSecrets{}

func (placeholderSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if in == nil || in.SecretId == nil {
		return nil, errors.New("no secret id")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: jsii.String(strings.Repeat("p", 48))}, nil
}
