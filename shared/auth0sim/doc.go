// Package auth0sim is Doorman's local stand-in for an Auth0 tenant, used by the tests of
// the Auth0 adapter and by `make dev` before an operator has a tenant. It serves the
// client-credentials token exchange, a JWKS and OpenID configuration, the subset of the
// Management API Doorman calls (users, users-by-email, user roles, roles, role users,
// user blocks, connections, password-change tickets, organizations with their
// invitations, members and member roles), rate limits it like a free tenant (token
// bucket, X-RateLimit-* headers, 429 "Global limit has been reached"), injects faults
// per route, serves plain-HTML password-change, login, signup and organization
// invitation pages, and posts tenant log events (s, fp, fu, ss, fs, scp, fi) to a
// webhook in Auth0's array, lines or object formats with at-least-once retries,
// optional duplicates and reordering. Bodies, status codes and error bodies follow the
// recordings of real Auth0 responses shipped in go-auth0 v1.49.0, which the contract
// tests replay. Known differences: Management API scopes are not enforced (every M2M
// token carries all of them); client_id values are not checked against a client
// registry; the error messages for an unknown role on assignment, mutually exclusive
// ticket parameters and payload type errors follow Auth0's documented wording where
// found and are otherwise modelled on it; the ticket URL uses New Universal Login's
// /u/reset-password path (as recorded) and /lo/reset is served as an alias, and a new ticket
// invalidates the user's earlier ones; the
// details of fi and scp log events are modelled on the documented ones, not copied.
package auth0sim
