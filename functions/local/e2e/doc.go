// Package e2e holds Doorman's end-to-end test in a real browser: it starts
// `functions/local serve` against the local stack, beside a stand-in for the
// operator's application (APPLICATION_URL), creates application and organization
// invitations through the API (and, for the existing-account flows, the accounts
// through the Auth0 stand-in's Management API beforehand), has Chromium (driven by
// flow.mjs with playwright-core) read the emails and click through Doorman's, the
// Auth0 stand-in's and the application's pages, and checks through the API and the
// Management API that the invitations were accepted, and the roles granted, as
// designed, and that an inviter is refused a role it does not hold. Screenshots of
// every page land in test-output/e2e/.
package e2e
