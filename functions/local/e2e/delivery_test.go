package e2e_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkDeliveryStates invites one address of SES's mailbox simulator for each outcome
// and reads, through the API, what SES's event records (the local run's emitter
// produces them as SES documents) made of each invitation: its delivery status and
// history; then resends each, which is refused (409 undeliverable) for the addresses
// SES refused for good, and only by the resend interval for the delivered one.
func (s *server) checkDeliveryStates(t *testing.T, run int64) {
	tests := []struct {
		local, status, event string
		undeliverable        bool
	}{
		{"success", "delivered", "delivered", false},
		{"bounce", "bounced", "bounced", true},
		{"complaint", "complained", "complained", true},
		{"suppressionlist", "suppressed", "suppressed", true},
	}
	ids, created := make([]string, len(tests)), make([]time.Time, len(tests))
	for i, tt := range tests {
		ids[i] = s.invite(t, map[string]any{"email": fmt.Sprintf("%s+%d@simulator.amazonses.com", tt.local, run), "name": "Sim"}).ID
		created[i] = time.Now()
	}
	for i, tt := range tests {
		start := time.Now()
		var inv invitation
		for {
			inv = s.invitation(t, ids[i])
			if inv.Delivery.Status == tt.status || time.Since(start) > 20*time.Second {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if inv.Delivery.Status != tt.status || !slices.Contains(inv.events(), tt.event) {
			t.Errorf("%s@: delivery %q, history %v; want %q with %q", tt.local, inv.Delivery.Status, inv.events(), tt.status, tt.event)
			continue
		}
		t.Logf("%s@: %s visible through the API within %d ms of the create's answer", tt.local, tt.status, time.Since(created[i]).Milliseconds())
		if tt.local == "bounce" {
			if d := inv.detailOf("bounced"); !strings.HasPrefix(d, "permanent (General)") || !strings.Contains(d, "5.1.1") {
				t.Errorf("bounced detail %q, want permanent (General) with SES's diagnostic", d)
			}
		}
	}
	// An undeliverable address is refused before the resend interval is looked at; the
	// delivered one, sent moments ago, meets the interval instead (429).
	for i, tt := range tests {
		status, _, raw := s.do(t, http.MethodPost, "/v1/invitations/"+ids[i]+"/resend", s.token, nil)
		switch {
		case tt.undeliverable && (status != http.StatusConflict || !strings.Contains(string(raw), `"code":"undeliverable"`)):
			t.Errorf("resend to %s@: status %d %s, want 409 undeliverable", tt.local, status, raw)
		case !tt.undeliverable && status != http.StatusTooManyRequests:
			t.Errorf("resend to %s@: status %d %s, want 429 (sent moments ago)", tt.local, status, raw)
		}
	}
}
