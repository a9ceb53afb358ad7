package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// TestAwsSolutionsChecks applies cdk-nag's AwsSolutions pack to the stack in its
// fullest shape (tracing and an alarm topic on): every finding must be fixed or
// suppressed with a reason.
func TestAwsSolutionsChecks(t *testing.T) {
	tests := []struct {
		name string
		set  mapContext
	}{
		{"default", nil},
		{"tracing and alarm topic", mapContext{ctxTracing: "true", ctxAlarmEmail: "ops@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp(t)
			awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
			stack, err := NewDoormanStack(app, "Doorman-nag", &DoormanStackProps{Config: testConfig(t, tt.set)})
			if err != nil {
				t.Fatalf("NewDoormanStack: %v", err)
			}
			annotations := assertions.Annotations_FromStack(stack)
			nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			for level, found := range map[string]*[]*cxapi.SynthesisMessage{
				"error":   annotations.FindError(jsii.String("*"), nag),
				"warning": annotations.FindWarning(jsii.String("*"), nag),
			} {
				for _, m := range *found {
					t.Errorf("unsuppressed cdk-nag %s at %s: %v", level, *m.Id, m.Entry.Data)
				}
			}
		})
	}
}

// TestNagSuppressionsHaveReasons reads every suppression the template carries and
// requires a reason that says why the finding is safe, not a placeholder.
func TestNagSuppressionsHaveReasons(t *testing.T) {
	s := synthesize(t, testConfig(t, mapContext{ctxTracing: "true", ctxAlarmEmail: "ops@example.com"}))
	all, _ := s.json["Resources"].(map[string]any)
	var count int
	for id, r := range all {
		meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
		nag, _ := meta["cdk_nag"].(map[string]any)
		for _, rule := range asSlice(nag["rules_to_suppress"]) {
			rule := rule.(map[string]any)
			count++
			reason, _ := rule["reason"].(string)
			words := len(strings.Fields(reason))
			if words < 12 {
				t.Errorf("%s suppresses %v with %q: got %d words, want a reason of at least 12", id, rule["id"], reason, words)
			}
			if !strings.HasPrefix(fmt.Sprint(rule["id"]), "AwsSolutions-") {
				t.Errorf("%s suppresses %v, which is not an AwsSolutions rule", id, rule["id"])
			}
		}
	}
	if count == 0 {
		t.Fatal("found no suppressions; the test would check nothing")
	}
	t.Logf("suppressions: %d", count)
}
