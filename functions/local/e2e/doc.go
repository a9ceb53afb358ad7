// Package e2e holds Doorman's end-to-end test in a real browser: it starts
// `functions/local serve` against the local stack, creates application and
// organization invitations through the API, has Chromium (driven by flow.mjs with
// playwright-core) read the emails and click through Doorman's and the Auth0
// stand-in's pages, and checks through the API and the Management API that the
// invitations were accepted as designed. Screenshots of every page land in
// test-output/e2e/.
package e2e
