package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/doormanhq/doorman/shared/invite"
)

// Defaults of the batch settings of Config.
const (
	DefaultMaxBatchBody   = 5 << 20
	DefaultBatchesPerHour = 20
)

// batchBody is the body of POST /v1/invitation-batches. Items are decoded one by one,
// so that an error names the item it is in.
type batchBody struct {
	Invitations []json.RawMessage `json:"invitations"`
}

type batchJSON struct {
	ID        string            `json:"id"`
	Status    string            `json:"status"`
	Total     int               `json:"total"`
	Totals    batchTotalsJSON   `json:"totals"`
	CreatedAt string            `json:"created_at"`
	Items     []batchResultJSON `json:"items,omitempty"`
	// NextCursor pages through Items; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

type batchTotalsJSON struct {
	Queued    int `json:"queued"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
}

type batchResultJSON struct {
	Index        int          `json:"index"`
	Email        string       `json:"email"`
	Status       string       `json:"status"`
	InvitationID string       `json:"invitation_id,omitempty"`
	Resent       bool         `json:"resent,omitempty"`
	Error        *itemProblem `json:"error,omitempty"`
}

// itemProblem is one item's problem, in a refused batch's problem body or in a
// batch's results.
type itemProblem struct {
	Index      int    `json:"index"`
	Code       string `json:"code"`
	Detail     string `json:"detail"`
	Field      string `json:"field,omitempty"`
	ExistingID string `json:"existing_id,omitempty"`
}

func toItemProblem(p invite.ItemProblem) *itemProblem {
	return &itemProblem{Index: p.Index, Code: string(p.Code), Detail: p.Message, Field: p.Field, ExistingID: p.ExistingID}
}

func renderBatch(b *invite.Batch) batchJSON {
	return batchJSON{
		ID:        b.ID,
		Status:    string(b.Status()),
		Total:     b.Total,
		Totals:    batchTotalsJSON{Queued: b.Queued(), Succeeded: b.Succeeded, Failed: b.Failed},
		CreatedAt: rfc3339(b.CreatedAt),
	}
}

// createBatch validates every item and answers 202 with the queued batch, or 400 with
// every item's problem and nothing started.
func (s *server) createBatch(w http.ResponseWriter, r *http.Request, a invite.Actor, body []byte) {
	var b batchBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(b.Invitations) == 0 || len(b.Invitations) > invite.MaxBatchItems {
		s.writeError(w, r, invite.Invalid("invitations", "must hold between 1 and %d invitations", invite.MaxBatchItems))
		return
	}
	reqs := make([]invite.CreateRequest, len(b.Invitations))
	var problems []invite.ItemProblem
	for i, raw := range b.Invitations {
		req, err := decodeItem(raw)
		if err != nil {
			problems = append(problems, itemProblemOf(i, err))
		}
		reqs[i] = req
	}
	if len(problems) > 0 {
		// The items that decoded may be invalid too; name them in the same answer.
		undecoded := map[int]bool{}
		for _, p := range problems {
			undecoded[p.Index] = true
		}
		for _, p := range s.svc.ValidateBatch(a, reqs) {
			if !undecoded[p.Index] {
				problems = append(problems, p)
			}
		}
		slices.SortFunc(problems, func(x, y invite.ItemProblem) int { return cmp.Compare(x.Index, y.Index) })
		s.writeError(w, r, &invite.Error{Code: invite.CodeInvalid, Field: "invitations", Items: problems,
			Message: fmt.Sprintf("%d of %d invitations are invalid; nothing was started", len(problems), len(reqs))})
		return
	}
	// One batch on the batches cap, and its items on the invitations cap as if each
	// were created alone: a batch is no way around the hourly cap.
	paid, err := s.chargeValid(r.Context(), a, []charge{{s.batches, 1}, {s.invites, len(reqs)}}, reqs...)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	batch, err := s.svc.SubmitBatch(r.Context(), a, reqs)
	if err != nil {
		if e := invite.AsError(err); e != nil && e.Code == invite.CodeInvalid && len(e.Items) > 0 {
			// Refused item by item (an unknown organization, a grant the caller may
			// not make): nothing was started, so the hour is the inviter's again.
			s.giveBack(r.Context(), a, paid)
		}
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/invitation-batches/"+batch.ID)
	s.writeJSON(w, http.StatusAccepted, renderBatch(batch))
}

// decodeItem decodes one item as POST /v1/invitations decodes its body.
func decodeItem(raw json.RawMessage) (invite.CreateRequest, error) {
	var c createBody
	if err := DecodeJSON(raw, &c); err != nil {
		return invite.CreateRequest{}, err
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return invite.CreateRequest{}, invite.Invalid("body", "must be a JSON object")
	}
	d, err := ttl(c.TTLSeconds)
	if err != nil {
		return invite.CreateRequest{}, err
	}
	return c.request(d), nil
}

func itemProblemOf(i int, err error) invite.ItemProblem {
	p := invite.ItemProblem{Index: i, Code: invite.ErrorCode(err)}
	if e := invite.AsError(err); e != nil {
		p.Message, p.Field = e.Message, e.Field
	}
	return p
}

// batchParams are the query parameters of GET /v1/invitation-batches/{id}.
var batchParams = map[string]bool{"limit": true, "cursor": true}

func (s *server) getBatch(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	q, err := query(r, batchParams)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > invite.MaxBatchItems {
			s.writeError(w, r, invite.Invalid("limit", "must be an integer between 1 and %d", invite.MaxBatchItems))
			return
		}
		limit = n
	}
	view, err := s.svc.Batch(r.Context(), a, r.PathValue("id"), limit, q.Get("cursor"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := renderBatch(view.Batch)
	out.NextCursor = view.Page.NextCursor
	out.Items = make([]batchResultJSON, len(view.Page.Items))
	for i, it := range view.Page.Items {
		res := batchResultJSON{Index: it.Index, Email: it.Request.Email, Status: string(it.Status), InvitationID: it.ResultID, Resent: it.Resent}
		if it.Problem != nil {
			res.Error = toItemProblem(*it.Problem)
		}
		out.Items[i] = res
	}
	s.writeJSON(w, http.StatusOK, out)
}
