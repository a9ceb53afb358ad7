package httpapi

import (
	"net/http"

	"github.com/doormanhq/doorman/shared/invite"
)

// dryRunJSON is the answer of POST /v1/invitation-batches?dry_run=true.
type dryRunJSON struct {
	DryRun bool             `json:"dry_run"`
	Total  int              `json:"total"`
	Totals map[string]int   `json:"totals"`
	Items  []dryRunItemJSON `json:"items"`
}

type dryRunItemJSON struct {
	Index      int          `json:"index"`
	Email      string       `json:"email"`
	Class      string       `json:"class"`
	Error      *itemProblem `json:"error,omitempty"`
	ExistingID string       `json:"existing_id,omitempty"`
	Unchecked  bool         `json:"unchecked,omitempty"`
}

var rowClasses = []invite.RowClass{invite.RowNew, invite.RowExistingAccount, invite.RowAlreadyPending,
	invite.RowInvalid, invite.RowUndeliverable, invite.RowNotGrantable}

// dryRunOr answers a batch with ?dry_run=true itself, before h (the batch create with
// its idempotency record and hourly caps): a preview charges nothing and records
// nothing, so that a later real submit with the same Idempotency-Key is not answered
// with the preview.
func (s *server) dryRunOr(h actorHandler) actorHandler {
	return func(w http.ResponseWriter, r *http.Request, a invite.Actor) {
		q, err := query(r, map[string]bool{"dry_run": true})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		switch q.Get("dry_run") {
		case "", "false":
			h(w, r, a)
			return
		case "true":
		default:
			s.writeError(w, r, invite.Invalid("dry_run", "must be true or false"))
			return
		}
		body, err := s.readBody(w, r, s.maxBatchBody)
		if err != nil {
			s.writeBodyError(w, r, err)
			return
		}
		s.dryRunBatch(w, r, a, body)
	}
}

func (s *server) dryRunBatch(w http.ResponseWriter, r *http.Request, a invite.Actor, body []byte) {
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
	undecoded := map[int]invite.ItemProblem{}
	for i, raw := range b.Invitations {
		req, err := decodeItem(raw)
		if err != nil {
			undecoded[i] = itemProblemOf(i, err)
		}
		reqs[i] = req
	}
	rows, err := s.svc.DryRunBatch(r.Context(), a, reqs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := dryRunJSON{DryRun: true, Total: len(rows), Totals: map[string]int{}, Items: make([]dryRunItemJSON, len(rows))}
	for _, c := range rowClasses {
		out.Totals[string(c)] = 0
	}
	for i, row := range rows {
		if p, ok := undecoded[i]; ok {
			row.Class, row.Problem = invite.RowInvalid, &p
		}
		item := dryRunItemJSON{Index: row.Index, Email: row.Email, Class: string(row.Class), ExistingID: row.ExistingID, Unchecked: row.Unchecked}
		if row.Problem != nil {
			item.Error = toItemProblem(*row.Problem)
		}
		out.Items[i] = item
		out.Totals[item.Class]++
	}
	s.writeJSON(w, http.StatusOK, out)
}
