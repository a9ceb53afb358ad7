package eventbus_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/doormanhq/doorman/shared/eventbus"
	"github.com/doormanhq/doorman/shared/events"
)

// stub answers EventBridge's PutEvents on loopback, failing the entries named in fail.
type stub struct {
	mu      sync.Mutex
	entries []map[string]any
	fail    int
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var in struct{ Entries []map[string]any }
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, in.Entries...)
	out := map[string]any{"FailedEntryCount": s.fail, "Entries": []any{}}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func TestPut(t *testing.T) {
	st := &stub{}
	srv := httptest.NewServer(st)
	defer srv.Close()
	client := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	bus, err := eventbus.New(client, "doorman-events")
	if err != nil {
		t.Fatal(err)
	}
	var evs []*events.Event
	for i := range 12 { // two requests: PutEvents takes ten
		evs = append(evs, &events.Event{ID: events.EventID("b", string(rune('a'+i))), Type: "invitation.accepted", At: time.Unix(1700000000, 0),
			Data: json.RawMessage(`{"id":"inv","auth0_user_id":"auth0|u"}`)})
	}
	if err := bus.Put(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if len(st.entries) != 12 {
		t.Fatalf("%d entries put, want 12", len(st.entries))
	}
	e := st.entries[0]
	var detail struct{ ID, Type string }
	_ = json.Unmarshal([]byte(e["Detail"].(string)), &detail)
	if e["Source"] != eventbus.Source || e["DetailType"] != "invitation.accepted" || e["EventBusName"] != "doorman-events" || detail.ID != evs[0].ID {
		t.Errorf("entry %v, want source doorman, the type, the bus, and the event id in the detail", e)
	}
	st.fail = 1
	if err := bus.Put(context.Background(), evs[:1]); err == nil {
		t.Error("Put with an entry refused = nil, want an error (the publisher puts the batch again)")
	}
}
