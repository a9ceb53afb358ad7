// Command echo is a Lambda function for the harness's own tests: it answers with what
// it was given and what the runtime told it, and misbehaves on request.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Say   string `json:"say"`
	Fail  string `json:"fail"`
	Panic bool   `json:"panic"`
	Exit  bool   `json:"exit"`
	Grow  int    `json:"grow_mb"`
}

type reply struct {
	Say          string `json:"say"`
	RequestID    string `json:"request_id"`
	FunctionARN  string `json:"function_arn"`
	HasDeadline  bool   `json:"has_deadline"`
	FunctionName string `json:"function_name"`
	Memory       string `json:"memory"`
	Custom       string `json:"custom"`
}

var ballast [][]byte

func handle(ctx context.Context, req request) (reply, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	switch {
	case req.Fail != "":
		return reply{}, errors.New(req.Fail)
	case req.Panic:
		panic("asked to panic")
	case req.Exit:
		os.Exit(3)
	case req.Grow > 0:
		b := bytes.Repeat([]byte{1}, req.Grow<<20)
		ballast = append(ballast, b)
	}
	_, ok := ctx.Deadline()
	fmt.Fprintln(os.Stderr, "echo: handled", lc.AwsRequestID)
	return reply{
		Say: req.Say, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn, HasDeadline: ok,
		FunctionName: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), Memory: os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
		Custom: os.Getenv("ECHO_CUSTOM"),
	}, nil
}

func main() {
	if msg := os.Getenv("ECHO_INIT_FAIL"); msg != "" {
		// What a custom runtime does when its initialization fails.
		body, _ := json.Marshal(map[string]string{"errorType": "Runtime.InitError", "errorMessage": msg})
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		if res, err := http.Post(url, "application/json", bytes.NewReader(body)); err == nil {
			res.Body.Close()
		}
		fmt.Fprintln(os.Stderr, "echo: init failed:", strings.TrimSpace(msg))
		os.Exit(1)
	}
	lambda.Start(handle)
}
