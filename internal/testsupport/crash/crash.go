// Package crash makes a worker die mid-item, for the tests that prove bulk work is
// exactly once in effect. Its wrappers of Doorman's ports stop the calling goroutine
// with a panic just before or just after a call, at random: "after" is the cruel case,
// where the call took effect (a user created in Auth0, an email accepted by SES) and
// the worker never learned it. inmem.Queue treats such a panic as a worker that died:
// the message comes back after its visibility timeout. Only tests import it.
package crash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Crash is the panic value of an injected crash.
type Crash struct {
	Op    string
	After bool // the call had returned (and taken effect) when the worker died
}

func (c Crash) String() string {
	when := "before"
	if c.After {
		when = "after"
	}
	return fmt.Sprintf("injected crash %s %s", when, c.Op)
}

// Injector decides, with probability P per call boundary, whether the worker dies
// there. It is safe for concurrent use.
type Injector struct {
	mu      sync.Mutex
	rnd     *rand.Rand
	p       float64
	crashes map[string]int // "op/before" or "op/after" → count
}

// NewInjector crashes at each call boundary with probability p, from a seeded source
// so that a failing run can be replayed.
func NewInjector(p float64, seed uint64) *Injector {
	return &Injector{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), p: p, crashes: map[string]int{}}
}

func (in *Injector) at(op string, after bool) {
	in.mu.Lock()
	hit := in.rnd.Float64() < in.p
	if hit {
		in.crashes[Crash{Op: op, After: after}.key()]++
	}
	in.mu.Unlock()
	if hit {
		panic(Crash{Op: op, After: after})
	}
}

func (c Crash) key() string {
	if c.After {
		return c.Op + "/after"
	}
	return c.Op + "/before"
}

// around runs call between two crash points.
func around[T any](in *Injector, op string, call func() (T, error)) (T, error) {
	in.at(op, false)
	v, err := call()
	in.at(op, true)
	return v, err
}

// Crashes returns how many crashes were injected at each "op/before" and "op/after".
func (in *Injector) Crashes() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]int, len(in.crashes))
	for k, v := range in.crashes {
		out[k] = v
	}
	return out
}

// Total is the number of crashes injected.
func (in *Injector) Total() int {
	n := 0
	for _, v := range in.Crashes() {
		n += v
	}
	return n
}

// Store crashes around the calls the worker makes of an invite.Store.
type Store struct {
	invite.Store
	In *Injector
}

func (s Store) Create(ctx context.Context, inv *invite.Invitation) error {
	_, err := around(s.In, "store.Create", func() (struct{}, error) { return struct{}{}, s.Store.Create(ctx, inv) })
	return err
}

func (s Store) Get(ctx context.Context, id string) (*invite.Invitation, error) {
	return around(s.In, "store.Get", func() (*invite.Invitation, error) { return s.Store.Get(ctx, id) })
}

func (s Store) Update(ctx context.Context, prev, next *invite.Invitation) error {
	_, err := around(s.In, "store.Update", func() (struct{}, error) { return struct{}{}, s.Store.Update(ctx, prev, next) })
	return err
}

// BatchStore crashes around the calls the worker makes of an invite.BatchStore.
type BatchStore struct {
	invite.BatchStore
	In *Injector
}

func (s BatchStore) GetBatchItem(ctx context.Context, ref invite.ItemRef) (*invite.BatchItem, error) {
	return around(s.In, "batches.GetBatchItem", func() (*invite.BatchItem, error) { return s.BatchStore.GetBatchItem(ctx, ref) })
}

func (s BatchStore) ClaimResend(ctx context.Context, ref invite.ItemRef, existingID string) error {
	_, err := around(s.In, "batches.ClaimResend", func() (struct{}, error) {
		return struct{}{}, s.BatchStore.ClaimResend(ctx, ref, existingID)
	})
	return err
}

func (s BatchStore) FinishBatchItem(ctx context.Context, item *invite.BatchItem) error {
	_, err := around(s.In, "batches.FinishBatchItem", func() (struct{}, error) {
		return struct{}{}, s.BatchStore.FinishBatchItem(ctx, item)
	})
	return err
}

// Identity crashes around the calls the worker makes of an invite.Identity.
type Identity struct {
	invite.Identity
	In *Injector
}

func (d Identity) FindUserByEmail(ctx context.Context, email string) (*invite.User, error) {
	return around(d.In, "auth0.FindUserByEmail", func() (*invite.User, error) { return d.Identity.FindUserByEmail(ctx, email) })
}

func (d Identity) CreateUser(ctx context.Context, u invite.NewUser) (*invite.User, error) {
	return around(d.In, "auth0.CreateUser", func() (*invite.User, error) { return d.Identity.CreateUser(ctx, u) })
}

func (d Identity) AssignRoles(ctx context.Context, userID string, roleIDs []string) error {
	_, err := around(d.In, "auth0.AssignRoles", func() (struct{}, error) {
		return struct{}{}, d.Identity.AssignRoles(ctx, userID, roleIDs)
	})
	return err
}

func (d Identity) AdoptUser(ctx context.Context, userID, invitationID string, roleIDs []string) error {
	_, err := around(d.In, "auth0.AdoptUser", func() (struct{}, error) {
		return struct{}{}, d.Identity.AdoptUser(ctx, userID, invitationID, roleIDs)
	})
	return err
}

func (d Identity) DeleteUserIfNeverLoggedIn(ctx context.Context, userID, invitationID string) (bool, error) {
	return around(d.In, "auth0.DeleteUserIfNeverLoggedIn", func() (bool, error) {
		return d.Identity.DeleteUserIfNeverLoggedIn(ctx, userID, invitationID)
	})
}

func (d Identity) CreateOrgInvitation(ctx context.Context, req invite.OrgInvitationRequest) (*invite.OrgInvitation, error) {
	return around(d.In, "auth0.CreateOrgInvitation", func() (*invite.OrgInvitation, error) { return d.Identity.CreateOrgInvitation(ctx, req) })
}

func (d Identity) FindOrgInvitations(ctx context.Context, orgID, email string) ([]*invite.OrgInvitation, error) {
	return around(d.In, "auth0.FindOrgInvitations", func() ([]*invite.OrgInvitation, error) {
		return d.Identity.FindOrgInvitations(ctx, orgID, email)
	})
}

// Mailer crashes around Send.
type Mailer struct {
	invite.Mailer
	In *Injector
}

func (m Mailer) Send(ctx context.Context, mail invite.Mail) (string, error) {
	return around(m.In, "mailer.Send", func() (string, error) { return m.Mailer.Send(ctx, mail) })
}

// NoSleep is a BatchConfig.Sleep for tests that returns at once (unless ctx ended):
// the backoff's length is the queue's business there, not the test's.
func NoSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
