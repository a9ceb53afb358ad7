package inmem

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/doormanhq/doorman/shared/invite"
)

// Sent is one email the Mailer accepted.
type Sent struct {
	invite.Mail
	MessageID string
}

// Mailer is an in-memory invite.Mailer that records what it sends.
type Mailer struct {
	mu       sync.Mutex
	seq      int
	sent     []Sent
	failures []invite.Code
	calls    int
}

var _ invite.Mailer = (*Mailer)(nil)

// NewMailer returns a mailer that has sent nothing.
func NewMailer() *Mailer { return &Mailer{} }

// Send implements invite.Mailer. Like SES it refuses an empty or malformed recipient
// for good (invalid_request).
func (m *Mailer) Send(_ context.Context, mail invite.Mail) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if len(m.failures) > 0 {
		code := m.failures[0]
		m.failures = m.failures[1:]
		return "", &invite.Error{Code: code, Message: fmt.Sprintf("injected %s failure of Send", code)}
	}
	if !strings.Contains(mail.To, "@") {
		return "", &invite.Error{Code: invite.CodeInvalid, Message: "Missing final '@domain'"}
	}
	m.seq++
	id := fmt.Sprintf("0100018f-%012x-000000", m.seq)
	m.sent = append(m.sent, Sent{Mail: mail, MessageID: id})
	return id, nil
}

// FailNext makes the next n sends fail with code (and count as calls).
func (m *Mailer) FailNext(n int, code invite.Code) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		m.failures = append(m.failures, code)
	}
}

// Calls returns how many sends were attempted, failed ones included.
func (m *Mailer) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// Sent returns the emails sent so far, oldest first.
func (m *Mailer) Sent() []Sent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// SentTo returns the emails sent to addr (compared case-insensitively), oldest first.
func (m *Mailer) SentTo(addr string) []Sent {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Sent
	for _, s := range m.sent {
		if strings.EqualFold(s.To, addr) {
			out = append(out, s)
		}
	}
	return out
}

// Reset forgets the emails sent and the failures queued.
func (m *Mailer) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent, m.failures, m.calls = nil, nil, 0
}
