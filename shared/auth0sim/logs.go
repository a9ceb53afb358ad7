package auth0sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// LogStream posts the tenant's log events to a webhook as an Auth0 custom-webhook log
// stream does: in batches, with the Authorization header verbatim, retrying each
// batch with backoff until it is answered 2xx (at least once).
type LogStream struct {
	URL string
	// Authorization is sent verbatim, e.g. "Bearer xyz".
	Authorization string
	// Format is "array" (a JSON array per POST, the default), "lines" (JSON lines) or
	// "object" (one event per POST).
	Format string
	// ContentType defaults to "application/json", Auth0's default for every format.
	ContentType string
	// BatchSize (default 10) is the most events per POST; FlushInterval (default 1s)
	// is how long events wait for a batch to fill.
	BatchSize     int
	FlushInterval time.Duration
	// RetryBackoff is the first retry's delay (default 100ms), doubling to 5s.
	RetryBackoff time.Duration
	// Duplicate resends every third batch after delivering it; Reorder shuffles the
	// events waiting to be sent. Both model Auth0's at-least-once, unordered
	// delivery.
	Duplicate, Reorder bool
	Client             *http.Client
}

// LogEvent is one tenant log record as a log stream delivers it.
type LogEvent struct {
	LogID string  `json:"log_id"`
	Data  LogData `json:"data"`
}

// LogData is the record's body, shaped like Auth0's (see Elastic's auth0 integration
// test data for real examples).
type LogData struct {
	Date             string         `json:"date"`
	Type             string         `json:"type"`
	Description      string         `json:"description"`
	ClientID         string         `json:"client_id,omitempty"`
	ClientName       string         `json:"client_name"`
	IP               string         `json:"ip"`
	UserAgent        string         `json:"user_agent"`
	Details          map[string]any `json:"details,omitempty"`
	Hostname         string         `json:"hostname"`
	UserID           string         `json:"user_id"`
	UserName         string         `json:"user_name"`
	Strategy         string         `json:"strategy,omitempty"`
	StrategyType     string         `json:"strategy_type,omitempty"`
	Connection       string         `json:"connection,omitempty"`
	ConnectionID     string         `json:"connection_id"`
	OrganizationID   string         `json:"organization_id,omitempty"`
	OrganizationName string         `json:"organization_name,omitempty"`
	LogID            string         `json:"log_id"`
}

// newLogID returns an id shaped like Auth0's: 56 digits starting with 900 and the date.
func (s *Sim) newLogID(t time.Time) string {
	id := "900" + t.UTC().Format("20060102150405")
	return id + s.randDigits(56-len(id))
}

// Emit records an event and queues it on the log stream. A missing log_id or date is
// filled in; data.log_id mirrors log_id, as in Auth0's records.
func (s *Sim) Emit(e LogEvent) {
	now := s.now()
	s.mu.Lock()
	if e.LogID == "" {
		e.LogID = e.Data.LogID
	}
	if e.LogID == "" {
		e.LogID = s.newLogID(now)
	}
	if e.Data.LogID == "" {
		e.Data.LogID = e.LogID
	}
	if e.Data.Date == "" {
		e.Data.Date = timestamp(now)
	}
	s.st.logs = append(s.st.logs, e)
	s.mu.Unlock()
	s.log.Info("auth0sim: log event", "type", e.Data.Type, "log_id", e.LogID, "user_id", e.Data.UserID)
	if s.stream != nil {
		s.stream.enqueue(e)
	}
}

// Logs returns every event emitted so far, oldest first.
func (s *Sim) Logs() []LogEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogEvent(nil), s.st.logs...)
}

// FlushLogs delivers every pending event now, retrying until each batch is accepted or
// ctx ends. Without a log stream it does nothing.
func (s *Sim) FlushLogs(ctx context.Context) error {
	if s.stream == nil {
		return nil
	}
	return s.stream.flush(ctx)
}

type streamer struct {
	sim     *Sim
	cfg     LogStream
	send    sync.Mutex // one delivery at a time keeps batches whole
	batches int        // batches delivered, under send; picks the ones to duplicate

	mu      sync.Mutex
	pending []LogEvent

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newStreamer(s *Sim, cfg LogStream) *streamer {
	if cfg.Format == "" {
		cfg.Format = "array"
	}
	if cfg.ContentType == "" {
		cfg.ContentType = "application/json"
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 10
	}
	if cfg.Format == "object" {
		cfg.BatchSize = 1
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 100 * time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	st := &streamer{sim: s, cfg: cfg, kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go st.run()
	return st
}

func (st *streamer) enqueue(e LogEvent) {
	st.mu.Lock()
	st.pending = append(st.pending, e)
	full := len(st.pending) >= st.cfg.BatchSize
	st.mu.Unlock()
	if full {
		select {
		case st.kick <- struct{}{}:
		default:
		}
	}
}

func (st *streamer) run() {
	defer close(st.done)
	t := time.NewTicker(st.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-st.ctx.Done():
			return
		case <-t.C:
		case <-st.kick:
		}
		if err := st.flush(st.ctx); err != nil && st.ctx.Err() == nil {
			st.sim.log.Warn("auth0sim: log stream delivery", "err", err)
		}
	}
}

func (st *streamer) close() {
	st.cancel()
	<-st.done
}

// flush takes every pending event and delivers it in batches; what ctx interrupts goes
// back to the front of the queue.
func (st *streamer) flush(ctx context.Context) error {
	st.send.Lock()
	defer st.send.Unlock()
	st.mu.Lock()
	events := st.pending
	st.pending = nil
	st.mu.Unlock()
	if len(events) == 0 {
		return nil
	}
	if st.cfg.Reorder {
		for i := len(events) - 1; i > 0; i-- {
			j := st.sim.randIntn(i + 1)
			events[i], events[j] = events[j], events[i]
		}
	}
	for len(events) > 0 {
		n := min(st.cfg.BatchSize, len(events))
		if err := st.deliver(ctx, events[:n]); err != nil {
			st.mu.Lock()
			st.pending = append(events, st.pending...)
			st.mu.Unlock()
			return err
		}
		st.batches++
		if st.cfg.Duplicate && st.batches%3 == 0 {
			if err := st.deliver(ctx, events[:n]); err != nil {
				// The batch was delivered once already; losing its duplicate is fine.
				st.sim.log.Warn("auth0sim: log stream duplicate", "err", err)
			}
		}
		events = events[n:]
	}
	return nil
}

// deliver posts one batch until the webhook answers 2xx or ctx ends.
func (st *streamer) deliver(ctx context.Context, batch []LogEvent) error {
	body, err := st.encode(batch)
	if err != nil {
		return err
	}
	backoff := st.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		err := st.post(ctx, body)
		if err == nil {
			return nil
		}
		st.sim.log.Info("auth0sim: log stream retry", "attempt", attempt, "err", err)
		if err := ctxSleep(ctx, backoff); err != nil {
			return fmt.Errorf("auth0sim: deliver %d log events: %w", len(batch), errors.Join(err, ctx.Err()))
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (st *streamer) encode(batch []LogEvent) ([]byte, error) {
	switch st.cfg.Format {
	case "array":
		return json.Marshal(batch)
	case "object":
		return json.Marshal(batch[0])
	case "lines":
		var buf bytes.Buffer
		for _, e := range batch {
			line, err := json.Marshal(e)
			if err != nil {
				return nil, fmt.Errorf("auth0sim: encode log event: %w", err)
			}
			buf.Write(line)
			buf.WriteByte('\n')
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("auth0sim: unknown log stream format %q", st.cfg.Format)
}

func (st *streamer) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", st.cfg.ContentType)
	if st.cfg.Authorization != "" {
		req.Header.Set("Authorization", st.cfg.Authorization)
	}
	resp, err := st.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// remoteIP is the client's address as Auth0 logs it.
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return strings.TrimSpace(r.RemoteAddr)
}
