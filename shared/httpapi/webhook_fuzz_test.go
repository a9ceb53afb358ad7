package httpapi_test

import (
	"bytes"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
)

// logRef finds the log ids the history names: "(Auth0 log <id>)".
var logRef = regexp.MustCompile(`\(Auth0 log ([^)]*)\)`)

// FuzzWebhook posts random bodies to the webhook of a fresh world (the same ids every
// time, so that the seeds from events/logstream hit its invitations). A body never
// panics the handler, is answered 200, 400 or 413, and never applies an event whose
// log id is not in the body.
func FuzzWebhook(f *testing.F) {
	seedWorld := newWorld(f, nil)
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, name := range files {
		f.Add(seedWorld.fixture(f, filepath.Base(name)))
	}
	f.Add([]byte(`[{"log_id":"1","data":{"type":"s","user_id":"auth0|x"}},]`))
	f.Add([]byte("{\"log_id\":\"2\",\"data\":{\"type\":\"fi\"}}\n{"))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := newWorld(t, nil)
		res := w.post(whAuth, bytes.NewReader(body))
		switch res.status {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status: got %d (%s), want 200, 400 or 413", res.status, res.body)
		}
		for _, id := range []string{w.ann, w.bob, w.carol} {
			inv := w.get(t, id)
			for _, e := range inv.History {
				for _, m := range logRef.FindAllStringSubmatch(e.Detail, -1) {
					if !bytes.Contains(body, []byte(m[1])) {
						t.Errorf("invitation %s: %s names log %q, which is not in the body", id, e.Event, m[1])
					}
				}
			}
		}
	})
}

// TestFixturesAreSeeds keeps the fuzz seeds honest: every fixture, including any added
// after TestWebhookFixtures was written, is answered 200.
func TestFixturesAreSeeds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*"))
	if err != nil || len(files) < 5 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			w := newWorld(t, nil)
			if res := w.post(whAuth, bytes.NewReader(w.fixture(t, filepath.Base(name)))); res.status != http.StatusOK {
				t.Errorf("status: got %d (%s), want 200", res.status, res.body)
			}
		})
	}
}
