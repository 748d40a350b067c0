package notify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/credres/credres/internal/httpretry"
	"github.com/credres/credres/pkg/model"
)

func TestStatusErrorClassification(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		want   error
	}{
		{429, model.ErrThrottled},
		{401, model.ErrInvalidInput},
		{403, model.ErrInvalidInput},
		{400, model.ErrInvalidInput},
		{422, model.ErrInvalidInput},
		{404, model.ErrNotFound},
		{409, model.ErrConflict},
		{412, model.ErrConflict},
		{500, nil},
		{503, nil},
	}
	for _, tc := range cases {
		err := error(&StatusError{Status: tc.status})
		for _, s := range []error{model.ErrThrottled, model.ErrInvalidInput, model.ErrNotFound, model.ErrConflict} {
			if errors.Is(err, s) != (s == tc.want) {
				t.Errorf("%d: errors.Is(%v) = %v", tc.status, s, errors.Is(err, s))
			}
		}
	}
}

func TestSanitizeMessage(t *testing.T) {
	t.Parallel()
	in := "User  adele.vance@contoso.example\nwith phone +1 (206) 555-0147 not found " + strings.Repeat("x", 400)
	got := sanitizeMessage(in)
	if strings.Contains(got, "adele.vance") || strings.Contains(got, "555-0147") || strings.Contains(got, "\n") {
		t.Errorf("not masked: %q", got)
	}
	if !strings.HasPrefix(got, "User a•••@contoso.example with phone +1 ••• ••• 0147 not found") {
		t.Errorf("got %q", got)
	}
	if utf8.RuneCountInString(got) != maxMessage {
		t.Errorf("length %d, want %d", utf8.RuneCountInString(got), maxMessage)
	}
}

func TestADFDocument(t *testing.T) {
	t.Parallel()
	got, _ := json.Marshal(adfDocument("Who: Pat.\nAt risk:\n- phone\n- network\n\nRemedy: add a key."))
	want := `{"type":"doc","version":1,"content":[` +
		`{"type":"paragraph","content":[{"type":"text","text":"Who: Pat."},{"type":"hardBreak"},{"type":"text","text":"At risk:"}]},` +
		`{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"phone"}]}]},` +
		`{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"network"}]}]}]},` +
		`{"type":"paragraph","content":[{"type":"text","text":"Remedy: add a key."}]}]}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	empty, _ := json.Marshal(adfDocument("  \n\n"))
	if string(empty) != `{"type":"doc","version":1,"content":[{"type":"paragraph"}]}` {
		t.Errorf("empty text: %s", empty)
	}
}

func TestPreviewAndChain(t *testing.T) {
	t.Parallel()
	if got := preview("Hello Pat,\r\n\r\nIf your phone\nis lost, you cannot sign in.\n\nNext."); got != "If your phone is lost, you cannot sign in." {
		t.Errorf("preview = %q", got)
	}
	if got := preview("Only one paragraph."); got != "Only one paragraph." {
		t.Errorf("preview = %q", got)
	}
	if again := chainID("d1"); chainID("d1") != again || again == chainID("d2") || again < 0 {
		t.Error("chain ids are not stable, distinct and positive")
	}
}

func TestMessagesOfEachSystem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		read func([]byte) string
		body string
		want string
	}{
		{"servicenow", serviceNowMessage, `{"error":{"message":"No Record found","detail":"Records matching query not found"},"status":"failure"}`, "No Record found: Records matching query not found"},
		{"servicenow-plain", serviceNowMessage, `Service Unavailable`, "Service Unavailable"},
		{"jira", jiraMessage, `{"errorMessages":["Issue does not exist"],"errors":{"summary":"too long","labels":"spaces"}}`, "Issue does not exist; labels: spaces; summary: too long"},
		{"graph", graphMessage, `{"error":{"code":"ErrorAccessDenied","message":"Access is denied."}}`, "ErrorAccessDenied: Access is denied."},
		{"webhook-json", plainMessage, `{"message":"queue full"}`, "queue full"},
		{"binary", plainMessage, "\xff\xfe", ""},
	}
	for _, tc := range cases {
		if got := tc.read([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The parsers of what outside systems answer never panic and never let an
// address through.
func FuzzResponseParsers(f *testing.F) {
	f.Add("7", `{"error":{"message":"a@b.example","detail":"+1 2065550147"}}`)
	f.Add("Mon, 02 Mar 2026 09:00:30 GMT", `{"errorMessages":["x"],"errors":{"a":"b"}}`)
	f.Add("1.5", `{"result":[{"sys_id":"1","correlation_id":"CR-1"}]}`)
	f.Fuzz(func(t *testing.T, retryAfter, body string) {
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		if d, ok := httpretry.ParseRetryAfter(retryAfter, now); ok && (d < 0 || d > 24*time.Hour+time.Second) {
			t.Errorf("Retry-After %q = %v", retryAfter, d)
		}
		for _, read := range []func([]byte) string{serviceNowMessage, jiraMessage, graphMessage, plainMessage} {
			m := sanitizeMessage(read([]byte(body)))
			if utf8.RuneCountInString(m) > maxMessage {
				t.Errorf("message of %d runes", utf8.RuneCountInString(m))
			}
			if emailPattern.MatchString(m) && !strings.Contains(m, "•••@") {
				t.Errorf("address kept in %q", m)
			}
		}
		var out struct {
			Result []incident `json:"result"`
		}
		_ = decodeJSON([]byte(body), &out)
	})
}

func FuzzVerifySignature(f *testing.F) {
	body := []byte(`{"decisionId":"d1"}`)
	f.Add([]byte("s"), "1772442000", "d1:opened", body, Sign([]byte("s"), "1772442000", "d1:opened", body))
	f.Add([]byte(""), "", "", []byte{}, "sha256=")
	f.Fuzz(func(t *testing.T, secret []byte, timestamp, delivery string, body []byte, header string) {
		ok := VerifySignature(secret, timestamp, delivery, body, header)
		h := strings.TrimSpace(header)
		if ok != (strings.HasPrefix(h, "sha256=") && strings.EqualFold(h, Sign(secret, timestamp, delivery, body))) {
			t.Errorf("VerifySignature(%q) = %v", header, ok)
		}
	})
}
