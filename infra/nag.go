package main

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppressNag records, on the resource itself, why a cdk-nag finding is accepted. The
// reason is kept in the template's metadata, where a reviewer reads it next to the
// resource it excuses.
func suppressNag(c constructs.IConstruct, rule, reason string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String(rule), Reason: jsii.String(reason)},
	}, jsii.Bool(true))
}

// suppressNagWithin is suppressNag narrowed to the findings listed in appliesTo
// (e.g. "Resource::*"), so that a new, different finding of the same rule still fails.
func suppressNagWithin(c constructs.IConstruct, rule string, appliesTo []string, reason string) {
	applies := make([]interface{}, 0, len(appliesTo))
	for _, a := range appliesTo {
		applies = append(applies, a)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String(rule), Reason: jsii.String(reason), AppliesTo: &applies},
	}, jsii.Bool(true))
}
