package main

import (
	"slices"
	"strings"
	"testing"
)

// TestSESEventsPath: the configuration set publishes every event that says what became
// of an email to an encrypted topic SES alone may publish to, which delivers each
// record as is to the sesevents function's queue (dead-lettered after
// queueMaxReceives), read with partial batch failures.
func TestSESEventsPath(t *testing.T) {
	s := defaultStack(t)
	dest := s.one(t, "AWS::SES::ConfigurationSetEventDestination", "MailSesEvents")
	ed := dest.props["EventDestination"].(map[string]any)
	topic := s.one(t, "AWS::SNS::Topic", "SesEventsTopic")
	if got := ref(ed["SnsDestination"].(map[string]any)["TopicARN"]); got != topic.id {
		t.Errorf("event destination topic %v, want %s", ed["SnsDestination"], topic.id)
	}
	if ed["Enabled"] != true {
		t.Errorf("event destination enabled %v, want true", ed["Enabled"])
	}
	var types []string
	for _, e := range ed["MatchingEventTypes"].([]any) {
		types = append(types, e.(string))
	}
	slices.Sort(types)
	want := []string{"bounce", "complaint", "delivery", "deliveryDelay", "reject", "renderingFailure", "subscription"}
	if !slices.Equal(types, want) {
		t.Errorf("event types %v, want %v", types, want)
	}
	if topic.props["KmsMasterKeyId"] == nil {
		t.Error("the topic is not encrypted")
	}

	var publish int
	for _, p := range s.resources("AWS::SNS::TopicPolicy") {
		for _, st := range p.props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			if st["Effect"] != "Allow" || !slices.Contains(strings1(st["Action"]), "sns:Publish") {
				continue
			}
			publish++
			if got := str(st["Principal"]); got != `{"Service":"ses.amazonaws.com"}` {
				t.Errorf("sns:Publish allowed to %s, want SES only", got)
			}
			if c := strings.ToLower(str(st["Condition"])); !strings.Contains(c, "aws:sourceaccount") || !strings.Contains(c, "configuration-set/") {
				t.Errorf("SES may publish without this account's configuration set as the source: %s", str(st["Condition"]))
			}
		}
	}
	if publish != 1 {
		t.Errorf("%d statements allow sns:Publish, want 1 (SES)", publish)
	}

	queue := s.one(t, "AWS::SQS::Queue", "SesEventsQueue")
	sub := s.one(t, "AWS::SNS::Subscription", "SesEventsQueue")
	if sub.props["Protocol"] != "sqs" || sub.props["RawMessageDelivery"] != true || ref(sub.props["TopicArn"]) != topic.id {
		t.Errorf("subscription %v, want the queue, raw message delivery, from %s", sub.props, topic.id)
	}
	if got := str(queue.props["RedrivePolicy"]); !strings.Contains(got, `"maxReceiveCount":5`) || !strings.Contains(got, "SesEventsDLQ") {
		t.Errorf("redrive policy %s, want SesEventsDLQ after 5 receives", got)
	}
	fn := s.one(t, "AWS::Lambda::Function", "SeseventsFunction")
	var mapping resource
	for _, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		if ref(m.props["FunctionName"]) == fn.id {
			mapping = m
		}
	}
	if !strings.Contains(str(mapping.props["EventSourceArn"]), queue.id) || !strings.Contains(str(mapping.props["FunctionResponseTypes"]), "ReportBatchItemFailures") {
		t.Errorf("event source %v, want %s with partial batch failures", mapping.props, queue.id)
	}
	s.one(t, "AWS::CloudWatch::Alarm", "SesEventsDLQDepth")
}

// TestSESEventsRoleAndEnvironment: the sesevents function may read no secret and send
// no email, and is not told the Auth0 client's settings; its table actions are held
// to its measure by TestTableActionsPerFunction.
func TestSESEventsRoleAndEnvironment(t *testing.T) {
	s := defaultStack(t)
	fn := s.one(t, "AWS::Lambda::Function", "SeseventsFunction")
	role := ref(fn.props["Role"])
	var actions []string
	for _, st := range statements(s) {
		if st.role == role {
			actions = append(actions, st.actions...)
		}
	}
	for _, a := range actions {
		if strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "ses:") || strings.HasPrefix(a, "sqs:Send") {
			t.Errorf("the sesevents role may %s", a)
		}
	}
	if !slices.Contains(actions, "sqs:ReceiveMessage") || !slices.Contains(actions, "sqs:DeleteMessage") {
		t.Errorf("the sesevents role lacks its queue's ReceiveMessage and DeleteMessage: %v", actions)
	}
	env := fn.props["Environment"].(map[string]any)["Variables"].(map[string]any)
	for k := range env {
		if auth0Client[k] {
			t.Errorf("the sesevents function is given %s", k)
		}
	}
	for _, k := range []string{"TABLE_NAME", "MAIL_FROM", "PUBLIC_BASE_URL"} {
		if _, ok := env[k]; !ok {
			t.Errorf("the sesevents function lacks %s", k)
		}
	}
}

// TestPublisherRole: the publisher calls neither Auth0 nor SES, so its role may read no
// secret and send no email; it sends deliveries to its queue and reads the stream.
func TestPublisherRole(t *testing.T) {
	s := defaultStack(t)
	fn := s.one(t, "AWS::Lambda::Function", "PublisherFunction")
	role := ref(fn.props["Role"])
	var actions []string
	for _, st := range statements(s) {
		if st.role == role {
			actions = append(actions, st.actions...)
		}
	}
	for _, a := range actions {
		if strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "ses:") {
			t.Errorf("the publisher role may %s", a)
		}
	}
	for _, want := range []string{"sqs:SendMessage", "dynamodb:GetRecords"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the publisher role lacks %s: %v", want, actions)
		}
	}
}
