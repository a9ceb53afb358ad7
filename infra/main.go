// Command infra synthesizes Doorman's CloudFormation template with the AWS CDK: the
// DynamoDB table, the four Lambda functions, the HTTP API, the schedule, the queue, the
// secrets, the SES configuration set and the alarms. cdk.json runs it; its settings
// come from the CDK context (see README, "Deploying").
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	cfg, err := ConfigFromContext(app.Node())
	if err != nil {
		fail(err)
	}
	_, err = NewDoormanStack(app, "Doorman-"+cfg.Stage, &DoormanStackProps{
		StackProps: awscdk.StackProps{
			Env:         env(),
			Description: jsii.String("Doorman invitation service (" + cfg.Stage + ")"),
		},
		Config: cfg,
	})
	if err != nil {
		fail(err)
	}
	app.Synth(nil)
}

// env pins the stack to the account and region of the caller's credentials when the
// CDK CLI knows them, and leaves it environment-agnostic (offline synth) otherwise.
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	jsii.Close()
	os.Exit(1)
}
