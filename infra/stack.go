package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/doormanhq/doorman/shared/dynamo"
)

// DoormanStackProps configures the stack.
type DoormanStackProps struct {
	awscdk.StackProps
	Config Config
}

// Route paths, shared with the outputs that tell the operator what to enter in Auth0.
const (
	apiPath     = "/v1/{proxy+}"
	openAPIPath = "/v1/openapi.json"
	webhookPath = "/webhooks/auth0/logs"
	landingPath = "/i/{token}"
	// The hosted admin console and its assets (public).
	consolePath      = "/console"
	consoleAssetPath = "/console/assets/{name}"
)

// function is one Lambda handler and what its work needs. Timeouts: the API answers
// behind API Gateway's 30 s integration limit; the log stream applies a batch of up to
// 100 events; the sweeper stops itself before its budget and leaves the rest for the
// next run; the worker sends a slice of a batch at the Auth0 rate limit.
type function struct {
	name        string
	description string
	memoryMB    float64
	timeout     time.Duration
	// scheduled functions are invoked asynchronously, and a failed run is not retried:
	// the next run finds the same work.
	scheduled bool
}

var (
	apiFunction       = function{"api", "Doorman HTTP API, landing pages", 512, 15 * time.Second, false}
	logstreamFunction = function{"logstream", "Doorman Auth0 log-stream webhook", 256, 30 * time.Second, false}
	sweeperFunction   = function{"sweeper", "Doorman expiry sweeper and reminders", 256, 2 * time.Minute, true}
	workerFunction    = function{"worker", "Doorman bulk invitations and retries", 256, time.Minute, false}
	publisherFunction = function{"publisher", "Doorman events: stream to feed and webhooks, deliveries", 256, 30 * time.Second, false}
	functions         = []function{apiFunction, logstreamFunction, sweeperFunction, workerFunction, sesEventsFunction, publisherFunction}
)

const (
	// queueVisibilityFactor follows the Lambda guidance for SQS event sources: the
	// visibility timeout is at least six times the function timeout, so that a batch
	// retried after throttling is not redelivered while still in flight.
	queueVisibilityFactor = 6
	// workerConcurrency caps the worker so that bulk sends stay under Auth0's
	// Management API rate limit (2 is the smallest value Lambda accepts).
	workerConcurrency = 2
)

// CheckAssets reports every function whose bootstrap binary is missing from dir.
func CheckAssets(dir string) error {
	var missing []string
	for _, f := range functions {
		p := filepath.Join(dir, f.name, "bootstrap")
		info, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, p)
		case err != nil:
			return fmt.Errorf("infra: asset %s: %w", p, err)
		case info.IsDir():
			return fmt.Errorf("infra: asset %s is a directory, want the function binary", p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("infra: missing %s: run make build first", strings.Join(missing, ", "))
	}
	return nil
}

// NewDoormanStack builds Doorman's stack: the table, the four functions with their
// roles, the HTTP API, the sweeper's schedule, the worker's queue, the webhook secret,
// the SES configuration set, the alarms and the outputs an operator needs.
func NewDoormanStack(scope constructs.Construct, id string, props *DoormanStackProps) (awscdk.Stack, error) {
	if props == nil {
		return nil, errors.New("infra: no stack props")
	}
	cfg := props.Config
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("infra: %w", err)
	}
	if err := CheckAssets(cfg.AssetDir); err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	awscdk.Tags_Of(stack).Add(jsii.String("app"), jsii.String("doorman"), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("stage"), jsii.String(cfg.Stage), nil)

	removal := awscdk.RemovalPolicy_RETAIN
	if cfg.Throwaway {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	b := &builder{stack: stack, cfg: cfg, removal: removal, envs: map[string]map[string]*string{}}
	// Each step adds its resources after the previous step's, in the order the
	// template lists them, and keeps on b what later steps use.
	if err := b.table(); err != nil {
		return nil, err
	}
	b.secrets()
	b.mail()
	b.queues()
	b.eventQueues()
	b.httpAPI()
	if err := b.functions(); err != nil {
		return nil, err
	}
	b.permissions()
	b.sesEvents()
	b.schedule()
	b.routes()
	b.stage()
	b.alarms()
	b.outputs()
	return stack, nil
}

// builder builds the stack one step at a time. stack, cfg and removal are given; the
// other fields are what the steps make, kept for the steps after them.
type builder struct {
	stack   awscdk.Stack
	cfg     Config
	removal awscdk.RemovalPolicy
	env     map[string]*string            // every function's
	envs    map[string]map[string]*string // each function's whole environment, by name

	schema                                  dynamo.TableSchema
	dynamoTable                             awsdynamodb.Table
	webhookToken                            awssecretsmanager.Secret
	auth0Secret                             awssecretsmanager.ISecret
	configSet                               awsses.ConfigurationSet
	queue, dlq                              awssqs.Queue
	deliveries, deliveriesDLQ               awssqs.Queue
	publisherFn                             awslambda.Function
	api                                     awsapigatewayv2.HttpApi
	publicBase                              string
	apiFn, logstreamFn, sweeperFn, workerFn awslambda.Function
	budgets                                 []routeBudget               // each route's, for stage to set
	logGroups                               map[string]awslogs.LogGroup // each function's, by name
	apiStage                                awsapigatewayv2.HttpStage
	// The path of SES's sending events to the sesevents function (sesevents.go).
	sesEventsFn    awslambda.Function
	sesEventsTopic awssns.Topic
	sesEventsDLQ   awssqs.Queue
}

// routeBudget is a route and the throttle budget it gets for itself.
type routeBudget struct {
	route  awsapigatewayv2.HttpRoute
	budget Throttle
}

// table is the invitations table, from the store's own schema.
func (b *builder) table() error {
	b.schema = dynamo.Schema()
	var err error
	b.dynamoTable, err = tableFromSchema(b.stack, "Table", b.schema, b.cfg.Throwaway)
	return err
}

// secrets are the webhook token, generated here, and the Auth0 client secret the
// operator stored, by ARN or name.
func (b *builder) secrets() {
	b.webhookToken = awssecretsmanager.NewSecret(b.stack, jsii.String("WebhookToken"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Doorman: the token Auth0's log stream sends as 'Authorization: Bearer <token>'"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(48),
			ExcludePunctuation: jsii.Bool(true), // sent in an HTTP header, typed into a form
		},
		RemovalPolicy: b.removal,
	})
	suppressNag(b.webhookToken, "AwsSolutions-SMG4",
		"The webhook token is also stored in Auth0's log-stream settings, which no rotation Lambda can update; "+
			"rotating it is a manual two-step change (README, Deploying), so automatic rotation would only break the stream.")

	if strings.HasPrefix(b.cfg.Auth0ClientSecret, "arn:") {
		b.auth0Secret = awssecretsmanager.Secret_FromSecretCompleteArn(b.stack, jsii.String("Auth0ClientSecret"), jsii.String(b.cfg.Auth0ClientSecret))
	} else {
		b.auth0Secret = awssecretsmanager.Secret_FromSecretNameV2(b.stack, jsii.String("Auth0ClientSecret"), jsii.String(b.cfg.Auth0ClientSecret))
	}
}

// mail is the SES configuration set every email is sent through.
func (b *builder) mail() {
	b.configSet = awsses.NewConfigurationSet(b.stack, jsii.String("Mail"), &awsses.ConfigurationSetProps{
		ReputationMetrics:  jsii.Bool(true),
		SuppressionReasons: awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
		// An invitation link opens an account: never send it over an unencrypted hop.
		TlsPolicy: awsses.ConfigurationSetTlsPolicy_REQUIRE,
	})
}

// queues are the worker's queue and its dead-letter queue.
func (b *builder) queues() {
	b.dlq = awssqs.NewQueue(b.stack, jsii.String("WorkerDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   b.removal,
	})
	b.queue = awssqs.NewQueue(b.stack, jsii.String("WorkerQueue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: seconds(queueVisibilityFactor * workerFunction.timeout),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: b.dlq, MaxReceiveCount: jsii.Number(queueMaxReceives)},
		RemovalPolicy:     b.removal,
	})
}

// httpAPI is the HTTP API, without routes or stage yet, and the public base URL of
// the links, which is the API's own endpoint unless the operator set one.
func (b *builder) httpAPI() {
	b.api = awsapigatewayv2.NewHttpApi(b.stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String("doorman-" + b.cfg.Stage),
		Description:        jsii.String("Doorman " + b.cfg.Stage),
		CorsPreflight:      corsOptions(b.cfg.CORSOrigins),
		CreateDefaultStage: jsii.Bool(false),
	})
	b.publicBase = b.cfg.PublicBaseURL
	if b.publicBase == "" {
		b.publicBase = *b.api.ApiEndpoint() // https://<id>.execute-api.<region>.amazonaws.com
	}
}

// functions are the four functions, each with the environment every function gets
// and its own additions, which the functions' own loader then checks.
func (b *builder) functions() error {
	cfg := b.cfg
	b.env = map[string]*string{
		"TABLE_NAME":                b.dynamoTable.TableName(),
		"AUTH0_DOMAIN":              jsii.String(cfg.Auth0Domain),
		"AUTH0_CLIENT_ID":           jsii.String(cfg.Auth0ClientID),
		"AUTH0_CLIENT_SECRET_ARN":   b.auth0Secret.SecretArn(),
		"AUTH0_CONNECTION":          jsii.String(cfg.Auth0Connection),
		"AUTH0_CLIENT_ID_FOR_LOGIN": jsii.String(cfg.Auth0LoginClientID),
		"MAIL_FROM":                 jsii.String(cfg.MailFrom),
		"SES_CONFIGURATION_SET":     b.configSet.ConfigurationSetName(),
		"PUBLIC_BASE_URL":           jsii.String(b.publicBase),
		"REDIRECT_ALLOWLIST":        jsii.String(strings.Join(cfg.RedirectAllowlist, ",")),
		"CORS_ORIGINS":              jsii.String(strings.Join(cfg.CORSOrigins, ",")),
	}
	for name, v := range map[string]string{
		"APPLICATION_NAME": cfg.ApplicationName, "APPLICATION_URL": cfg.ApplicationURL,
		"INVITES_PER_HOUR": cfg.InvitesPerHour, "AUTH0_RATE_LIMIT": cfg.Auth0RateLimit,
		"REMINDER_BEFORE": cfg.ReminderBefore, "EXPIRED_USER_POLICY": cfg.UserPolicy, "CREATE_BUDGET": cfg.CreateBudget,
		"GRANTABLE_ROLES": cfg.GrantableRoles, "APP_METADATA_KEYS": cfg.AppMetadataKeys,
		"ALLOWED_CONNECTIONS": cfg.AllowedConnections, "ALLOWED_CLIENT_IDS": cfg.AllowedClientIDs,
		"VERIFY_DISCLOSED_LINKS": cfg.VerifyDisclosed,
		"JOIN_POLICY":            cfg.JoinPolicy, "JOIN_ROLES": cfg.JoinRoles,
		"JOIN_PER_SOURCE_MINUTE": cfg.JoinPerSourceMinute, "JOIN_MAILS_PER_DAY": cfg.JoinMailsPerDay,
	} {
		if v != "" {
			b.env[name] = jsii.String(v)
		}
	}

	// The api function queues the items of a bulk request, and the sweeper queues
	// again those of a batch whose api request stopped before queueing them all; the
	// worker receives them through its event source, and records an item as failed on
	// its last receive, which it learns from QUEUE_MAX_RECEIVES. Only the api and
	// sweeper functions are told the queue's URL, and only they may send.
	// The api function serves /console, which asks Auth0 for tokens of the API's audience.
	apiEnv := map[string]*string{"QUEUE_URL": b.queue.QueueUrl(), "CONSOLE_AUDIENCE": jsii.String(cfg.Auth0Audience),
		"DELIVERY_QUEUE_URL": b.deliveries.QueueUrl()}
	if cfg.ConsoleClientID != "" {
		apiEnv["CONSOLE_CLIENT_ID"] = jsii.String(cfg.ConsoleClientID)
	}
	b.apiFn = b.function(apiFunction, apiEnv)
	b.logstreamFn = b.function(logstreamFunction, map[string]*string{"WEBHOOK_TOKEN_ARN": b.webhookToken.SecretArn()})
	b.sweeperFn = b.function(sweeperFunction, map[string]*string{"QUEUE_URL": b.queue.QueueUrl()})
	b.workerFn = b.function(workerFunction, map[string]*string{"QUEUE_MAX_RECEIVES": jsii.String(strconv.Itoa(queueMaxReceives))})
	b.sesEventsFn = b.function(sesEventsFunction, nil)
	b.eventFunctions()
	return checkEnvironments(b.envs, b.stack.Region())
}

// allFunctions are the functions in the order of functions.
func (b *builder) allFunctions() []awslambda.Function {
	return []awslambda.Function{b.apiFn, b.logstreamFn, b.sweeperFn, b.workerFn, b.sesEventsFn, b.publisherFn}
}

// permissions grant each function only what it calls: the table actions its code
// makes (tableActions), Auth0 through the same client; email is sent by every
// function that issues or reissues a link (the log stream reissues an organization
// invitation after a failed accept, the sweeper sends reminders and retries). The
// worker's queue reaches it through its event source.
func (b *builder) permissions() {
	tableResources := []*string{b.dynamoTable.TableArn()}
	for _, name := range indexNames(b.schema) {
		tableResources = append(tableResources, jsii.String(*b.dynamoTable.TableArn()+"/index/"+name))
	}
	sendEmail := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("SendInvitationEmail"),
		Actions: jsii.Strings("ses:SendEmail"),
		// SES authorizes a send against both the identity and the configuration set.
		Resources: &[]*string{
			b.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: jsii.String(b.cfg.SESIdentity)}),
			b.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("configuration-set"), ResourceName: b.configSet.ConfigurationSetName()}),
		},
	})
	for i, fn := range b.allFunctions() {
		fn.AddToRolePolicy(tableStatement(tableActions[functions[i].name], tableResources))
		if !withoutAuth0[functions[i].name] {
			b.auth0Secret.GrantRead(fn, nil)
		}
	}
	for i, fn := range b.allFunctions() {
		if !withoutAuth0[functions[i].name] {
			fn.AddToRolePolicy(sendEmail)
		}
	}
	b.eventPermissions()
	// SendMessage alone (it also authorizes SendMessageBatch): GrantSendMessages would
	// add GetQueueAttributes and GetQueueUrl, which the api function never calls.
	queueItems := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("QueueBulkItems"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{b.queue.QueueArn()},
	})
	b.apiFn.AddToRolePolicy(queueItems)
	b.sweeperFn.AddToRolePolicy(queueItems)
	b.webhookToken.GrantRead(b.logstreamFn, nil)
	b.workerFn.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(workerConcurrency),
	}))
}

// schedule runs the sweeper every SweepRate.
func (b *builder) schedule() {
	awsevents.NewRule(b.stack, jsii.String("SweepSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs Doorman's expiry sweeper"),
		Schedule:    awsevents.Schedule_Rate(seconds(b.cfg.SweepRate)),
		Targets: &[]awsevents.IRuleTarget{
			awseventstargets.NewLambdaFunction(b.sweeperFn, &awseventstargets.LambdaFunctionProps{RetryAttempts: jsii.Number(0)}),
		},
	})
}

// outputs tell the operator what to enter in Auth0 and where the parts are.
func (b *builder) outputs() {
	cfg := b.cfg
	webhookURL := b.publicBase + webhookPath
	output := func(id, value, description string) {
		awscdk.NewCfnOutput(b.stack, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(description)})
	}
	output("ApiUrl", *b.apiStage.Url(), "The HTTP API (base of /v1, /i and the webhook)")
	output("PublicBaseUrl", b.publicBase, "The base of the links in invitation emails (PUBLIC_BASE_URL)")
	output("WebhookUrl", webhookURL, "The Auth0 log-stream webhook")
	output("WebhookTokenSecretArn", *b.webhookToken.SecretArn(), "Secret holding the webhook token (read it with: aws secretsmanager get-secret-value --secret-id <this ARN> --query SecretString --output text)")
	output("TableName", *b.dynamoTable.TableName(), "The DynamoDB table")
	output("WorkerQueueUrl", *b.queue.QueueUrl(), "The worker's queue (the items of bulk invitation requests)")
	output("SesEventsTopicArn", *b.sesEventsTopic.TopicArn(), "The SNS topic the SES configuration set publishes sending events to (the sesevents function's queue subscribes to it)")
	output("Auth0LogStreamEndpoint", webhookURL,
		"Auth0 > Monitoring > Streams > Custom Webhook: Payload URL")
	output("Auth0LogStreamAuthorization", "Bearer <SecretString of WebhookTokenSecretArn>",
		"Auth0 log stream: Authorization Token, entered exactly as 'Bearer ' followed by the secret's value; Content Type application/json; any Content Format")
	// After the landing page's Continue, Auth0 sends the invitee on to one of two
	// places: an application invitation's password-change ticket returns to its
	// redirect_url (which must be on the allow-list) or, without one, offers the login
	// application's Application Login URI; an organization invitation's URL is that
	// same Application Login URI. The page there starts the login with itself as the
	// redirect_uri, which Auth0 accepts only from the application's Allowed Callback URLs.
	output("Auth0LoginApplication", cfg.Auth0LoginClientID,
		"Auth0 > Applications > the application with this Client ID: set Application Login URI to the https route of your app "+
			"that starts a login (organization invitees arrive there, and it is offered after an invitee sets a password); "+
			"add Auth0AllowedCallbackUrls to its Allowed Callback URLs")
	if len(cfg.RedirectAllowlist) > 0 {
		output("Auth0AllowedCallbackUrls", strings.Join(cfg.RedirectAllowlist, ", "),
			"Auth0 > Applications > Auth0LoginApplication > Allowed Callback URLs: add these, the redirect_url values invitees land on "+
				"after accepting (redirectAllowlist). Auth0 compares whole URLs (without the query): a redirect_url below one of them needs its own entry")
	}
	output("Auth0JwtIssuer", "https://"+cfg.Auth0Domain+"/", "Issuer the API's JWT authorizer accepts (audience: "+cfg.Auth0Audience+")")
}

func (b *builder) function(f function, extraEnv map[string]*string) awslambda.Function {
	id := exportName(f.name) + "Function"
	logs := awslogs.NewLogGroup(b.stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     b.cfg.LogRetention,
		RemovalPolicy: b.removal,
	})
	if b.logGroups == nil {
		b.logGroups = map[string]awslogs.LogGroup{}
	}
	b.logGroups[f.name] = logs
	// An explicit role without AWS managed policies: CloudWatch Logs access is granted
	// on this function's own log group only.
	role := awsiam.NewRole(b.stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(f.description),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteOwnLogs"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	env := make(map[string]*string, len(b.env)+len(extraEnv))
	for k, v := range b.env {
		if withoutAuth0[f.name] && auth0Client[k] {
			continue
		}
		env[k] = v
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	b.envs[f.name] = env
	tracing := awslambda.Tracing_DISABLED
	if b.cfg.Tracing {
		tracing = awslambda.Tracing_ACTIVE
	}
	fn := awslambda.NewFunction(b.stack, jsii.String(id), &awslambda.FunctionProps{
		Description:           jsii.String(f.description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(filepath.Join(b.cfg.AssetDir, f.name)), nil),
		MemorySize:            jsii.Number(f.memoryMB),
		Timeout:               seconds(f.timeout),
		Role:                  role,
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &env,
		Tracing:               tracing,
	})
	if f.scheduled {
		fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{RetryAttempts: jsii.Number(0)})
	}
	if b.cfg.Tracing {
		suppressNagWithin(role, "AwsSolutions-IAM5", []string{"Resource::*"},
			"X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions; "+
				"they write trace data only and reach no Doorman data.")
	}
	return fn
}

// tableActions are, by function, the IAM actions of the DynamoDB calls its code
// makes: what its process test saw it send (functions/<name>/testdata/table-actions.txt,
// recorded by processtest.TableMeter), which infra's tests hold equal to this and to
// what the store methods the function calls can send. A transaction is authorized as
// the actions of the items it carries: the invitation's writes are transactions of
// Puts and Deletes (a Delete releases the reservation when an invitation ends, or
// drops a replaced link), so a function needs UpdateItem only for the calls that are
// UpdateItem or carry an Update. No function scans, and the table is the stack's to
// change.
var tableActions = map[string][]string{
	// /v1 and the /i pages: lists (Query, then BatchGetItem), the per-inviter caps
	// (UpdateItem), idempotency records, and bulk requests, whose items it writes
	// (BatchWriteItem) and ends failed when the queue refuses them (UpdateItem).
	apiFunction.name: {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
		"dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
	// One BatchGetItem for a delivery's candidates, the transitions, the processed
	// marks, and a read again after losing a race.
	logstreamFunction.name: {"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
	// The expiry, due and reminder indexes and the unqueued batches (Query), the
	// invitations of a page (BatchGetItem), the transitions, a batch marked queued.
	sweeperFunction.name: {"dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
	// The item and its invitation, the invitation's transactions, and the item's
	// claim and outcome (UpdateItem).
	workerFunction.name: {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
	// The invitation read and its item written (UpdateDelivery), and the address
	// marked undeliverable.
	sesEventsFunction.name: {"dynamodb:GetItem", "dynamodb:PutItem"},
	// The feed's items (PutItem), the endpoints of a scope (Query), an endpoint and
	// its attempts and failure run (GetItem, PutItem).
	publisherFunction.name: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
}

// tableStatement grants actions on the table and its indexes.
func tableStatement(actions []string, resources []*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvitationTable"),
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}

// corsOptions answers the SPAs' CORS at API Gateway, which then ignores the CORS
// headers the function sets; the values are the ones shared/httpapi answers with
// locally (a test keeps the two in step). OPTIONS is not among the methods: no route
// serves it, API Gateway answers every preflight itself.
func corsOptions(origins []string) *awsapigatewayv2.CorsPreflightOptions {
	if len(origins) == 0 {
		return nil
	}
	return &awsapigatewayv2.CorsPreflightOptions{
		AllowOrigins: jsii.Strings(origins...),
		AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
			awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_PUT, awsapigatewayv2.CorsHttpMethod_PATCH,
			awsapigatewayv2.CorsHttpMethod_DELETE,
		},
		AllowHeaders:  jsii.Strings("Authorization", "Content-Type", "Idempotency-Key"),
		ExposeHeaders: jsii.Strings("X-Request-Id", "Retry-After", "Location", "Idempotent-Replayed"),
		MaxAge:        awscdk.Duration_Minutes(jsii.Number(10)),
	}
}

// routes names every method it routes: there is no ANY route and no $default route.
// With CORS configured, API Gateway answers a preflight OPTIONS request itself when no
// route matches it (see "Configure CORS for HTTP APIs"), so preflights never meet the
// JWT authorizer (a browser sends them without the token) and never invoke the
// function. An ANY or OPTIONS route under /v1 would change both; a test forbids them.
func (b *builder) routes() {
	apiIntegration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), b.apiFn, nil)
	jwt := awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("Auth0"),
		jsii.String("https://"+b.cfg.Auth0Domain+"/"),
		&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: jsii.Strings(b.cfg.Auth0Audience)})
	// add adds routes and keeps, for stage, the budget each gets for itself.
	add := func(budget Throttle, opts *awsapigatewayv2.AddRoutesOptions) []awsapigatewayv2.HttpRoute {
		routes := *b.api.AddRoutes(opts)
		for _, r := range routes {
			b.budgets = append(b.budgets, routeBudget{route: r, budget: budget})
		}
		return routes
	}
	// Every /v1 operation, present and future (invitations, invitation batches), is
	// behind the authorizer through the greedy route; the function checks the claims.
	add(b.cfg.AdminThrottle, &awsapigatewayv2.AddRoutesOptions{
		Path: jsii.String(apiPath),
		Methods: &[]awsapigatewayv2.HttpMethod{
			awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST, awsapigatewayv2.HttpMethod_PUT, awsapigatewayv2.HttpMethod_PATCH,
			awsapigatewayv2.HttpMethod_DELETE,
		},
		Integration: apiIntegration,
		Authorizer:  jwt,
	})
	publicWith := func(budget Throttle, path, reason string, methods ...awsapigatewayv2.HttpMethod) {
		routes := add(budget, &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(path),
			Methods:     &methods,
			Integration: apiIntegration,
			Authorizer:  awsapigatewayv2.NewHttpNoneAuthorizer(),
		})
		for _, r := range routes {
			suppressNag(r, "AwsSolutions-APIG4", reason)
		}
	}
	public := func(path, reason string, methods ...awsapigatewayv2.HttpMethod) {
		publicWith(b.cfg.PublicThrottle, path, reason, methods...)
	}
	// A path without variables outranks the greedy /v1 route, so this one operation
	// is public while everything else under /v1 stays behind the authorizer.
	public(openAPIPath, "The OpenAPI document describes the API's operations and schemas and holds no data; "+
		"clients and code generators fetch it without a token, and the function serves only the embedded document here.",
		awsapigatewayv2.HttpMethod_GET)
	public(landingPath, "The invitee's landing page is public by design: the invitee has no account yet. The 256-bit link token "+
		"in the path is the credential; the function checks it against its stored hash.",
		awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST)
	b.joinRoutes(func(path, reason string, methods ...awsapigatewayv2.HttpMethod) {
		publicWith(b.cfg.JoinThrottle, path, reason, methods...)
	})
	public(consolePath, "The console page is public: it holds no data and signs the admin in with Auth0 in the browser; "+
		"every call it makes goes to /v1 with the admin's token.", awsapigatewayv2.HttpMethod_GET)
	public(consoleAssetPath, "The console's scripts and style sheet are public static files embedded in the function.",
		awsapigatewayv2.HttpMethod_GET)
	webhook := add(b.cfg.WebhookThrottle, &awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String(webhookPath),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("LogstreamIntegration"), b.logstreamFn, nil),
		Authorizer:  awsapigatewayv2.NewHttpNoneAuthorizer(),
	})
	for _, r := range webhook {
		suppressNag(r, "AwsSolutions-APIG4",
			"Auth0 log streams can only send a static Authorization header, which no API Gateway authorizer type "+
				"checks; the function compares it in constant time with the token in Secrets Manager before reading the body.")
	}
}

// accessLogFormat records one JSON line per request. It logs the route template, never
// the path: a landing-page path carries the invitee's link token.
const accessLogFormat = `{"requestId":"$context.requestId","time":"$context.requestTime","ip":"$context.identity.sourceIp",` +
	`"method":"$context.httpMethod","route":"$context.routeKey","status":"$context.status",` +
	`"latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency",` +
	`"responseLength":"$context.responseLength","authorizerError":"$context.authorizer.error",` +
	`"integrationError":"$context.integrationErrorMessage","sub":"$context.authorizer.claims.sub"}`

// stage is the API's $default stage, with its throttle and its access log. Every
// route has its own budget (RouteSettings by route key): unauthenticated traffic to
// /i/<anything> spends the public routes' budget, never the admins' or the log
// stream's. The stage's default covers only a route added without one.
func (b *builder) stage() {
	b.apiStage = b.api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(b.cfg.ThrottleRate),
			BurstLimit: jsii.Number(float64(b.cfg.ThrottleBurst)),
		},
	})
	logs := awslogs.NewLogGroup(b.stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     b.cfg.LogRetention,
		RemovalPolicy: b.removal,
	})
	// The L2 stage's access-log settings take a Go-implemented interface; the
	// CloudFormation property says the same thing plainly.
	cfn := b.apiStage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	settings := make(map[string]interface{}, len(b.budgets))
	for _, rb := range b.budgets {
		key := *rb.route.Node().DefaultChild().(awsapigatewayv2.CfnRoute).RouteKey()
		settings[key] = map[string]interface{}{
			"ThrottlingRateLimit":  rb.budget.Rate,
			"ThrottlingBurstLimit": rb.budget.Burst,
		}
		// API Gateway refuses route settings for a route it does not have yet, and
		// nothing else orders the stage after the routes.
		b.apiStage.Node().AddDependency(rb.route)
	}
	cfn.SetRouteSettings(settings)
}

// alarms watch each function's errors and throttles, the worker's queues and the
// API's 5xx rate, and notify AlarmTopicArn, or a topic mailing AlarmEmail, when set.
func (b *builder) alarms() {
	var action awscloudwatch.IAlarmAction
	switch {
	case b.cfg.AlarmTopicArn != "":
		action = awscloudwatchactions.NewSnsAction(awssns.Topic_FromTopicArn(b.stack, jsii.String("AlarmTopic"), jsii.String(b.cfg.AlarmTopicArn)))
	case b.cfg.AlarmEmail != "":
		// CloudWatch can publish to an encrypted topic only through a customer managed
		// key whose policy lets it use the key.
		key := awskms.NewKey(b.stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
			Description:       jsii.String("Doorman alarm notifications"),
			EnableKeyRotation: jsii.Bool(true),
			RemovalPolicy:     b.removal,
		})
		key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("CloudWatchAlarmsPublish"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
			Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
		}), nil)
		topic := awssns.NewTopic(b.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
			DisplayName: jsii.String("Doorman alarms"),
			MasterKey:   key,
			EnforceSSL:  jsii.Bool(true),
		})
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(b.cfg.AlarmEmail), nil))
		action = awscloudwatchactions.NewSnsAction(topic)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(b.stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if action != nil {
			a.AddAlarmAction(action)
			a.AddOkAction(action)
		}
	}
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}
	for i, fn := range b.allFunctions() {
		name := exportName(functions[i].name)
		alarm(name+"Errors", "Doorman "+functions[i].name+": the function failed", fn.MetricErrors(sum), 1)
		alarm(name+"Throttles", "Doorman "+functions[i].name+": invocations were throttled", fn.MetricThrottles(sum), 1)
	}
	b.eventAlarms(alarm, five)
	alarm("WorkerDLQDepth", "Doorman worker: messages reached the dead-letter queue",
		b.dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), 1)
	alarm("SesEventsDLQDepth", "Doorman sesevents: SES event records reached the dead-letter queue (applied in none of their receives)",
		b.sesEventsDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), 1)
	alarm("WorkerQueueAge", fmt.Sprintf("Doorman worker: the oldest queued message waited %s or more", b.cfg.QueueAge),
		b.queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
		b.cfg.QueueAge.Seconds())
	rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		// Missing 5xx data points mean none; missing counts mean no traffic (no data).
		Expression: jsii.String("100 * FILL(errors, 0) / requests"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":   b.api.MetricServerError(sum),
			"requests": b.api.MetricCount(sum),
		},
		Label:  jsii.String("API 5xx %"),
		Period: five,
	})
	alarm("Api5xxRate", fmt.Sprintf("Doorman API: %g%% or more of the responses were 5xx", b.cfg.API5xxPercent), rate, b.cfg.API5xxPercent)
	// A log event Doorman can never apply is kept as a dead letter (README, Operating)
	// and its line counted here.
	dead := awslogs.NewMetricFilter(b.stack, jsii.String("DeadLetterFilter"), &awslogs.MetricFilterProps{
		LogGroup:        b.logGroups["logstream"],
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String("log event dead-lettered")),
		MetricNamespace: jsii.String("Doorman"),
		MetricName:      jsii.String("DeadLetters"),
		MetricValue:     jsii.String("1"),
	})
	alarm("DeadLetters", "Doorman logstream: a log event was dead-lettered (refused for good); the rest of its batch was applied",
		dead.Metric(sum), 1)
}

// exportName turns a function name into a construct id: "logstream" → "Logstream".
func exportName(name string) string {
	return strings.ToUpper(name[:1]) + name[1:]
}

func seconds(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}
