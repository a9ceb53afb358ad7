package dynamo

import (
	"context"
	"testing"
)

func TestMeter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inv := f.invitation("inv_1", "ann@example.com")

	tests := []struct {
		name         string
		call         func() error
		wantRequests int64
	}{
		{"create is one transaction", func() error { return f.store.Create(ctx, inv) }, 1},
		{"get is one read", func() error { _, err := f.store.Get(ctx, "inv_1"); return err }, 1},
		{"token lookup is two reads", func() error { _, err := f.store.GetByTokenHash(ctx, inv.TokenHash); return err }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.meter.Reset()
			if err := tt.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			u := f.meter.Usage()
			if u.Requests != tt.wantRequests {
				t.Errorf("requests = %d, want %d", u.Requests, tt.wantRequests)
			}
			if u.CapacityUnits <= 0 {
				t.Errorf("capacity units = %v, want more than 0", u.CapacityUnits)
			}
		})
	}
}
