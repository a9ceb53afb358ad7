package auth0sim

// Users returns a snapshot of every user of every connection, in creation order: what
// a test counts to prove that no user was created twice.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.st.users))
	for i, u := range s.st.users {
		out[i] = s.snapshot(u)
	}
	return out
}
