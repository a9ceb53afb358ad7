// Package auth0 connects Doorman to Auth0: Identity implements invite.Identity on the
// Management API through go-auth0 (users, roles, password-change tickets, organization
// invitations and memberships, with Auth0's errors mapped to invite error codes);
// Limiter paces a process's Management API calls to the tenant's rate limit, which it
// learns from the answers' headers; and Decode reads the batches an Auth0
// custom-webhook log stream posts, in each of its content formats, into LogEvents,
// cheaply skipping the event types Doorman ignores.
package auth0
