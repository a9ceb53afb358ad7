package main

import "github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"

// The join flows' public routes (DESIGN.md "Join flows"), each with the join budget.
const (
	accessRequestsPath = "/v1/access-requests"
	joinPagePath       = "/join"
	verifyPath         = "/r/{token}"
	inviteLinkPath     = "/j/{token}"
)

// joinRoutes adds the public join routes through public. POST /v1/access-requests
// has no path variable, so it outranks the greedy /v1 route for POST only: the
// reviewers' GET /v1/access-requests stays behind the authorizer.
func (b *builder) joinRoutes(public func(path, reason string, methods ...awsapigatewayv2.HttpMethod)) {
	get, post := awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST
	public(accessRequestsPath, "Asking for access is public by design: the requester has no account. The function answers 202 "+
		"whatever the address, caps each source and address, and the request reaches reviewers only once the address is proven.", post)
	public(joinPagePath, "Doorman's own request page is public by design, as POST /v1/access-requests is.", get, post)
	public(verifyPath, "The emailed verification link is public by design; its 256-bit token is the credential, "+
		"checked against its stored hash, and only a POST acts.", get, post)
	public(inviteLinkPath, "A shareable invite link is public by design; its 256-bit token is the credential, checked against "+
		"its stored hash, and uses are capped by a conditional counter.", get, post)
}
