package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// IdempotencyStore keeps the outcome of requests sent with an Idempotency-Key;
// dynamo.Store implements it on DynamoDB and inmem.Idempotency in memory.
type IdempotencyStore interface {
	// ClaimIdempotencyKey stores rec as in flight unless a live record (ExpiresAt in
	// the future) with its key exists, which it returns instead (existing is nil when
	// the claim succeeded). upstream_unavailable when the store cannot answer.
	ClaimIdempotencyKey(ctx context.Context, rec invite.IdempotencyRecord) (existing *invite.IdempotencyRecord, err error)
	// CompleteIdempotencyKey stores the response of the request that claimed rec.Key;
	// conflict when the key is not in flight with rec.BodyHash.
	CompleteIdempotencyKey(ctx context.Context, rec invite.IdempotencyRecord) error
	// ReleaseIdempotencyKey deletes an in-flight claim so that a retry can run; absent
	// keys are not an error, completed ones are a conflict.
	ReleaseIdempotencyKey(ctx context.Context, key string) error
}

const (
	// idempotencyLease is how long an in-flight claim blocks its key: long enough for
	// a create (Auth0 and SES calls included), short enough that a request that died
	// mid-way does not block a retry for long.
	idempotencyLease = 60 * time.Second
	// idempotencyTTL is how long a completed response is replayed.
	idempotencyTTL = 24 * time.Hour
	// idempotencyPoll is the wait between two looks at an in-flight key.
	idempotencyPoll   = 100 * time.Millisecond
	maxIdempotencyKey = 255
)

// errKeyReused is an Idempotency-Key sent again with another request.
var errKeyReused = errors.New("idempotency key reused with another request")

// replayedHeaders are the response headers stored with a completed request and
// replayed; the request id is the new request's own.
var replayedHeaders = []string{"Content-Type", "Location", "Cache-Control"}

// bodyHandler is a /v1 handler that takes the request body already read.
type bodyHandler func(w http.ResponseWriter, r *http.Request, a invite.Actor, body []byte)

// idempotent reads the body and, when the request carries an Idempotency-Key, makes a
// repeat of it (same caller, key, method, path and body within 24 hours) replay the
// first response byte for byte without calling h again. A repeat that arrives while
// the first is in flight waits for it, up to IdempotencyWait, then gets 409. The same
// key with another request is a 422.
//
// Only successful responses are kept: an error (4xx or 5xx) releases the key, so that
// a client may fix the request or retry after an outage with the same key, as Stripe
// and the IETF Idempotency-Key draft let it.
func (s *server) idempotent(h bodyHandler) actorHandler { return s.idempotentUpTo(s.maxBody, h) }

// idempotentUpTo is idempotent with a body limit of its own.
func (s *server) idempotentUpTo(limit int64, h bodyHandler) actorHandler {
	return func(w http.ResponseWriter, r *http.Request, a invite.Actor) {
		body, err := s.readBody(w, r, limit)
		if err != nil {
			s.writeBodyError(w, r, err)
			return
		}
		key, present := r.Header["Idempotency-Key"]
		if !present {
			h(w, r, a, body)
			return
		}
		if len(key) != 1 || !validIdempotencyKey(key[0]) {
			s.writeError(w, r, invite.Invalid("Idempotency-Key", "must be one value of 1 to %d printable ASCII characters", maxIdempotencyKey))
			return
		}
		rec := invite.IdempotencyRecord{
			Key:      scopedKey(a, key[0]),
			BodyHash: requestHash(r, body),
		}
		ctx := r.Context()
		replay, err := s.claim(ctx, rec)
		if err == errKeyReused {
			// 422, as the IETF Idempotency-Key draft has it, with the code of any
			// other invalid request.
			p := problemFor(invite.Invalid("Idempotency-Key", "was already used with a different request; use a new key for a new request"))
			p.Status, p.Title = http.StatusUnprocessableEntity, "Unprocessable Content"
			writeProblem(ctx, w, p)
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if replay != nil {
			s.replay(r.Context(), w, replay)
			return
		}
		s.runClaimed(w, r, a, h, body, rec)
	}
}

// claim claims rec's key, waiting while another request holds it. It returns the
// completed record to replay, or nil when this request now holds the key.
func (s *server) claim(ctx context.Context, rec invite.IdempotencyRecord) (*invite.IdempotencyRecord, error) {
	deadline := time.Now().Add(s.idemWait)
	for {
		now := s.now()
		rec.CreatedAt, rec.ExpiresAt = now, now.Add(idempotencyLease)
		existing, err := s.idem.ClaimIdempotencyKey(ctx, rec)
		switch {
		case err != nil:
			return nil, err
		case existing == nil:
			return nil, nil
		case existing.BodyHash != rec.BodyHash:
			return nil, errKeyReused
		case !existing.InFlight():
			return existing, nil
		}
		if time.Now().Add(idempotencyPoll).After(deadline) {
			return nil, &invite.Error{Code: invite.CodeConflict, RetryAfter: time.Second,
				Message: "a request with this Idempotency-Key is still in progress; retry shortly"}
		}
		t := time.NewTimer(idempotencyPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, invite.Wrap(invite.CodeUpstream, ctx.Err(), "the request was cancelled")
		case <-t.C:
		}
	}
}

// runClaimed runs h for the key this request holds and completes or releases it.
func (s *server) runClaimed(w http.ResponseWriter, r *http.Request, a invite.Actor, h bodyHandler, body []byte, rec invite.IdempotencyRecord) {
	ctx := r.Context()
	rw := &recorder{header: http.Header{}}
	finished := false
	defer func() {
		if !finished {
			// h panicked: free the key for a retry before the panic reaches the
			// recovery, which answers 500.
			s.release(context.WithoutCancel(ctx), rec.Key)
		}
	}()
	h(rw, r, a, body)
	finished = true

	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 400 {
		s.release(context.WithoutCancel(ctx), rec.Key)
	} else {
		now := s.now()
		done := rec
		// A link is a credential: the record keeps the response without it, and a
		// replay of it is refused (replay).
		done.Status, done.Body = status, withoutLink(rw.body.Bytes())
		done.Header = map[string]string{}
		for _, k := range replayedHeaders {
			if v := rw.header.Get(k); v != "" {
				done.Header[k] = v
			}
		}
		done.ExpiresAt = now.Add(idempotencyTTL)
		if err := s.idem.CompleteIdempotencyKey(context.WithoutCancel(ctx), done); err != nil {
			// The response is still right; only a repeat after the lease would run
			// again, and the store's reservation turns that into a conflict.
			s.log.ErrorContext(ctx, "cannot store idempotent response", "error", err.Error())
		}
	}
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(rw.body.Bytes())
}

func (s *server) release(ctx context.Context, key string) {
	if err := s.idem.ReleaseIdempotencyKey(ctx, key); err != nil {
		s.log.ErrorContext(ctx, "cannot release idempotency key", "error", err.Error())
	}
}

func (s *server) replay(ctx context.Context, w http.ResponseWriter, rec *invite.IdempotencyRecord) {
	if id, held := heldLink(rec.Body); held {
		// The first answer carried the invitee's link, which Doorman does not keep
		// (records written before it stopped keeping it are refused the same way).
		p := problemFor(&invite.Error{Code: invite.CodeConflict, ExistingID: id,
			Message: "the first response to this Idempotency-Key carried the invitation's link, which is not kept; POST /v1/invitations/{id}/tickets gives a fresh one"})
		w.Header().Set("Idempotent-Replayed", "true")
		writeProblem(ctx, w, p)
		return
	}
	h := w.Header()
	for k, v := range rec.Header {
		h.Set(k, v)
	}
	h.Set("Idempotent-Replayed", "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// scopedKey gives each caller its own key space: a subject, and within it each
// organization its token is for, so that one user's key sent with tokens of two
// organizations names two requests. The length prefixes keep a sub or an org id that
// ends like a key from colliding with another. A token without org_id keeps the key
// of the versions before organizations counted, so that their records stay valid.
func scopedKey(a invite.Actor, key string) string {
	if a.OrgID == "" {
		return "v1:" + strconv.Itoa(len(a.Sub)) + ":" + a.Sub + ":" + key
	}
	return "v2:" + strconv.Itoa(len(a.Sub)) + ":" + a.Sub + ":" + strconv.Itoa(len(a.OrgID)) + ":" + a.OrgID + ":" + key
}

// requestHash is the SHA-256 of the method, the path and the raw body: the same key
// sent to another invitation's resend is another request, hence 422.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// recorder buffers a response so that it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// linkField names the invitee's link in an invitation's JSON, and linkWithheld marks a
// stored response it was taken out of.
const (
	linkField    = "accept_url"
	linkWithheld = "accept_url_withheld"
)

// withoutLink is a response body without the invitee's link, marked so that its replay
// is refused; a body without one is returned as it is.
func withoutLink(body []byte) []byte {
	if !bytes.Contains(body, []byte(`"`+linkField+`"`)) {
		return body // most responses: no need to read them
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m[linkField]; !ok {
		return body
	}
	delete(m, linkField)
	m[linkWithheld] = json.RawMessage("true")
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// heldLink reports whether a stored response carried the invitee's link (taken out, or
// kept by an earlier version), and the invitation's id.
func heldLink(body []byte) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return "", false
	}
	_, withheld := m[linkWithheld]
	_, kept := m[linkField]
	var id string
	_ = json.Unmarshal(m["id"], &id)
	return id, withheld || kept
}
