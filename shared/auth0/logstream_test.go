package auth0

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const fixtures = "../../events/logstream"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func date(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const (
	conn     = "Username-Password-Authentication"
	appID    = "aI61p8I8aFjmYRliLWgvM9ev97kCCNDB"
	ann      = "auth0|677f2c9e8b1d4a0071a3c5e2"
	bob      = "auth0|677f31a2c4e8d90070b2f1a9"
	orgID    = "org_W8nQ3vJm5kTz2LpX"
	orgName  = "acme-corp"
	annEmail = "ann.invitee@example.com"
	bobEmail = "bob@example.org"
)

func TestDecodeEachType(t *testing.T) {
	tests := []struct {
		file  string
		want  LogEvent
		known bool
	}{
		{"type-s.json", LogEvent{
			LogID: "9002026010209151000524810450344328104059256377126073400", Type: EventSuccessLogin,
			Date: date(t, "2026-01-02T09:15:10.706Z"), UserID: ann, UserName: annEmail, Email: annEmail,
			ClientID: appID, Connection: conn, LoginsCount: 1,
		}, true},
		{"type-ss.json", LogEvent{
			LogID: "9002026010209141901091660771661637729952828339599418448", Type: EventSuccessSignup,
			Date: date(t, "2026-01-02T09:14:19.503Z"), UserID: bob, UserName: bobEmail, Email: bobEmail,
			ClientID: appID, Connection: conn,
		}, true},
		{"type-scp.json", LogEvent{
			LogID: "9002026010209130200774658141645831455937699655902531627", Type: EventSuccessChangePassword,
			Date: date(t, "2026-01-02T09:13:02.118Z"), UserID: ann, UserName: annEmail, Email: annEmail,
			ClientID: appID, Connection: conn, Description: "Password changed successfully",
		}, true},
		{"type-fi.json", LogEvent{
			LogID: "9002026010210014400285382813021594183895969418278667381", Type: EventFailedInviteAccept,
			Date: date(t, "2026-01-02T10:01:44.420Z"), UserID: bob, UserName: bobEmail, Email: bobEmail,
			ClientID: appID, Connection: conn, OrganizationID: orgID, OrganizationName: orgName,
			Description:  "the specified account is not allowed to accept the current invitation",
			InvitationID: "uinv_Xp3rT8mQ2vLk9WzA",
		}, true},
		{"type-f.json", LogEvent{
			LogID: "9002026010208060500555846124710676159340927678414409944", Type: EventFailedLogin,
			Date:        date(t, "2026-01-02T08:06:05.696Z"),
			Description: "Callback URL mismatch. http://localhost:3000/callback is not in the list of allowed callback URLs",
		}, true},
		{"type-fp.json", LogEvent{
			LogID: "9002026010208251400732467380301574846790679763687181199", Type: EventFailedLoginPassword,
			Date: date(t, "2026-01-02T08:25:14.466Z"), UserID: bob, UserName: bobEmail, Email: bobEmail,
			ClientID: appID, Connection: conn, Description: "Wrong email or password.",
		}, true},
		{"type-seccft.json", LogEvent{
			LogID: "9002026010208000100751616885504221486281101634341521958", Type: "seccft",
			Date: date(t, "2026-01-02T08:00:01.002Z"), ClientID: "9qHcM2kR8sXnT4vLw1ZbPq7eYd3uFj6A",
			Description: "Client Credentials for Access Token",
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := Decode(bytes.NewReader(readFixture(t, tt.file)), nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if b.Format != FormatObject || b.Records != 1 || len(b.Errors) != 0 {
				t.Fatalf("got format %q, %d records, errors %v; want object, 1, none", b.Format, b.Records, b.Errors)
			}
			if len(b.Events) != 1 {
				t.Fatalf("got %d events, want 1", len(b.Events))
			}
			if got := b.Events[0]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if got := b.Events[0].Type.Known(); got != tt.known {
				t.Errorf("Known() = %v, want %v", got, tt.known)
			}
		})
	}
}

func TestDecodeFormats(t *testing.T) {
	tests := []struct {
		file       string
		filter     func(EventType) bool
		wantFormat Format
		wantIDs    []string
		wantTypes  []EventType
		records    int
	}{
		{"format-array.json", nil, FormatArray, []string{
			"9002026010311000000838245623627619362388108620655066147",
			"9002026010311001200082228766570242806050310458754168501",
			"9002026010311001300065915485795257963279080649027028175",
			"9002026010311024000739934551894016403613858370289392332",
		}, []EventType{"scp", "s", "seccft", "s"}, 4},
		{"format-array.json", InvitationEvents, FormatArray, []string{
			"9002026010311000000838245623627619362388108620655066147",
			"9002026010311001200082228766570242806050310458754168501",
			"9002026010311024000739934551894016403613858370289392332",
		}, []EventType{"scp", "s", "s"}, 4},
		{"format-lines.jsonl", nil, FormatLines, []string{
			"9002026010312000000557131352551243386252225922438829771",
			"9002026010312003000758874445925665958232241903667898020",
			"9002026010312010000906537098333630759754572366033234488",
		}, []EventType{"ss", "fp", "fi"}, 3},
		{"format-lines.jsonl", InvitationEvents, FormatLines, []string{
			"9002026010312000000557131352551243386252225922438829771",
			"9002026010312010000906537098333630759754572366033234488",
		}, []EventType{"ss", "fi"}, 3},
		{"format-object.json", nil, FormatObject, []string{
			"9002026010313000000759260878420898034337616728454075787",
		}, []EventType{"s"}, 1},
		{"batch-mixed-100.json", InvitationEvents, FormatArray, []string{
			"9002026010414005700414522814574074515998054747193677271",
		}, []EventType{"s"}, 100},
	}
	for _, tt := range tests {
		name := tt.file
		if tt.filter != nil {
			name += "/filtered"
		}
		t.Run(name, func(t *testing.T) {
			b, err := Decode(bytes.NewReader(readFixture(t, tt.file)), tt.filter)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if b.Format != tt.wantFormat {
				t.Errorf("got format %q, want %q", b.Format, tt.wantFormat)
			}
			if b.Records != tt.records {
				t.Errorf("got %d records, want %d", b.Records, tt.records)
			}
			if len(b.Errors) != 0 || b.Truncated {
				t.Errorf("got errors %v truncated %v, want none", b.Errors, b.Truncated)
			}
			var ids []string
			var types []EventType
			for _, e := range b.Events {
				ids = append(ids, e.LogID)
				types = append(types, e.Type)
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) || !reflect.DeepEqual(types, tt.wantTypes) {
				t.Errorf("got ids %v types %v\nwant ids %v types %v", ids, types, tt.wantIDs, tt.wantTypes)
			}
		})
	}
}

func TestDecodeOrganizationLogin(t *testing.T) {
	b, err := Decode(bytes.NewReader(readFixture(t, "format-object.json")), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := b.Events[0]
	if got.OrganizationID != orgID || got.OrganizationName != orgName || got.Email != bobEmail || got.LoginsCount != 1 {
		t.Errorf("got org %q/%q email %q logins %d; want %q/%q %q 1",
			got.OrganizationID, got.OrganizationName, got.Email, got.LoginsCount, orgID, orgName, bobEmail)
	}
}

// The array fixture re-encoded as lines and as a pretty-printed single object must
// decode to the same events: the three formats carry the same records.
func TestDecodeFormatsAgree(t *testing.T) {
	var recs []json.RawMessage
	if err := json.Unmarshal(readFixture(t, "format-array.json"), &recs); err != nil {
		t.Fatal(err)
	}
	arr, err := Decode(bytes.NewReader(readFixture(t, "format-array.json")), nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines bytes.Buffer
	for _, r := range recs {
		var c bytes.Buffer
		if err := json.Compact(&c, r); err != nil {
			t.Fatal(err)
		}
		lines.Write(c.Bytes())
		lines.WriteString("\r\n\n") // CRLF and blank lines are tolerated
	}
	got, err := Decode(&lines, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != FormatLines || !reflect.DeepEqual(got.Events, arr.Events) {
		t.Errorf("lines: got format %q events %+v\nwant lines %+v", got.Format, got.Events, arr.Events)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, recs[1], "", "    "); err != nil {
		t.Fatal(err)
	}
	obj, err := Decode(&pretty, nil)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Format != FormatObject || len(obj.Events) != 1 || !reflect.DeepEqual(obj.Events[0], arr.Events[1]) {
		t.Errorf("object: got format %q events %+v, want object %+v", obj.Format, obj.Events, arr.Events[1])
	}
}

func TestDecodeMalformedRecords(t *testing.T) {
	good := func(id, typ string) string {
		return `{"log_id":"` + id + `","data":{"date":"2026-01-02T09:15:10.706Z","type":"` + typ + `","user_id":"auth0|1","user_name":"a@example.com"}}`
	}
	tests := []struct {
		name       string
		body       string
		wantIDs    []string
		wantErrIdx []int
		truncated  bool
	}{
		{"array: a record without data between good ones",
			`[` + good("1", "s") + `,{"log_id":"2"},` + good("3", "ss") + `]`,
			[]string{"1", "3"}, []int{1}, false},
		{"array: bad date, no log_id, no type, data not an object",
			`[` + good("1", "s") + `,{"log_id":"2","data":{"type":"s","date":"yesterday"}},{"data":{"type":"s"}},{"log_id":"4","data":{}},{"log_id":"5","data":"x"},` + good("6", "fi") + `]`,
			[]string{"1", "6"}, []int{1, 2, 3, 4}, false},
		{"array: bad JSON inside balanced brackets spoils only its element",
			`[` + good("1", "s") + `,{"log_id":"2","data":{"type":}},` + good("3", "s") + `]`,
			[]string{"1", "3"}, []int{1}, false},
		{"array: scalars and an empty slot",
			`[` + good("1", "s") + `, 7, "x", null, ,` + good("6", "s") + `]`,
			[]string{"1", "6"}, []int{1, 2, 3, 4}, false},
		{"array: an unclosed element stops the array, earlier records kept",
			`[` + good("1", "s") + `,{"log_id":"2","data":{"type":"s"},` + good("3", "s") + `]`,
			[]string{"1"}, []int{1, 2}, true},
		{"array: junk between elements",
			`[` + good("1", "s") + ` x ` + good("2", "s") + `]`,
			[]string{"1"}, []int{1}, true},
		{"array: empty", `[ ]`, nil, nil, false},
		{"array: cut short",
			`[` + good("1", "s") + `,` + good("2", "s"),
			[]string{"1", "2"}, []int{2}, true},
		{"lines: a broken line between good ones",
			good("1", "s") + "\n{\"log_id\":\"2\",\"data\":{\n" + good("3", "scp") + "\n",
			[]string{"1", "3"}, []int{1}, false},
		{"lines: the first line broken",
			"{\"log_id\":\n" + good("2", "s") + "\n" + good("3", "s") + "\n",
			[]string{"2", "3"}, []int{0}, false},
		{"object: not JSON after all",
			"{\"log_id\": \"1\",\n \"data\": [}\n",
			nil, []int{0, 1}, false},
		{"log ids that cannot key deduplication",
			`[{"log_id":"a b","data":{"type":"s"}},{"log_id":"\u0000","data":{"type":"s"}},{"log_id":"` + strings.Repeat("9", 129) + `","data":{"type":"s"}},` + good("4", "s") + `]`,
			[]string{"4"}, []int{0, 1, 2}, false},
		{"details of unexpected shapes are ignored",
			`[{"log_id":"1","data":{"type":"s","user_id":"auth0|1","details":{"stats":"many","body":[1],"email":7}}}]`,
			[]string{"1"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Decode(strings.NewReader(tt.body), nil)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var ids []string
			for _, e := range b.Events {
				ids = append(ids, e.LogID)
			}
			var idx []int
			for _, e := range b.Errors {
				idx = append(idx, e.Index)
				if e.Err == nil || e.Error() == "" {
					t.Errorf("record error %d has no cause", e.Index)
				}
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) {
				t.Errorf("got events %v, want %v", ids, tt.wantIDs)
			}
			if !reflect.DeepEqual(idx, tt.wantErrIdx) {
				t.Errorf("got errors at %v (%v), want at %v", idx, b.Errors, tt.wantErrIdx)
			}
			if b.Truncated != tt.truncated {
				t.Errorf("got truncated %v, want %v", b.Truncated, tt.truncated)
			}
		})
	}
}

func TestDecodeRejectsNonBatches(t *testing.T) {
	for _, body := range []string{"", "   \n", `"s"`, `42`, `<html>`} {
		t.Run(body, func(t *testing.T) {
			_, err := Decode(strings.NewReader(body), nil)
			if !errors.Is(err, ErrNotLogStream) {
				t.Errorf("got %v, want ErrNotLogStream", err)
			}
		})
	}
}

func TestDecodeFilterSkipsUndecodableIrrelevantRecords(t *testing.T) {
	// A record the filter rejects is not decoded, so its bad date is never seen;
	// a kept record with the same fault is reported.
	body := `[{"log_id":"1","data":{"type":"seccft","date":"garbage"}},{"log_id":"2","data":{"type":"s","date":"garbage"}}]`
	b, err := Decode(strings.NewReader(body), InvitationEvents)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 0 || len(b.Errors) != 1 || b.Errors[0].Index != 1 {
		t.Errorf("got events %v errors %v, want none and one at 1", b.Events, b.Errors)
	}
}

func FuzzDecode(f *testing.F) {
	entries, err := os.ReadDir(fixtures)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		body := readFixture(f, e.Name())
		// Go's mutator slows to a crawl on inputs of many kilobytes; the 100-event
		// batch is covered by the table tests, its records by the smaller fixtures.
		if len(body) > 16<<10 {
			continue
		}
		f.Add(body, false)
		f.Add(body, true)
	}
	f.Add([]byte(`[{"log_id":"1","data":{"type":"s"}},{"log_id":"2","data":{"type":}}]`), true)
	f.Add([]byte("{\"log_id\":\"1\",\"data\":{\"type\":\"s\"}}\n{\"log_id\":"), true)
	f.Fuzz(func(t *testing.T, body []byte, filtered bool) {
		var filter func(EventType) bool
		if filtered {
			filter = InvitationEvents
		}
		b, err := Decode(bytes.NewReader(body), filter)
		if err != nil {
			return
		}
		if len(b.Events)+len(b.Errors) > b.Records+1 {
			t.Fatalf("%d events and %d errors from %d records", len(b.Events), len(b.Errors), b.Records)
		}
		for _, e := range b.Events {
			if e.LogID == "" {
				t.Fatalf("event without a log id: %+v", e)
			}
			if !bytes.Contains(body, []byte(e.LogID)) && !containsJSONString(body, e.LogID) {
				t.Fatalf("log id %q does not appear in the input", e.LogID)
			}
			if filtered && !InvitationEvents(e.Type) {
				t.Fatalf("filtered decode returned a %q event", e.Type)
			}
		}
	})
}

// containsJSONString reports whether s appears in body as a JSON string, which may
// spell it with escapes.
func containsJSONString(body []byte, s string) bool {
	q, _ := json.Marshal(s)
	if bytes.Contains(body, q[1:len(q)-1]) {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if str, ok := tok.(string); ok && str == s {
			return true
		}
	}
}

// BenchmarkDecode measures the webhook's common case: a batch of 100 tenant events of
// which one concerns an invitation. events/s counts every record in the batch.
func BenchmarkDecode(b *testing.B) {
	body := readFixture(b, "batch-mixed-100.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		batch, err := Decode(bytes.NewReader(body), InvitationEvents)
		if err != nil || len(batch.Events) != 1 {
			b.Fatalf("got %v events, err %v", batch, err)
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecodeLines(b *testing.B) {
	var recs []json.RawMessage
	if err := json.Unmarshal(readFixture(b, "batch-mixed-100.json"), &recs); err != nil {
		b.Fatal(err)
	}
	var body bytes.Buffer
	for _, r := range recs {
		body.Write(r)
		body.WriteByte('\n')
	}
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		batch, err := Decode(bytes.NewReader(body.Bytes()), InvitationEvents)
		if err != nil || len(batch.Events) != 1 {
			b.Fatalf("got %v events, err %v", batch, err)
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "events/s")
}
