package httpapi

import "net/http"

// serveConsole hands GET /console and its assets to the console's handler, when the
// deployment has one.
func (s *server) serveConsole(w http.ResponseWriter, r *http.Request) {
	if s.console == nil {
		s.page(w, r, http.StatusNotFound, pageNotFound, "This server has no console.", nil)
		return
	}
	s.console.ServeHTTP(w, r)
}
