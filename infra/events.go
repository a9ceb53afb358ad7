package main

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/doormanhq/doorman/shared/events"
)

// Events out: the table's stream feeds the publisher, which writes the feed and
// queues one delivery per subscribed endpoint on a FIFO queue (in order per endpoint
// and invitation, deduplicated on event and endpoint); the same function works that
// queue, and a delivery that failed every attempt of the schedule moves to its
// dead-letter queue.

// deliveryVisibility is the delivery queue's visibility timeout: six times the
// publisher's timeout, as for the worker's queue. A failed attempt sets its message's
// own visibility to the schedule's wait.
const deliveryVisibility = queueVisibilityFactor * 30

// eventQueues are the delivery queue and its dead-letter queue, both FIFO. Messages
// live 4 days (the schedule's last attempt comes 27.5 h after the first); dead
// letters 14.
func (b *builder) eventQueues() {
	b.deliveriesDLQ = awssqs.NewQueue(b.stack, jsii.String("DeliveryDLQ"), &awssqs.QueueProps{
		Fifo:            jsii.Bool(true),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   b.removal,
	})
	b.deliveries = awssqs.NewQueue(b.stack, jsii.String("DeliveryQueue"), &awssqs.QueueProps{
		Fifo:              jsii.Bool(true),
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(deliveryVisibility)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: b.deliveriesDLQ, MaxReceiveCount: jsii.Number(float64(events.MaxAttempts))},
		RemovalPolicy:     b.removal,
	})
}

// eventFunctions adds the publisher, told the delivery queue and the optional bus.
func (b *builder) eventFunctions() {
	env := map[string]*string{"DELIVERY_QUEUE_URL": b.deliveries.QueueUrl()}
	if b.cfg.EventBusName != "" {
		env["EVENT_BUS_NAME"] = jsii.String(b.cfg.EventBusName)
	}
	b.publisherFn = b.function(publisherFunction, env)
}

// eventPermissions: the publisher reads the stream from the start of what it keeps
// (a record is retried until it succeeds or leaves the stream after 24 h, so none is
// skipped; bisecting isolates a poisoned record, which the handler logs and skips), sends
// deliveries and works them; the api sends the deliveries of a replay.
func (b *builder) eventPermissions() {
	b.publisherFn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(b.dynamoTable, &awslambdaeventsources.DynamoEventSourceProps{
		StartingPosition:   awslambda.StartingPosition_TRIM_HORIZON,
		BatchSize:          jsii.Number(100),
		MaxBatchingWindow:  awscdk.Duration_Millis(jsii.Number(0)),
		BisectBatchOnError: jsii.Bool(true),
		RetryAttempts:      jsii.Number(-1),
		MaxRecordAge:       awscdk.Duration_Days(jsii.Number(1)),
		OnFailure:          awslambdaeventsources.NewSqsDlq(b.deliveriesDLQ),
	}))
	b.publisherFn.AddEventSource(awslambdaeventsources.NewSqsEventSource(b.deliveries, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	suppressNagWithin(b.publisherFn.Role(), "AwsSolutions-IAM5", []string{"Resource::*"},
		"dynamodb:ListStreams, which the stream event source needs, supports no resource-level permission; "+
			"it lists stream ARNs and reads no data.")
	// SendMessage also authorizes SendMessageBatch; ChangeMessageVisibility sets a
	// failed delivery's retry time.
	b.publisherFn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("QueueDeliveries"),
		Actions:   jsii.Strings("sqs:SendMessage", "sqs:ChangeMessageVisibility"),
		Resources: &[]*string{b.deliveries.QueueArn()},
	}))
	b.apiFn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("QueueReplays"),
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{b.deliveries.QueueArn()},
	}))
	if b.cfg.EventBusName != "" {
		bus := b.cfg.EventBusName
		if len(bus) < 4 || bus[:4] != "arn:" {
			bus = *b.stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("events"), Resource: jsii.String("event-bus"), ResourceName: jsii.String(bus)})
		}
		b.publisherFn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("PutEvents"),
			Actions:   jsii.Strings("events:PutEvents"),
			Resources: &[]*string{jsii.String(bus)},
		}))
	}
}

// eventAlarms: a delivery dead-lettered (or a stream batch that outlived the
// stream), and a publisher falling behind the stream.
func (b *builder) eventAlarms(alarm func(id, description string, metric awscloudwatch.IMetric, threshold float64), period awscdk.Duration) {
	maximum := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}
	alarm("DeliveryDLQDepth", "Doorman events: a webhook delivery failed every attempt for "+strconv.Itoa(events.MaxAttempts)+
		" attempts (27.5 h) and was dead-lettered, or a stream batch was never published", b.deliveriesDLQ.MetricApproximateNumberOfMessagesVisible(maximum), 1)
	alarm("PublisherIteratorAge", "Doorman events: the publisher is 5 minutes or more behind the table's stream",
		b.publisherFn.Metric(jsii.String("IteratorAge"), maximum), 5*60*1000)
}
