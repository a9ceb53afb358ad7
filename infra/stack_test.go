package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/doormanhq/doorman/shared/dynamo"
)

func TestResourceCounts(t *testing.T) {
	s := defaultStack(t)
	tests := []struct {
		typ  string
		want int
	}{
		{"AWS::DynamoDB::Table", 1},
		{"AWS::Lambda::Function", 6},
		{"AWS::IAM::Role", 6},
		{"AWS::IAM::Policy", 6},
		{"AWS::Logs::LogGroup", 7}, // six functions and the API's access log
		{"AWS::ApiGatewayV2::Api", 1},
		{"AWS::ApiGatewayV2::Authorizer", 1},
		// /v1 (GET, POST, PUT, PATCH, DELETE), GET /v1/openapi.json, /i (GET, POST), the webhook,
		// the join flows' POST /v1/access-requests, /join, /r and /j (GET, POST), and
		// /console with its assets
		{"AWS::ApiGatewayV2::Route", 18},
		{"AWS::ApiGatewayV2::Integration", 2},
		{"AWS::ApiGatewayV2::Stage", 1},
		{"AWS::Events::Rule", 1},
		{"AWS::Lambda::EventSourceMapping", 4}, // the worker's queue, the SES events' queue, the publisher's stream and delivery queue
		{"AWS::Lambda::EventInvokeConfig", 1},  // the sweeper's: no async retries
		{"AWS::SQS::Queue", 6},                 // the worker's, the SES events' and the deliveries', each with its dead-letter queue
		{"AWS::SecretsManager::Secret", 1},     // the Auth0 client secret is referenced, not created
		{"AWS::SES::ConfigurationSet", 1},
		{"AWS::CloudWatch::Alarm", 19}, // errors and throttles ×6, three DLQ depths, queue age, publisher lag, API 5xx, dead letters
		{"AWS::Logs::MetricFilter", 1}, // the logstream's dead-lettered events
		{"AWS::SNS::Topic", 1},         // SES's events; the alarms' only with alarmEmail
		{"AWS::KMS::Key", 1},           // the SES events' topic's
		{"AWS::IAM::ManagedPolicy", 0},
		{"Custom::LogRetention", 0}, // retention is set on the log groups, no helper Lambda
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if got := len(s.resources(tt.typ)); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
	all, _ := s.json["Resources"].(map[string]any)
	t.Logf("resources in the template: %d", len(all))
}

func TestTable(t *testing.T) {
	schema := dynamo.Schema()
	tests := []struct {
		name        string
		throwaway   bool
		protected   bool
		deletionPol string
	}{
		{"kept by default", false, true, "Retain"},
		{"throwaway stage", true, false, "Delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := awscdk.NewStack(newApp(t), ptr("T"), nil)
			if _, err := tableFromSchema(stack, "Table", schema, tt.throwaway); err != nil {
				t.Fatalf("tableFromSchema: %v", err)
			}
			tmpl := assertions.Template_FromStack(stack, nil)
			s := synthesized{stack: stack, template: tmpl, json: *tmpl.ToJSON()}
			table := s.one(t, "AWS::DynamoDB::Table", "Table")
			checks := []struct {
				name      string
				got, want any
			}{
				{"billing", table.props["BillingMode"], "PAY_PER_REQUEST"},
				{"PITR", str(table.props["PointInTimeRecoverySpecification"]), `{"PointInTimeRecoveryEnabled":true}`},
				{"deletion protection", table.props["DeletionProtectionEnabled"], tt.protected},
				{"DeletionPolicy", table.raw["DeletionPolicy"], tt.deletionPol},
				{"UpdateReplacePolicy", table.raw["UpdateReplacePolicy"], tt.deletionPol},
				{"TTL", str(table.props["TimeToLiveSpecification"]), `{"AttributeName":"` + schema.TTLAttribute + `","Enabled":true}`},
				{"key", str(table.props["KeySchema"]), str([]map[string]string{
					{"AttributeName": schema.PartitionKey.Name, "KeyType": "HASH"},
					{"AttributeName": schema.SortKey.Name, "KeyType": "RANGE"},
				})},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestTableIndexesMatchTheStore(t *testing.T) {
	schema := dynamo.Schema()
	if len(schema.GlobalSecondaryIndexes) == 0 {
		t.Fatal("the store's schema has no indexes; the test would check nothing")
	}
	s := defaultStack(t)
	table := s.one(t, "AWS::DynamoDB::Table", "Table")
	got := map[string]map[string]any{}
	for _, ix := range table.props["GlobalSecondaryIndexes"].([]any) {
		ix := ix.(map[string]any)
		got[ix["IndexName"].(string)] = ix
	}
	if len(got) != len(schema.GlobalSecondaryIndexes) {
		t.Errorf("got %d indexes, want %d", len(got), len(schema.GlobalSecondaryIndexes))
	}
	for _, want := range schema.GlobalSecondaryIndexes {
		t.Run(want.Name, func(t *testing.T) {
			ix, ok := got[want.Name]
			if !ok {
				t.Fatalf("index missing from the template")
			}
			wantKeys := []map[string]string{{"AttributeName": want.PartitionKey.Name, "KeyType": "HASH"}}
			if want.SortKey.Name != "" {
				wantKeys = append(wantKeys, map[string]string{"AttributeName": want.SortKey.Name, "KeyType": "RANGE"})
			}
			if g, w := str(ix["KeySchema"]), str(wantKeys); g != w {
				t.Errorf("keys: got %s, want %s", g, w)
			}
			proj := ix["Projection"].(map[string]any)
			if g := proj["ProjectionType"]; g != want.Projection {
				t.Errorf("projection: got %v, want %v", g, want.Projection)
			}
			var nonKey []string
			for _, a := range asSlice(proj["NonKeyAttributes"]) {
				nonKey = append(nonKey, a.(string))
			}
			if !slices.Equal(sorted(nonKey), sorted(want.NonKeyAttributes)) {
				t.Errorf("projected attributes: got %v, want %v", nonKey, want.NonKeyAttributes)
			}
		})
	}
}

func TestTableFromSchemaRejects(t *testing.T) {
	good := dynamo.Schema()
	tests := []struct {
		name   string
		change func(*dynamo.TableSchema)
		want   string
	}{
		{"no partition key", func(s *dynamo.TableSchema) { s.PartitionKey.Name = "" }, "partition key: no name"},
		{"unknown key type", func(s *dynamo.TableSchema) { s.SortKey.Type = "SS" }, `type "SS", want S, N or B`},
		{"unknown projection", func(s *dynamo.TableSchema) { s.GlobalSecondaryIndexes[0].Projection = "SOME" }, `unknown projection "SOME"`},
		{"include without attributes", func(s *dynamo.TableSchema) {
			s.GlobalSecondaryIndexes[0].Projection = "INCLUDE"
			s.GlobalSecondaryIndexes[0].NonKeyAttributes = nil
		}, "projection INCLUDE without attributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			s.GlobalSecondaryIndexes = slices.Clone(good.GlobalSecondaryIndexes)
			tt.change(&s)
			stack := awscdk.NewStack(newApp(t), ptr("T"), nil)
			_, err := tableFromSchema(stack, "Table", s, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	s := defaultStack(t)
	common := []string{"TABLE_NAME", "AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET_ARN", "AUTH0_CONNECTION",
		"AUTH0_CLIENT_ID_FOR_LOGIN", "MAIL_FROM", "SES_CONFIGURATION_SET", "PUBLIC_BASE_URL", "REDIRECT_ALLOWLIST", "CORS_ORIGINS"}
	tests := []struct {
		fn       function
		extraEnv []string
	}{
		{apiFunction, []string{"QUEUE_URL", "CONSOLE_AUDIENCE", "DELIVERY_QUEUE_URL"}}, // it queues replays,
		{logstreamFunction, []string{"WEBHOOK_TOKEN_ARN"}},
		{sweeperFunction, []string{"QUEUE_URL"}},         // it requeues batches their api request left
		{workerFunction, []string{"QUEUE_MAX_RECEIVES"}}, // no QUEUE_URL: it never sends
		{publisherFunction, []string{"DELIVERY_QUEUE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.fn.name, func(t *testing.T) {
			fn := s.one(t, "AWS::Lambda::Function", exportName(tt.fn.name)+"Function")
			checks := []struct {
				name      string
				got, want any
			}{
				{"runtime", fn.props["Runtime"], "provided.al2023"},
				{"architecture", str(fn.props["Architectures"]), `["arm64"]`},
				{"handler", fn.props["Handler"], "bootstrap"},
				{"memory", fn.props["MemorySize"], tt.fn.memoryMB},
				{"timeout", fn.props["Timeout"], tt.fn.timeout.Seconds()},
				{"log format", str(fn.props["LoggingConfig"].(map[string]any)["LogFormat"]), `"JSON"`},
				{"log group", ref(fn.props["LoggingConfig"].(map[string]any)["LogGroup"]) != "", true},
				{"tracing off", fn.props["TracingConfig"], nil},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}
			vars := fn.props["Environment"].(map[string]any)["Variables"].(map[string]any)
			var got []string
			for k := range vars {
				got = append(got, k)
			}
			want := append(slices.Clone(common), tt.extraEnv...)
			if withoutAuth0[tt.fn.name] {
				want = slices.DeleteFunc(want, func(k string) bool { return auth0Client[k] })
			}
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Errorf("environment: got %v, want %v", sorted(got), sorted(want))
			}
			if withoutAuth0[tt.fn.name] {
				return
			}
			if g := vars["AUTH0_DOMAIN"]; g != "example.eu.auth0.com" {
				t.Errorf("AUTH0_DOMAIN: got %v, want example.eu.auth0.com", g)
			}
			if g := str(vars["AUTH0_CLIENT_SECRET_ARN"]); !strings.Contains(g, ":secret:doorman/auth0-client-secret") {
				t.Errorf("AUTH0_CLIENT_SECRET_ARN: got %s, want the secret's ARN", g)
			}
		})
	}
}

func TestLogGroupsRetention(t *testing.T) {
	tests := []struct {
		name      string
		set       mapContext
		retention float64
		policy    string
	}{
		{"default", nil, 30, "Retain"},
		{"throwaway, a week", mapContext{ctxThrowaway: "true", ctxLogRetentionDays: "7"}, 7, "Delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultStack(t)
			if tt.set != nil {
				s = synthesize(t, testConfig(t, tt.set))
			}
			groups := s.resources("AWS::Logs::LogGroup")
			if len(groups) != 7 {
				t.Fatalf("got %d log groups, want 7", len(groups))
			}
			for _, g := range groups {
				if got := g.props["RetentionInDays"]; got != tt.retention {
					t.Errorf("%s retention: got %v, want %v", g.id, got, tt.retention)
				}
				if got := g.raw["DeletionPolicy"]; got != tt.policy {
					t.Errorf("%s DeletionPolicy: got %v, want %v", g.id, got, tt.policy)
				}
			}
		})
	}
}

func TestThrowawayStage(t *testing.T) {
	s := synthesize(t, testConfig(t, mapContext{ctxThrowaway: "true", ctxTracing: "true", ctxAlarmEmail: "ops@example.com"}))
	table := s.one(t, "AWS::DynamoDB::Table", "Table")
	if got := table.props["DeletionProtectionEnabled"]; got != false {
		t.Errorf("table deletion protection: got %v, want false", got)
	}
	if got := table.raw["DeletionPolicy"]; got != "Delete" {
		t.Errorf("table DeletionPolicy: got %v, want Delete", got)
	}
	if got := s.one(t, "AWS::SecretsManager::Secret", "WebhookToken").raw["DeletionPolicy"]; got != "Delete" {
		t.Errorf("webhook secret DeletionPolicy: got %v, want Delete", got)
	}
	for _, fn := range s.resources("AWS::Lambda::Function") {
		if got := str(fn.props["TracingConfig"]); got != `{"Mode":"Active"}` {
			t.Errorf("%s tracing: got %s, want Active", fn.id, got)
		}
	}
	// Alarms notify through an encrypted topic with the address subscribed.
	topic := s.one(t, "AWS::SNS::Topic", "AlarmTopic")
	if ref(topic.props["KmsMasterKeyId"]) == "" {
		t.Errorf("alarm topic: got KmsMasterKeyId %v, want the stack's key", topic.props["KmsMasterKeyId"])
	}
	hasProps(t, s, "AWS::SNS::Subscription", map[string]any{"Protocol": "email", "Endpoint": "ops@example.com"})
	hasProps(t, s, "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true})
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		if got := asSlice(a.props["AlarmActions"]); len(got) != 1 || ref(got[0]) != topic.id {
			t.Errorf("%s actions: got %s, want the alarm topic", a.id, str(got))
		}
	}
}

func TestHTTPAPI(t *testing.T) {
	s := defaultStack(t)
	authz := s.one(t, "AWS::ApiGatewayV2::Authorizer", "Api")
	if got, want := str(authz.props["JwtConfiguration"]), `{"Audience":["https://doorman.example.com"],"Issuer":"https://example.eu.auth0.com/"}`; got != want {
		t.Errorf("JWT authorizer: got %s, want %s", got, want)
	}
	routes := map[string]resource{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		routes[r.props["RouteKey"].(string)] = r
	}
	tests := []struct {
		route string
		auth  string
	}{
		{"GET /v1/{proxy+}", "JWT"},
		{"POST /v1/{proxy+}", "JWT"},
		{"PUT /v1/{proxy+}", "JWT"},
		{"PATCH /v1/{proxy+}", "JWT"},
		{"DELETE /v1/{proxy+}", "JWT"},
		{"GET /v1/openapi.json", "NONE"},
		{"GET /i/{token}", "NONE"},
		{"POST /i/{token}", "NONE"},
		{"POST /webhooks/auth0/logs", "NONE"},
		{"POST /v1/access-requests", "NONE"},
		{"GET /join", "NONE"},
		{"POST /join", "NONE"},
		{"GET /r/{token}", "NONE"},
		{"POST /r/{token}", "NONE"},
		{"GET /j/{token}", "NONE"},
		{"POST /j/{token}", "NONE"},
		{"GET /console", "NONE"},
		{"GET /console/assets/{name}", "NONE"},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			r, ok := routes[tt.route]
			if !ok {
				t.Fatalf("route missing; routes: %v", keys(routes))
			}
			if got := r.props["AuthorizationType"]; got != tt.auth {
				t.Errorf("authorization: got %v, want %v", got, tt.auth)
			}
			if tt.auth == "JWT" && ref(r.props["AuthorizerId"]) != authz.id {
				t.Errorf("authorizer: got %v, want %s", r.props["AuthorizerId"], authz.id)
			}
		})
	}
	if len(routes) != len(tests) {
		t.Errorf("routes: got %v, want exactly the %d above", keys(routes), len(tests))
	}

	api := s.one(t, "AWS::ApiGatewayV2::Api", "Api")
	cors := api.props["CorsConfiguration"].(map[string]any)
	if got, want := str(cors["AllowOrigins"]), `["https://app.example.com","https://admin.example.com"]`; got != want {
		t.Errorf("CORS origins: got %s, want %s", got, want)
	}
	if got := str(cors["AllowHeaders"]); !strings.Contains(got, "Authorization") || !strings.Contains(got, "Idempotency-Key") {
		t.Errorf("CORS headers: got %s, want Authorization and Idempotency-Key", got)
	}

	stage := s.one(t, "AWS::ApiGatewayV2::Stage", "Api")
	if got, want := str(stage.props["DefaultRouteSettings"]), `{"ThrottlingBurstLimit":100,"ThrottlingRateLimit":50}`; got != want {
		t.Errorf("throttling: got %s, want %s", got, want)
	}
	logs := stage.props["AccessLogSettings"].(map[string]any)
	if !strings.HasPrefix(ref(logs["DestinationArn"]), "ApiAccessLogs") {
		t.Errorf("access log destination: got %s, want the ApiAccessLogs group", str(logs["DestinationArn"]))
	}
	format := logs["Format"].(string)
	for _, want := range []string{"$context.requestId", "$context.routeKey", "$context.status"} {
		if !strings.Contains(format, want) {
			t.Errorf("access log format lacks %s: %s", want, format)
		}
	}
	// The landing page's path holds the invitee's token: it must never reach a log.
	for _, never := range []string{"$context.path", "$context.resourcePath", "$context.requestOverride"} {
		if strings.Contains(format, never) {
			t.Errorf("access log format logs %s, which carries link tokens", never)
		}
	}
}

func TestNoCORSWithoutOrigins(t *testing.T) {
	s := synthesize(t, testConfig(t, mapContext{ctxCORSOrigins: ""}))
	if got, ok := s.one(t, "AWS::ApiGatewayV2::Api", "Api").props["CorsConfiguration"]; ok {
		t.Errorf("CORS: got %s, want none", str(got))
	}
}

func TestScheduleAndThrottleFromContext(t *testing.T) {
	s := synthesize(t, testConfig(t, mapContext{ctxSweepRateMinutes: "10", ctxThrottleRate: "7", ctxThrottleBurst: "9"}))
	rule := s.one(t, "AWS::Events::Rule", "SweepSchedule")
	if got := rule.props["ScheduleExpression"]; got != "rate(10 minutes)" {
		t.Errorf("schedule: got %v, want rate(10 minutes)", got)
	}
	targets := asSlice(rule.props["Targets"])
	if len(targets) != 1 || !strings.HasPrefix(ref(targets[0].(map[string]any)["Arn"]), "SweeperFunction") {
		t.Errorf("schedule targets: got %s, want the sweeper", str(targets))
	}
	stage := s.one(t, "AWS::ApiGatewayV2::Stage", "Api")
	if got, want := str(stage.props["DefaultRouteSettings"]), `{"ThrottlingBurstLimit":9,"ThrottlingRateLimit":7}`; got != want {
		t.Errorf("throttling: got %s, want %s", got, want)
	}
	if got := defaultStack(t).one(t, "AWS::Events::Rule", "SweepSchedule").props["ScheduleExpression"]; got != "rate(5 minutes)" {
		t.Errorf("default schedule: got %v, want rate(5 minutes)", got)
	}
}

func TestWorkerQueue(t *testing.T) {
	s := defaultStack(t)
	worker := s.one(t, "AWS::Lambda::Function", "WorkerFunction")
	queue := s.one(t, "AWS::SQS::Queue", "WorkerQueue")
	dlq := s.one(t, "AWS::SQS::Queue", "WorkerDLQ")
	timeout := worker.props["Timeout"].(float64)
	if got := queue.props["VisibilityTimeout"].(float64); got < 6*timeout {
		t.Errorf("visibility timeout: got %v s, want at least 6 × %v s", got, timeout)
	}
	redrive := queue.props["RedrivePolicy"].(map[string]any)
	if ref(redrive["deadLetterTargetArn"]) != dlq.id {
		t.Errorf("dead-letter target: got %s, want %s", str(redrive["deadLetterTargetArn"]), dlq.id)
	}
	if got := redrive["maxReceiveCount"]; got != float64(queueMaxReceives) {
		t.Errorf("max receive count: got %v, want %d", got, queueMaxReceives)
	}
	// The worker records an item as failed on its last receive, which it learns from
	// QUEUE_MAX_RECEIVES: it must be the queue's count, or items are never recorded
	// (too high) or given up early (too low).
	vars := worker.props["Environment"].(map[string]any)["Variables"].(map[string]any)
	if got, want := vars["QUEUE_MAX_RECEIVES"], fmt.Sprint(redrive["maxReceiveCount"]); got != want {
		t.Errorf("QUEUE_MAX_RECEIVES: got %v, want the queue's maxReceiveCount %s", got, want)
	}
	for _, name := range []string{"Api", "Sweeper"} {
		vars := s.one(t, "AWS::Lambda::Function", name+"Function").props["Environment"].(map[string]any)["Variables"].(map[string]any)
		if ref(vars["QUEUE_URL"]) != queue.id {
			t.Errorf("%s QUEUE_URL: got %s, want the worker queue", name, str(vars["QUEUE_URL"]))
		}
	}
	for _, q := range []resource{queue, dlq} {
		if got := q.props["SqsManagedSseEnabled"]; got != true {
			t.Errorf("%s encryption: got %v, want SQS managed", q.id, got)
		}
	}
	esm := s.one(t, "AWS::Lambda::EventSourceMapping", "WorkerFunction")
	checks := []struct {
		name      string
		got, want any
	}{
		{"source", ref(esm.props["EventSourceArn"]), queue.id},
		{"function", ref(esm.props["FunctionName"]), worker.id},
		{"partial batch failures", str(esm.props["FunctionResponseTypes"]), `["ReportBatchItemFailures"]`},
		{"concurrency", str(esm.props["ScalingConfig"]), `{"MaximumConcurrency":2}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestSecrets(t *testing.T) {
	s := defaultStack(t)
	secret := s.one(t, "AWS::SecretsManager::Secret", "WebhookToken")
	gen, ok := secret.props["GenerateSecretString"].(map[string]any)
	if !ok {
		t.Fatalf("webhook secret: got %s, want a generated value", str(secret.props))
	}
	if got := gen["PasswordLength"]; got != 48.0 {
		t.Errorf("token length: got %v, want 48", got)
	}
	for _, sec := range s.resources("AWS::SecretsManager::Secret") {
		if v, ok := sec.props["SecretString"]; ok {
			t.Errorf("%s holds a value in the template: %v", sec.id, v)
		}
	}
	// An ARN given in the context is used as is, and granted without a wildcard.
	arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:doorman/auth0-AbCdEf"
	byArn := synthesize(t, testConfig(t, mapContext{ctxAuth0ClientSecret: arn}))
	api := byArn.one(t, "AWS::Lambda::Function", "ApiFunction")
	if got := api.props["Environment"].(map[string]any)["Variables"].(map[string]any)["AUTH0_CLIENT_SECRET_ARN"]; got != arn {
		t.Errorf("AUTH0_CLIENT_SECRET_ARN: got %v, want %s", got, arn)
	}
	var granted bool
	for _, st := range statements(byArn) {
		if slices.Contains(st.actions, "secretsmanager:GetSecretValue") && slices.Contains(st.resources, `"`+arn+`"`) {
			granted = true
		}
	}
	if !granted {
		t.Errorf("no statement grants GetSecretValue on %s", arn)
	}
}

func TestSES(t *testing.T) {
	s := defaultStack(t)
	set := s.one(t, "AWS::SES::ConfigurationSet", "Mail")
	if got := str(set.props["DeliveryOptions"]); got != `{"TlsPolicy":"REQUIRE"}` {
		t.Errorf("delivery options: got %s, want TLS required", got)
	}
	var sends int
	for _, st := range statements(s) {
		for _, a := range st.actions {
			if !strings.HasPrefix(a, "ses:") {
				continue
			}
			if a != "ses:SendEmail" {
				t.Errorf("%s: got action %s, want only ses:SendEmail", st.policy, a)
			}
			sends++
			if len(st.resources) != 2 ||
				!strings.Contains(st.resources[0], ":identity/mail.example.com") ||
				!strings.Contains(st.resources[1], ":configuration-set/") {
				t.Errorf("%s: ses:SendEmail on %v, want the identity mail.example.com and the configuration set", st.policy, st.resources)
			}
		}
	}
	if sends != 4 { // api; logstream (reissues); sweeper (reminders, retries); worker
		t.Errorf("ses:SendEmail statements: got %d, want 4", sends)
	}
}

// TestPermissionsPerFunction checks that each function's role holds exactly the
// services it calls, and the data-plane actions it needs of them.
func TestPermissionsPerFunction(t *testing.T) {
	s := defaultStack(t)
	tests := []struct {
		fn      function
		want    []string // actions that must be granted
		notWant []string // actions that must not
	}{
		{apiFunction,
			[]string{"dynamodb:Query", "dynamodb:PutItem", "secretsmanager:GetSecretValue", "ses:SendEmail", "sqs:SendMessage"},
			[]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "dynamodb:Scan"}},
		{logstreamFunction,
			// An fi event reissues an organization invitation and emails the new link.
			// Its writes are transactions of Puts and Deletes: no UpdateItem.
			[]string{"dynamodb:BatchGetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue", "ses:SendEmail"},
			[]string{"sqs:SendMessage", "sqs:ReceiveMessage", "dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}},
		{sweeperFunction,
			// Retries and reminders are found on the table's due and reminder indexes;
			// a batch its api request left unqueued is queued again.
			[]string{"dynamodb:Query", "dynamodb:PutItem", "secretsmanager:GetSecretValue", "ses:SendEmail", "sqs:SendMessage"},
			[]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "dynamodb:Scan", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"}},
		{workerFunction,
			// It reads its item and invitation by key and never lists.
			[]string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue", "ses:SendEmail",
				"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"},
			[]string{"sqs:SendMessage", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"}},
		{publisherFunction,
			// The stream, the feed and endpoints, its delivery queue; never email.
			[]string{"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:Query", "dynamodb:PutItem",
				"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"},
			[]string{"ses:SendEmail", "dynamodb:Scan", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}},
	}
	for _, tt := range tests {
		t.Run(tt.fn.name, func(t *testing.T) {
			fn := s.one(t, "AWS::Lambda::Function", exportName(tt.fn.name)+"Function")
			role := ref(fn.props["Role"])
			granted := map[string]bool{}
			for _, st := range statements(s) {
				if st.role == role {
					for _, a := range st.actions {
						granted[a] = true
					}
				}
			}
			for _, a := range tt.want {
				if !granted[a] {
					t.Errorf("got no %s, want it granted", a)
				}
			}
			for _, a := range tt.notWant {
				if granted[a] {
					t.Errorf("got %s, want it not granted", a)
				}
			}
		})
	}
	// The webhook token is the log stream's alone.
	token := s.one(t, "AWS::SecretsManager::Secret", "WebhookToken").id
	for _, st := range statements(s) {
		for _, r := range st.resources {
			if strings.Contains(r, `"`+token+`"`) && !strings.HasPrefix(st.role, "LogstreamFunction") {
				t.Errorf("%s reads the webhook token", st.role)
			}
		}
	}
	// Only the api and the sweeper send to the worker's queue (never straight to the
	// DLQ); the api (replays) and the publisher to the delivery queue, and the
	// publisher to the delivery DLQ, its stream's failure destination.
	queue := s.one(t, "AWS::SQS::Queue", "WorkerQueue").id
	deliveries := s.one(t, "AWS::SQS::Queue", "DeliveryQueue").id
	deliveryDLQ := s.one(t, "AWS::SQS::Queue", "DeliveryDLQ").id
	mayReach := map[string][]string{"Api": {queue, deliveries}, "Sweeper": {queue}, "Publisher": {deliveries, deliveryDLQ}}
	senders := map[string]bool{}
	for _, st := range statements(s) {
		if !slices.Contains(st.actions, "sqs:SendMessage") {
			continue
		}
		fn, _, _ := strings.Cut(st.role, "Function")
		senders[fn] = true
		allowed, ok := mayReach[fn]
		if !ok {
			t.Errorf("%s may send to a queue", st.role)
		}
		if len(st.resources) != 1 || !slices.ContainsFunc(allowed, func(q string) bool { return strings.Contains(st.resources[0], `"`+q+`"`) }) {
			t.Errorf("%s: sqs:SendMessage on %v, want only %v", st.policy, st.resources, allowed)
		}
	}
	if !senders["Api"] || !senders["Sweeper"] {
		t.Errorf("functions that may send: %v, want Api and Sweeper", senders)
	}
}

func TestDynamoDBOnlyOnTableAndIndexes(t *testing.T) {
	s := defaultStack(t)
	table := s.one(t, "AWS::DynamoDB::Table", "Table")
	allowed := map[string]bool{str(map[string]any{"Fn::GetAtt": []string{table.id, "Arn"}}): true}
	for _, name := range indexNames(dynamo.Schema()) {
		allowed[str(map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Fn::GetAtt": []string{table.id, "Arn"}}, "/index/" + name}}})] = true
	}
	var seen int
	for _, st := range statements(s) {
		if !slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
			continue
		}
		if isStreamStatement(st) {
			continue // the publisher's event source: the table's stream (TestStreamRead)
		}
		seen++
		if len(st.resources) != len(allowed) {
			t.Errorf("%s: got %d resources, want the table and its %d indexes", st.policy, len(st.resources), len(allowed)-1)
		}
		for _, r := range st.resources {
			if !allowed[r] {
				t.Errorf("%s: dynamodb actions on %s, want only the table and its indexes", st.policy, r)
			}
		}
	}
	if seen != len(functions) {
		t.Errorf("dynamodb statements: got %d, want one per function", seen)
	}
}

// isStreamStatement reports whether st grants reading the table's stream only.
func isStreamStatement(st statement) bool {
	for _, a := range st.actions {
		if !streamActions[a] {
			return false
		}
	}
	return true
}

// streamActions are what Lambda's event source needs to read the stream; ListStreams
// has no resource-level permission.
var streamActions = map[string]bool{"dynamodb:DescribeStream": true, "dynamodb:GetRecords": true,
	"dynamodb:GetShardIterator": true, "dynamodb:ListStreams": true}

// TestStreamRead: the publisher alone reads the stream, on the stream's ARN (only
// ListStreams, which names no resource, on "*"), from its start, retrying a batch
// until it succeeds or outlives the stream, whose records then go to the DLQ.
func TestStreamRead(t *testing.T) {
	s := defaultStack(t)
	table := s.one(t, "AWS::DynamoDB::Table", "Table")
	if got := str(table.props["StreamSpecification"]); got != `{"StreamViewType":"NEW_AND_OLD_IMAGES"}` {
		t.Errorf("stream: got %s, want NEW_AND_OLD_IMAGES", got)
	}
	for _, st := range statements(s) {
		if !isStreamStatement(st) {
			continue
		}
		if !strings.HasPrefix(st.role, "PublisherFunction") {
			t.Errorf("%s reads the stream", st.role)
		}
		for _, r := range st.resources {
			if r != `"*"` && !strings.Contains(r, "StreamArn") {
				t.Errorf("%s: stream actions on %s", st.policy, r)
			}
			if r == `"*"` && (len(st.actions) != 1 || st.actions[0] != "dynamodb:ListStreams") {
				t.Errorf("%s: %v on *, want only dynamodb:ListStreams", st.policy, st.actions)
			}
		}
	}
	var stream map[string]any
	for _, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		if strings.Contains(str(m.props["EventSourceArn"]), "StreamArn") {
			stream = m.props
		}
	}
	if stream == nil {
		t.Fatal("no event source mapping on the stream")
	}
	for k, want := range map[string]string{"StartingPosition": `"TRIM_HORIZON"`, "MaximumRetryAttempts": "-1", "BisectBatchOnFunctionError": "true"} {
		if got := str(stream[k]); got != want {
			t.Errorf("stream mapping %s: got %s, want %s", k, got, want)
		}
	}
	if got := str(stream["DestinationConfig"]); !strings.Contains(got, "DeliveryDLQ") {
		t.Errorf("stream mapping failure destination: got %s, want the delivery DLQ", got)
	}
	for _, q := range s.resources("AWS::SQS::Queue") {
		if q.id == s.one(t, "AWS::SQS::Queue", "DeliveryQueue").id {
			if q.props["FifoQueue"] != true || !strings.Contains(str(q.props["RedrivePolicy"]), `"maxReceiveCount":8`) {
				t.Errorf("delivery queue %s, want FIFO with maxReceiveCount 8 (events.MaxAttempts)", str(q.props))
			}
		}
	}
}

func TestNoWildcardOnDataPlane(t *testing.T) {
	for _, variant := range []struct {
		name string
		s    func(t *testing.T) synthesized
	}{
		{"default", defaultStack},
		{"tracing and alarm topic", func(t *testing.T) synthesized {
			return synthesize(t, testConfig(t, mapContext{ctxTracing: "true", ctxAlarmEmail: "ops@example.com"}))
		}},
	} {
		t.Run(variant.name, func(t *testing.T) {
			sts := statements(variant.s(t))
			if len(sts) == 0 {
				t.Fatal("found no IAM statements; the walk would check nothing")
			}
			for _, problem := range wildcardProblems(sts) {
				t.Error(problem)
			}
		})
	}
}

// TestWildcardWalkerCatches proves the walk fails where it should.
func TestWildcardWalkerCatches(t *testing.T) {
	tests := []struct {
		name      string
		statement statement
		problems  int
	}{
		{"star on dynamodb", statement{policy: "P", actions: []string{"dynamodb:GetItem"}, resources: []string{`"*"`}}, 1},
		{"star inside an ARN", statement{policy: "P", actions: []string{"sqs:SendMessage"}, resources: []string{`"arn:aws:sqs:eu-west-1:1:*"`}}, 1},
		{"service wildcard action", statement{policy: "P", actions: []string{"ses:*"}, resources: []string{`"arn:aws:ses:eu-west-1:1:identity/x"`}}, 1},
		{"x-ray needs star", statement{policy: "P", actions: []string{"xray:PutTraceSegments"}, resources: []string{`"*"`}}, 0},
		{"named resource", statement{policy: "P", actions: []string{"dynamodb:GetItem"}, resources: []string{`{"Fn::GetAtt":["Table","Arn"]}`}}, 0},
		{"secret suffix pattern", statement{policy: "P", actions: []string{"secretsmanager:GetSecretValue"}, resources: []string{`"arn:aws:secretsmanager:r:1:secret:name-??????"`}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wildcardProblems([]statement{tt.statement}); len(got) != tt.problems {
				t.Errorf("got %d problems %v, want %d", len(got), got, tt.problems)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	s := defaultStack(t)
	outputs, _ := s.json["Outputs"].(map[string]any)
	for _, name := range []string{"ApiUrl", "PublicBaseUrl", "WebhookUrl", "WebhookTokenSecretArn", "TableName",
		"Auth0LogStreamEndpoint", "Auth0LogStreamAuthorization", "Auth0LoginApplication", "Auth0AllowedCallbackUrls", "Auth0JwtIssuer"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("output %s missing; outputs: %v", name, keys(outputs))
		}
	}
	value := func(name string) string { return str(outputs[name].(map[string]any)["Value"]) }
	description := func(name string) string { return outputs[name].(map[string]any)["Description"].(string) }
	if got := value("WebhookUrl"); !strings.Contains(got, webhookPath) {
		t.Errorf("WebhookUrl: got %s, want it to end in %s", got, webhookPath)
	}
	if got := value("Auth0LogStreamAuthorization"); !strings.HasPrefix(got, `"Bearer `) {
		t.Errorf("Auth0LogStreamAuthorization: got %s, want the Bearer form", got)
	}
	if got := value("Auth0JwtIssuer"); got != `"https://example.eu.auth0.com/"` {
		t.Errorf("Auth0JwtIssuer: got %s, want https://example.eu.auth0.com/", got)
	}
	// The application invitees sign in to, and the two settings of it the landing
	// page's Continue depends on.
	if got := value("Auth0LoginApplication"); got != `"login-client-id"` {
		t.Errorf("Auth0LoginApplication: got %s, want the login client id", got)
	}
	for _, want := range []string{"Application Login URI", "Allowed Callback URLs", "Auth0AllowedCallbackUrls"} {
		if got := description("Auth0LoginApplication"); !strings.Contains(got, want) {
			t.Errorf("Auth0LoginApplication description: got %q, want it to name %s", got, want)
		}
	}
	if got := description("Auth0AllowedCallbackUrls"); !strings.Contains(got, "Allowed Callback URLs") {
		t.Errorf("Auth0AllowedCallbackUrls description: got %q, want it to name the Auth0 field", got)
	}
	for _, o := range outputs {
		if d := o.(map[string]any)["Description"].(string); len(d) > 1024 {
			t.Errorf("description of %d characters, CloudFormation takes 1024: %q", len(d), d)
		}
	}

	tests := []struct {
		name, allowlist string
		want            string // "" for no output
	}{
		{"one prefix", "https://app.example.com/welcome", `"https://app.example.com/welcome"`},
		{"origins and prefixes, in Auth0's comma-separated form", "https://app.example.com, https://admin.example.com/invited",
			`"https://app.example.com, https://admin.example.com/invited"`},
		{"none: redirect_url is refused, nothing to add", "", ""},
	}
	for _, tt := range tests {
		t.Run("Auth0AllowedCallbackUrls/"+tt.name, func(t *testing.T) {
			s := s
			if tt.allowlist != baseContext()[ctxRedirectAllowlist] {
				s = synthesize(t, testConfig(t, mapContext{ctxRedirectAllowlist: tt.allowlist}))
			}
			out, ok := s.json["Outputs"].(map[string]any)["Auth0AllowedCallbackUrls"].(map[string]any)
			switch {
			case tt.want == "" && ok:
				t.Errorf("got %s, want no output", str(out["Value"]))
			case tt.want != "" && !ok:
				t.Errorf("got no output, want %s", tt.want)
			case ok && str(out["Value"]) != tt.want:
				t.Errorf("got %s, want %s", str(out["Value"]), tt.want)
			}
		})
	}

	// A custom domain replaces the execute-api URL wherever Auth0 or invitees see it.
	custom := synthesize(t, testConfig(t, mapContext{ctxPublicBaseURL: "https://invite.example.com"}))
	outputs, _ = custom.json["Outputs"].(map[string]any)
	if got := value("WebhookUrl"); got != `"https://invite.example.com/webhooks/auth0/logs"` {
		t.Errorf("WebhookUrl with a custom domain: got %s", got)
	}
	api := custom.one(t, "AWS::Lambda::Function", "ApiFunction")
	if got := api.props["Environment"].(map[string]any)["Variables"].(map[string]any)["PUBLIC_BASE_URL"]; got != "https://invite.example.com" {
		t.Errorf("PUBLIC_BASE_URL: got %v, want https://invite.example.com", got)
	}
}

func TestAlarms(t *testing.T) {
	s := defaultStack(t)
	byID := map[string]resource{}
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		byID[a.id] = a
	}
	find := func(prefix string) (resource, bool) {
		for id, a := range byID {
			if strings.HasPrefix(id, prefix) {
				return a, true
			}
		}
		return resource{}, false
	}
	tests := []struct {
		prefix, metric string
	}{
		{"ApiErrors", "Errors"}, {"ApiThrottles", "Throttles"},
		{"LogstreamErrors", "Errors"}, {"LogstreamThrottles", "Throttles"},
		{"SweeperErrors", "Errors"}, {"SweeperThrottles", "Throttles"},
		{"WorkerErrors", "Errors"}, {"WorkerThrottles", "Throttles"},
		{"WorkerDLQDepth", "ApproximateNumberOfMessagesVisible"},
		{"WorkerQueueAge", "ApproximateAgeOfOldestMessage"},
		{"Api5xxRate", ""},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			a, ok := find(tt.prefix)
			if !ok {
				t.Fatalf("alarm missing; alarms: %v", keys(byID))
			}
			if tt.metric != "" && a.props["MetricName"] != tt.metric {
				t.Errorf("metric: got %v, want %s", a.props["MetricName"], tt.metric)
			}
			if _, ok := a.props["AlarmActions"]; ok {
				t.Errorf("actions: got %s, want none without a topic", str(a.props["AlarmActions"]))
			}
		})
	}
	rate, _ := find("Api5xxRate")
	if got := str(rate.props["Metrics"]); !strings.Contains(got, "5xx") || !strings.Contains(got, "FILL(errors, 0) / requests") {
		t.Errorf("5xx rate expression: got %s", got)
	}
	if got := rate.props["Threshold"]; got != 5.0 {
		t.Errorf("5xx threshold: got %v, want 5", got)
	}
	age, _ := find("WorkerQueueAge")
	if got := age.props["Threshold"]; got != 900.0 {
		t.Errorf("queue age threshold: got %v, want 900 s", got)
	}
}

func TestMissingAssets(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "api", "bootstrap"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := CheckAssets(dir)
	if err == nil {
		t.Fatal("got no error, want the missing binaries named")
	}
	for _, want := range []string{"run make build first", filepath.Join(dir, "worker", "bootstrap"), filepath.Join(dir, "sweeper", "bootstrap")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got %q, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), filepath.Join(dir, "api", "bootstrap")) {
		t.Errorf("got %q, which names the api binary that exists", err)
	}
	cfg := testConfig(t, nil)
	cfg.AssetDir = dir
	if _, err := NewDoormanStack(newApp(t), "Doorman-test", &DoormanStackProps{Config: cfg}); err == nil || !strings.Contains(err.Error(), "run make build first") {
		t.Errorf("NewDoormanStack: got %v, want the missing-binary error", err)
	}
	if err := CheckAssets(testAssets(t)); err != nil {
		t.Errorf("complete assets: got %v, want no error", err)
	}
}

// TestOptionalFunctionSettings: settings the functions default are passed only when
// given, to every function.
func TestOptionalFunctionSettings(t *testing.T) {
	set := map[string]struct{ key, value string }{
		"APPLICATION_NAME":       {ctxApplicationName, "Acme Console"},
		"APPLICATION_URL":        {ctxApplicationURL, "https://app.example.com"},
		"INVITES_PER_HOUR":       {ctxInvitesPerHour, "0"},
		"AUTH0_RATE_LIMIT":       {ctxAuth0RateLimit, "15"},
		"REMINDER_BEFORE":        {ctxReminderBefore, "24h"},
		"EXPIRED_USER_POLICY":    {ctxExpiredUserPolicy, "block"},
		"GRANTABLE_ROLES":        {ctxGrantableRoles, "member,rol_Ab12Cd34Ef56Gh78"},
		"APP_METADATA_KEYS":      {ctxAppMetadataKeys, "plan"},
		"ALLOWED_CONNECTIONS":    {ctxAllowedConnections, "google-oauth2"},
		"ALLOWED_CLIENT_IDS":     {ctxAllowedClientIDs, "spa-client"},
		"VERIFY_DISCLOSED_LINKS": {ctxVerifyDisclosed, "true"},
		"JOIN_POLICY":            {ctxJoinPolicy, "auto_approve"},
		"JOIN_ROLES":             {ctxJoinRoles, "rol_Ab12Cd34Ef56Gh78"},
		"JOIN_PER_SOURCE_MINUTE": {ctxJoinPerSourceMinute, "50"},
		"JOIN_MAILS_PER_DAY":     {ctxJoinMailsPerDay, "2"},
	}
	ctx := mapContext{}
	for _, s := range set {
		ctx[s.key] = s.value
	}
	withSettings := synthesize(t, testConfig(t, ctx))
	for _, fn := range functions {
		id := exportName(fn.name) + "Function"
		given := withSettings.one(t, "AWS::Lambda::Function", id).props["Environment"].(map[string]any)["Variables"].(map[string]any)
		unset := defaultStack(t).one(t, "AWS::Lambda::Function", id).props["Environment"].(map[string]any)["Variables"].(map[string]any)
		for name, s := range set {
			if got := given[name]; got != s.value {
				t.Errorf("%s %s: got %v, want %s", fn.name, name, got, s.value)
			}
			if got, ok := unset[name]; ok {
				t.Errorf("%s %s without %s: got %v, want it unset (the function's default)", fn.name, name, s.key, got)
			}
		}
	}
}

// TestFunctionsWouldRefuse: the stack runs the functions' own loader on each
// function's environment; a setting a function would refuse at every cold start stops
// the synth, naming the variable and the context key.
func TestFunctionsWouldRefuse(t *testing.T) {
	tests := []struct {
		name string
		set  mapContext
		want []string
	}{
		{"redirect wildcard", mapContext{ctxRedirectAllowlist: "https://*.example.com"},
			[]string{"REDIRECT_ALLOWLIST (context redirectAllowlist):", "has a wildcard"}},
		{"redirect over http", mapContext{ctxRedirectAllowlist: "https://ok.example.com,http://app.example.com/welcome"},
			[]string{"REDIRECT_ALLOWLIST (context redirectAllowlist):", "http://app.example.com/welcome"}},
		{"redirect with a query", mapContext{ctxRedirectAllowlist: "https://app.example.com/welcome?x=1"},
			[]string{"must have no credentials, query or fragment"}},
		{"application URL over http", mapContext{ctxApplicationURL: "http://app.example.com"},
			[]string{"APPLICATION_URL (context applicationUrl):"}},
		{"rate limit out of range", mapContext{ctxAuth0RateLimit: "5000"},
			[]string{"AUTH0_RATE_LIMIT (context auth0RateLimit):"}},
		{"cap not a number", mapContext{ctxInvitesPerHour: "many"},
			[]string{"INVITES_PER_HOUR (context invitesPerHour):"}},
		{"reminder lead not a duration", mapContext{ctxReminderBefore: "two days"},
			[]string{"REMINDER_BEFORE (context reminderBefore):"}},
		{"unknown user policy", mapContext{ctxExpiredUserPolicy: "archive"},
			[]string{"EXPIRED_USER_POLICY (context expiredUserPolicy):"}},
		{"role listed twice", mapContext{ctxGrantableRoles: "member,member"},
			[]string{"GRANTABLE_ROLES (context grantableRoles):"}},
		{"metadata key with a dot", mapContext{ctxAppMetadataKeys: "plan.tier"},
			[]string{"APP_METADATA_KEYS (context appMetadataKeys):"}},
		{"connection with a space", mapContext{ctxAllowedConnections: "google oauth2"},
			[]string{"ALLOWED_CONNECTIONS (context allowedConnections):"}},
		{"client id with a space", mapContext{ctxAllowedClientIDs: "spa client"},
			[]string{"ALLOWED_CLIENT_IDS (context allowedClientIds):"}},
		{"disclosed links not a bool", mapContext{ctxVerifyDisclosed: "maybe"},
			[]string{"VERIFY_DISCLOSED_LINKS (context verifyDisclosedLinks):"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDoormanStack(newApp(t), "Doorman-test", &DoormanStackProps{Config: testConfig(t, tt.set)})
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			for _, w := range append([]string{"would refuse to start"}, tt.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestStackRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no Auth0 domain", func(c *Config) { c.Auth0Domain = "" }, "auth0Domain is required"},
		{"no SES identity", func(c *Config) { c.SESIdentity = "" }, "sesIdentity is required"},
		{"no sweep rate", func(c *Config) { c.SweepRate = 0 }, "sweepRateMinutes must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, nil)
			tt.change(&cfg)
			_, err := NewDoormanStack(newApp(t), "Doorman-test", &DoormanStackProps{Config: cfg})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestDeadLetterAlarm: the logstream's dead-lettered events are counted from its log
// lines and alarmed on.
func TestDeadLetterAlarm(t *testing.T) {
	s := defaultStack(t)
	hasProps(t, s, "AWS::Logs::MetricFilter", map[string]any{
		"FilterPattern":         `{ $.msg = "log event dead-lettered" }`,
		"MetricTransformations": []any{map[string]any{"MetricNamespace": "Doorman", "MetricName": "DeadLetters", "MetricValue": "1"}},
	})
	hasProps(t, s, "AWS::CloudWatch::Alarm", map[string]any{
		"MetricName": "DeadLetters", "Namespace": "Doorman", "Threshold": 1,
	})
}
