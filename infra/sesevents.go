package main

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// sesEventsFunction applies SES's sending events to invitations (delivery states):
// a batch of ten records, each a read and a write.
var sesEventsFunction = function{"sesevents", "Doorman delivery states from SES's events", 256, 30 * time.Second, false}

// withoutAuth0 are the functions that call neither Auth0 nor SES: no Auth0 setting in
// their environment, no Auth0 secret, no ses:SendEmail.
var withoutAuth0 = map[string]bool{sesEventsFunction.name: true, publisherFunction.name: true}

// auth0Client are the settings of the Management API client, which such a function
// is not given.
var auth0Client = map[string]bool{"AUTH0_DOMAIN": true, "AUTH0_CLIENT_ID": true, "AUTH0_CLIENT_SECRET_ARN": true,
	"AUTH0_CONNECTION": true, "AUTH0_CLIENT_ID_FOR_LOGIN": true}

// sesEventTypes are the events the configuration set publishes to Doorman: every one
// that says what became of an email (Send, Open and Click say nothing Doorman keeps).
var sesEventTypes = []awsses.EmailSendingEvent{
	awsses.EmailSendingEvent_DELIVERY, awsses.EmailSendingEvent_BOUNCE, awsses.EmailSendingEvent_COMPLAINT,
	awsses.EmailSendingEvent_REJECT, awsses.EmailSendingEvent_RENDERING_FAILURE, awsses.EmailSendingEvent_DELIVERY_DELAY,
	awsses.EmailSendingEvent_SUBSCRIPTION,
}

// sesEvents is the path of SES's sending events to the sesevents function: the
// configuration set's event destination, an SNS topic (encrypted with a key SES may
// use), which delivers each record as is (raw message delivery) to a queue the
// function reads with partial batch failures; a record still failing after
// queueMaxReceives receives goes to a dead-letter queue, which has an alarm.
func (b *builder) sesEvents() {
	key := awskms.NewKey(b.stack, jsii.String("SesEventsKey"), &awskms.KeyProps{
		Description:       jsii.String("Doorman: SES's sending events on their SNS topic"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     b.removal,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SesPublishes"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" is this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": b.stack.Account()}},
	}), nil)
	topic := awssns.NewTopic(b.stack, jsii.String("SesEventsTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Doorman SES sending events"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// The event destination grants SES sns:Publish on the topic for this account's
	// configuration set only (aws:SourceAccount, aws:SourceArn).
	b.configSet.AddEventDestination(jsii.String("SesEvents"), &awsses.ConfigurationSetEventDestinationOptions{
		ConfigurationSetEventDestinationName: jsii.String("doorman-ses-events"),
		Destination:                          awsses.EventDestination_SnsTopic(topic),
		Events:                               &sesEventTypes,
	})
	b.sesEventsDLQ = awssqs.NewQueue(b.stack, jsii.String("SesEventsDLQ"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   b.removal,
	})
	queue := awssqs.NewQueue(b.stack, jsii.String("SesEventsQueue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: seconds(queueVisibilityFactor * sesEventsFunction.timeout),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: b.sesEventsDLQ, MaxReceiveCount: jsii.Number(queueMaxReceives)},
		RemovalPolicy:     b.removal,
	})
	topic.AddSubscription(awssnssubscriptions.NewSqsSubscription(queue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
	}))
	b.sesEventsFn.AddEventSource(awslambdaeventsources.NewSqsEventSource(queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	b.sesEventsTopic = topic
}
