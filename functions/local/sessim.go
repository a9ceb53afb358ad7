package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/doormanhq/doorman/shared/ses"
)

// simulatorDomain is SES's mailbox simulator. Mail to its addresses (with or without a
// +label) gets the outcome SES documents for each, in "Using the mailbox simulator"
// (https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html).
const simulatorDomain = "simulator.amazonses.com"

// The SES v2 SendEmail operation, as the SDK calls it.
const sendEmailPath = "/v2/email/outbound-emails"

// sesSimulator stands in for SES's event publishing in the local run. It sits in the
// AWS clients' HTTP client, watches the SendEmail calls the local SES accepts, and for
// each mailbox-simulator recipient produces the event records SES publishes for that
// address (Delivery; Bounce; Delivery then Complaint; a suppressed Bounce), with the
// email's message tags, then hands each record to apply: what the sesevents function
// runs on the records SNS brings it.
type sesSimulator struct {
	next    aws.HTTPClient
	region  string
	jobs    chan []simRecord
	log     *slog.Logger
	delay   time.Duration // from the send to its first event
	retries int           // attempts of a record whose apply fails for a reason that may pass
}

// simRecord is one record and when SES would publish it.
type simRecord struct {
	body []byte
	due  time.Time
}

func newSESSimulator(next aws.HTTPClient, region string, log *slog.Logger) *sesSimulator {
	return &sesSimulator{next: next, region: region, jobs: make(chan []simRecord, 1000), log: log,
		delay: 300 * time.Millisecond, retries: 20}
}

// Do implements aws.HTTPClient: it passes every request on, and looks at the
// SendEmail calls the local SES answered.
func (s *sesSimulator) Do(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.URL.Path != sendEmailPath || req.Body == nil {
		return s.next.Do(req)
	}
	in, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(in))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(in)), nil }
	resp, err := s.next.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(out))
	if err != nil {
		return resp, nil
	}
	if recs := s.records(in, out, time.Now().UTC()); len(recs) > 0 {
		select {
		case s.jobs <- recs:
		default:
			s.log.Warn("SES simulator: too many events waiting; dropped the email's")
		}
	}
	return resp, nil
}

// run hands the records to apply, each when due, until ctx ends. A record whose apply
// fails (its send not recorded yet) is tried again a little later, as SQS would.
func (s *sesSimulator) run(ctx context.Context, apply func(ctx context.Context, body []byte) error) {
	for {
		select {
		case <-ctx.Done():
			return
		case recs := <-s.jobs:
			go s.publish(ctx, apply, recs)
		}
	}
}

func (s *sesSimulator) publish(ctx context.Context, apply func(ctx context.Context, body []byte) error, recs []simRecord) {
	for _, r := range recs {
		if wait := time.Until(r.due); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		for attempt := 1; ; attempt++ {
			err := apply(withNewRequestID(ctx), r.body)
			if err == nil {
				break
			}
			if attempt >= s.retries || ctx.Err() != nil {
				s.log.Warn("SES simulator: event not applied", "error", err)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
}

// sendEmailInput is the part of SES v2's SendEmail request the records repeat.
type sendEmailInput struct {
	FromEmailAddress string
	Destination      struct{ ToAddresses []string }
	Content          struct {
		Simple *struct{ Subject struct{ Data string } }
	}
	EmailTags            []struct{ Name, Value string }
	ConfigurationSetName string
}

// records are the event records SES publishes for the simulator recipients of the
// email sent with request in and answered with out at sent, in the order SES sends
// them; none for an email to other addresses.
func (s *sesSimulator) records(in, out []byte, sent time.Time) []simRecord {
	var req sendEmailInput
	var resp struct{ MessageId string }
	if json.Unmarshal(in, &req) != nil || json.Unmarshal(out, &resp) != nil || resp.MessageId == "" {
		return nil
	}
	var recs []simRecord
	for _, to := range req.Destination.ToAddresses {
		outcome, ok := simulatorOutcome(to)
		if !ok {
			continue
		}
		mail := s.mail(req, resp.MessageId, to, sent)
		at := sent.Add(s.delay)
		add := func(r ses.Record) {
			r.Mail = mail
			body, err := ses.EncodeRecord(&r)
			if err != nil {
				s.log.Warn("SES simulator: cannot encode a record", "error", err)
				return
			}
			recs = append(recs, simRecord{body: body, due: at})
			at = at.Add(s.delay)
		}
		stamp := func() string { return at.Format("2006-01-02T15:04:05.000Z") }
		switch outcome {
		case "success", "ooto":
			add(ses.Record{EventType: "Delivery", Delivery: delivery(to, stamp(), at.Sub(sent))})
		case "complaint":
			add(ses.Record{EventType: "Delivery", Delivery: delivery(to, stamp(), at.Sub(sent))})
			add(ses.Record{EventType: "Complaint", Complaint: &ses.Complaint{
				ComplainedRecipients: []ses.Recipient{{EmailAddress: to}}, Timestamp: stamp(), FeedbackID: feedbackID(),
				UserAgent: "Amazon SES Mailbox Simulator", ComplaintFeedbackType: "abuse", ArrivalDate: stamp(),
			}})
		case "bounce":
			add(ses.Record{EventType: "Bounce", Bounce: &ses.Bounce{
				BounceType: "Permanent", BounceSubType: "General", Timestamp: stamp(), FeedbackID: feedbackID(),
				BouncedRecipients: []ses.Recipient{{EmailAddress: to, Action: "failed", Status: "5.1.1", DiagnosticCode: "smtp; 550 5.1.1 user unknown"}},
				ReportingMTA:      "dsn; a8-70.smtp-out.amazonses.com",
			}})
		case "suppressionlist":
			add(ses.Record{EventType: "Bounce", Bounce: &ses.Bounce{
				BounceType: "Permanent", BounceSubType: "Suppressed", Timestamp: stamp(), FeedbackID: feedbackID(),
				BouncedRecipients: []ses.Recipient{{EmailAddress: to, Action: "failed", Status: "5.1.1",
					DiagnosticCode: "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address."}},
				ReportingMTA: "dsn; amazonses.com",
			}})
		}
	}
	return recs
}

// simulatorOutcome is the simulator address's outcome (its local part without a
// +label), and whether to is a simulator address SES documents at all.
func simulatorOutcome(to string) (string, bool) {
	at := strings.LastIndexByte(to, '@')
	if at < 0 || !strings.EqualFold(to[at+1:], simulatorDomain) {
		return "", false
	}
	local, _, _ := strings.Cut(strings.ToLower(to[:at]), "+")
	switch local {
	case "success", "bounce", "ooto", "complaint", "suppressionlist":
		return local, true
	}
	return "", false
}

// mail is the record's mail object: the email as SES describes it, with its tags.
func (s *sesSimulator) mail(req sendEmailInput, messageID, to string, sent time.Time) ses.Mail {
	from := req.FromEmailAddress
	domain := from[strings.LastIndexByte(from, '@')+1:]
	domain = strings.TrimRight(domain, ">")
	subject := ""
	if req.Content.Simple != nil {
		subject = req.Content.Simple.Subject.Data
	}
	tags := map[string][]string{
		"ses:caller-identity": {"local"},
		"ses:from-domain":     {domain},
		"ses:source-ip":       {"127.0.0.1"},
	}
	if req.ConfigurationSetName != "" {
		tags["ses:configuration-set"] = []string{req.ConfigurationSetName}
	}
	for _, t := range req.EmailTags {
		tags[t.Name] = []string{t.Value}
	}
	return ses.Mail{
		Timestamp: sent.Format("2006-01-02T15:04:05.000Z"), Source: from,
		SourceArn:        "arn:aws:ses:" + s.region + ":000000000000:identity/" + domain,
		SendingAccountID: "000000000000", MessageID: messageID, Destination: req.Destination.ToAddresses,
		Headers:       []ses.Header{{Name: "From", Value: from}, {Name: "To", Value: to}, {Name: "Subject", Value: subject}, {Name: "MIME-Version", Value: "1.0"}},
		CommonHeaders: &ses.CommonHeaders{From: []string{from}, To: []string{to}, MessageID: messageID, Subject: subject},
		Tags:          tags,
	}
}

func delivery(to, at string, took time.Duration) *ses.Delivery {
	return &ses.Delivery{Timestamp: at, ProcessingTimeMillis: took.Milliseconds(), Recipients: []string{to},
		SMTPResponse: "250 2.6.0 Message received", ReportingMTA: "a8-70.smtp-out.amazonses.com"}
}

// feedbackID is a fresh id in the shape of SES's.
func feedbackID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return "0100" + h[:12] + "-" + h[12:20] + "-" + h[20:] + "-000000"
}
