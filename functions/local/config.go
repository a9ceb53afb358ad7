package main

import (
	"fmt"
	"net"
	"net/url"
)

// config is functions/local's environment, validated once at start.
type config struct {
	TableName      string
	DynamoEndpoint string
	SESEndpoint    string
	Region         string
	ListenAddr     string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		TableName:      or(getenv("TABLE_NAME"), "doorman-local"),
		DynamoEndpoint: or(getenv("DYNAMODB_ENDPOINT"), "http://127.0.0.1:8000"),
		SESEndpoint:    or(getenv("SES_ENDPOINT"), "http://127.0.0.1:8005"),
		Region:         or(getenv("AWS_REGION"), "us-east-1"),
		ListenAddr:     or(getenv("LISTEN_ADDR"), "127.0.0.1:8080"),
	}
	for name, v := range map[string]string{"DYNAMODB_ENDPOINT": c.DynamoEndpoint, "SES_ENDPOINT": c.SESEndpoint} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return config{}, fmt.Errorf("%s=%q is not an http(s) URL", name, v)
		}
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		return config{}, fmt.Errorf("LISTEN_ADDR=%q: %v", c.ListenAddr, err)
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
