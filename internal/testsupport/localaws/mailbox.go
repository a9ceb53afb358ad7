package localaws

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// Email is one email in the local SES's mailbox: an entry of aws-ses-v2-local's
// GET /store answer.
type Email struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
}

// Emails returns every email the local SES at endpoint holds, oldest first, or fails
// tb. The mailbox is shared by every test that sends: each test sends to addresses of
// its own and reads what was sent to them (EmailsTo).
func Emails(tb testing.TB, endpoint string) []Email {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/store", nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("read the local SES mailbox: GET /store: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("read the local SES mailbox: GET /store: status %d", resp.StatusCode)
	}
	var store struct {
		Emails []Email `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		tb.Fatalf("read the local SES mailbox: decode /store: %v", err)
	}
	return store.Emails
}

// EmailsTo returns the emails the local SES holds for the address (among their To
// recipients), oldest first.
func EmailsTo(tb testing.TB, endpoint, to string) []Email {
	tb.Helper()
	return slices.DeleteFunc(Emails(tb, endpoint), func(e Email) bool { return !slices.Contains(e.Destination.To, to) })
}

// AwaitEmailsTo waits up to within until the local SES holds n emails for the address
// and returns them, oldest first; it fails tb when it holds another number then, for
// mail that a server sends after it answered.
func AwaitEmailsTo(tb testing.TB, endpoint, to string, n int, within time.Duration) []Email {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		got := EmailsTo(tb, endpoint, to)
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				tb.Fatalf("emails to %s in the local SES: got %d, want %d", to, len(got), n)
			}
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}
