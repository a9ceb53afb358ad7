package auth0sim

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// paging reads Auth0's offset pagination (page, per_page, include_totals).
type paging struct {
	page, perPage int
	totals        bool
}

func readPaging(r *http.Request) paging {
	q := r.URL.Query()
	p := paging{perPage: 50}
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		p.page = v
	}
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		p.perPage = min(v, 100)
	}
	p.totals = q.Get("include_totals") == "true"
	return p
}

// window is the page's bounds within n items.
func (p paging) window(n int) (start, end int) {
	start = min(p.page*p.perPage, n)
	return start, min(start+p.perPage, n)
}

// pageOf cuts one page out of items and wraps it as Auth0 does: a bare array, or with
// include_totals an object {key: [...], start, limit, total}.
func pageOf[T any](p paging, key string, items []T) any {
	start, end := p.window(len(items))
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	if !p.totals {
		return page
	}
	return map[string]any{key: page, "start": start, "limit": p.perPage, "total": len(items)}
}

// checkpoint reads Auth0's checkpoint pagination (from, take); ok is false when the
// request uses offset pagination instead.
func checkpoint(r *http.Request) (from, take int, ok bool) {
	q := r.URL.Query()
	if !q.Has("take") && !q.Has("from") {
		return 0, 0, false
	}
	take = 50
	if v, err := strconv.Atoi(q.Get("take")); err == nil && v > 0 {
		take = min(v, 100)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(q.Get("from")); err == nil {
		if v, err := strconv.Atoi(string(raw)); err == nil && v >= 0 {
			from = v
		}
	}
	return from, take, true
}

func cursor(i int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i))) }

// writeList answers a list route that takes both paginations: checkpoint (from, take)
// when the request asks for it, else offset. A checkpoint page carries next while items
// remain after it; nextOnLast gives next to the last non-empty page too, as routes
// whose walk ends on an empty page do.
func writeList(w http.ResponseWriter, r *http.Request, key string, items []any, nextOnLast bool) {
	from, take, ok := checkpoint(r)
	if !ok {
		writeJSON(w, http.StatusOK, pageOf(readPaging(r), key, items))
		return
	}
	start := min(from, len(items))
	end := min(start+take, len(items))
	body := map[string]any{key: items[start:end]}
	if end < len(items) || nextOnLast && end > start {
		body["next"] = cursor(end)
	}
	writeJSON(w, http.StatusOK, body)
}
