package dynamo

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/doormanhq/doorman/shared/invite"
)

func TestErrorMapping(t *testing.T) {
	f := newFixture(t)
	missing, err := New(f.client, "doorman-test-no-such-table", Options{CursorKey: testKey, Now: f.Clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	inv := f.Invitation("inv_1", "ann@example.com")

	calls := []struct {
		name string
		call func(ctx context.Context, s *Store) error
	}{
		{"Create", func(ctx context.Context, s *Store) error { return s.Create(ctx, inv.Clone()) }},
		{"Get", func(ctx context.Context, s *Store) error { _, err := s.Get(ctx, "inv_1"); return err }},
		{"GetByTokenHash", func(ctx context.Context, s *Store) error { _, err := s.GetByTokenHash(ctx, "h"); return err }},
		{"GetByAuth0UserIDs", func(ctx context.Context, s *Store) error {
			_, err := s.GetByAuth0UserIDs(ctx, []string{"auth0|a"})
			return err
		}},
		{"List", func(ctx context.Context, s *Store) error {
			_, err := s.List(ctx, invite.ListQuery{Scope: invite.ScopeApplication})
			return err
		}},
		{"ExpiringBefore", func(ctx context.Context, s *Store) error {
			_, err := s.ExpiringBefore(ctx, time.Now(), 10, "")
			return err
		}},
		{"Update", func(ctx context.Context, s *Store) error {
			next := inv.Clone()
			next.Status = invite.StatusRevoked
			return s.Update(ctx, inv, next)
		}},
		{"MarkLogProcessed", func(ctx context.Context, s *Store) error {
			_, err := s.MarkLogProcessed(ctx, "l1", time.Hour)
			return err
		}},
	}
	conditions := []struct {
		name     string
		store    *Store
		ctx      context.Context
		wantCode invite.Code
		check    func(t *testing.T, err error)
	}{
		{"missing table", missing, context.Background(), invite.CodeInternal, func(t *testing.T, err error) {
			if !strings.Contains(err.Error(), "doorman-test-no-such-table") {
				t.Errorf("error %q does not name the missing table", err)
			}
		}},
		{"cancelled context", f.store, canceled, invite.CodeUpstream, func(t *testing.T, err error) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %q does not keep context.Canceled", err)
			}
		}},
		{"deadline passed", f.store, expired, invite.CodeUpstream, func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %q does not keep context.DeadlineExceeded", err)
			}
		}},
	}
	for _, c := range conditions {
		for _, call := range calls {
			t.Run(c.name+"/"+call.name, func(t *testing.T) {
				err := call.call(c.ctx, c.store)
				if got := invite.ErrorCode(err); got != c.wantCode {
					t.Fatalf("error code = %q (%v), want %q", got, err, c.wantCode)
				}
				if !strings.HasPrefix(err.Error(), "dynamo: ") {
					t.Errorf("error %q is not wrapped with context", err)
				}
				c.check(t, err)
			})
		}
	}

	t.Run("unreachable endpoint", func(t *testing.T) {
		client, _ := testClient(t)
		opts := client.Options()
		opts.BaseEndpoint = aws.String("http://127.0.0.1:1")
		opts.RetryMaxAttempts = 1
		s, err := New(dynamodb.New(opts), f.table, Options{CursorKey: testKey})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		_, err = s.Get(context.Background(), "inv_1")
		if got := invite.ErrorCode(err); got != invite.CodeUpstream {
			t.Errorf("error code = %q (%v), want %q", got, err, invite.CodeUpstream)
		}
	})
}

// TestConflictsSayWhereTheyComeFrom: a refused create names the store in its error,
// as every other error of it does (TestErrorMapping).
func TestConflictsSayWhereTheyComeFrom(t *testing.T) {
	f := newFixture(t)
	first := f.Create(t, f.Invitation("inv_1", "ann@example.com"))
	sameToken := f.Invitation("inv_3", "cy@example.com")
	sameToken.TokenHash = first.TokenHash
	version := f.Invitation("inv_4", "dee@example.com")
	version.Version = 2
	for name, inv := range map[string]*invite.Invitation{
		"same email": f.Invitation("inv_2", "ANN@example.com"), "same id": f.Invitation("inv_1", "bob@example.com"),
		"same token hash": sameToken, "version other than 1": version,
	} {
		if err := f.store.Create(context.Background(), inv); err == nil || !strings.HasPrefix(err.Error(), "dynamo: ") {
			t.Errorf("%s: error %v does not say where it comes from", name, err)
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name  string
		table string
		key   []byte
	}{
		{"short cursor key", "t", []byte("short")},
		{"no cursor key", "t", nil},
		{"no table", "", testKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(nil, tt.table, Options{CursorKey: tt.key}); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}
