package app

import (
	"context"
	"strings"
	"testing"
)

func TestLambdaAWSConfig(t *testing.T) {
	env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session"}
	cfg, err := LambdaAWSConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("LambdaAWSConfig: %v", err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region = %q, want eu-west-1", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIDEXAMPLE" || creds.SecretAccessKey != "secret" || creds.SessionToken != "session" {
		t.Errorf("credentials = %+v, want the environment's", creds)
	}

	delete(env, "AWS_REGION")
	delete(env, "AWS_SECRET_ACCESS_KEY")
	_, err = LambdaAWSConfig(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Errorf("got %v, want an error naming AWS_REGION and AWS_SECRET_ACCESS_KEY", err)
	}
}
