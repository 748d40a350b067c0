package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// spy records the violations a fake reports instead of failing the test:
// these tests send malformed requests on purpose.
type spy struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (s *spy) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

func (s *spy) Helper() {}

func (s *spy) violations() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.errs, "\n")
}

// do sends a request and returns the status and body.
func do(t *testing.T, method, u, body string, h map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServiceNowFakeChecksAndQueries(t *testing.T) {
	t.Parallel()
	tb := &spy{TB: t}
	s := NewServiceNow(tb, ServiceNowCredential{Token: "tok"})
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer tok"}
	table := s.URL() + "/api/now/table/incident"

	if st, body := do(t, http.MethodGet, table, "", map[string]string{"Authorization": "Bearer nope"}); st != 401 || !strings.Contains(body, "User Not Authenticated") {
		t.Errorf("bad token: %d %s", st, body)
	}
	if st, _ := do(t, http.MethodPost, table, `{"description":"no title","correlation_id":"A"}`, h); st != 400 {
		t.Errorf("no short_description: %d", st)
	}
	for _, c := range []string{"A", "B"} {
		if st, _ := do(t, http.MethodPost, table, `{"short_description":"t","correlation_id":"`+c+`","category":"inquiry"}`, h); st != 201 {
			t.Fatalf("create %s: %d", c, st)
		}
	}
	sysID := s.Incidents()[0].SysID
	if st, _ := do(t, http.MethodPatch, table+"/"+sysID, `{"state":"6"}`, h); st != 403 {
		t.Errorf("resolve without close code: %d", st)
	}
	do(t, http.MethodPatch, table+"/"+sysID, `{"u_custom":"x"}`, h)
	if v := tb.violations(); !strings.Contains(v, "short_description") || !strings.Contains(v, "close_code") || !strings.Contains(v, `unexpected field "u_custom"`) {
		t.Errorf("violations:\n%s", v)
	}

	query := func(q string) string {
		_, body := do(t, http.MethodGet, table+"?sysparm_fields=correlation_id&sysparm_query="+url.QueryEscape(q), "", h)
		return body
	}
	cases := map[string]string{
		"correlation_id=A":                            `{"result":[{"correlation_id":"A"}]}`,
		"correlation_id=X^ORcorrelation_id=B":         `{"result":[{"correlation_id":"B"}]}`,
		"correlation_id=A^ORcorrelation_id=B^state=1": `{"result":[{"correlation_id":"A"},{"correlation_id":"B"}]}`,
		"correlation_id!=A":                           `{"result":[{"correlation_id":"B"}]}`,
		"correlation_id=Z":                            `{"result":[]}`,
		// Like ServiceNow, a term on an unknown field is ignored.
		"u_unknown=1": `{"result":[{"correlation_id":"A"},{"correlation_id":"B"}]}`,
	}
	for q, want := range cases {
		if got := query(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

func TestJiraFakeChecksADFAndLagsInSearch(t *testing.T) {
	t.Parallel()
	tb := &spy{TB: t}
	clock := NewClock(time.Time{})
	j := NewJira(tb, JiraSite{Project: "CR", DoneTransition: "31", Email: "e", APIToken: "k", SearchLag: 10 * time.Second, Clock: clock})
	h := map[string]string{"Content-Type": "application/json", "Authorization": "Basic ZTpr"} // e:k
	issue := j.URL() + "/rest/api/3/issue"

	bad := map[string]string{
		"plain-text-description": `{"fields":{"project":{"key":"CR"},"issuetype":{"name":"Task"},"summary":"s","description":"text","labels":["a"]}}`,
		"empty-text-node":        `{"fields":{"project":{"key":"CR"},"issuetype":{"name":"Task"},"summary":"s","description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":""}]}]}}}`,
		"two-line-summary":       `{"fields":{"project":{"key":"CR"},"issuetype":{"name":"Task"},"summary":"a\nb","description":{"type":"doc","version":1,"content":[{"type":"paragraph"}]}}}`,
		"label-with-space":       `{"fields":{"project":{"key":"CR"},"issuetype":{"name":"Task"},"summary":"s","description":{"type":"doc","version":1,"content":[{"type":"paragraph"}]},"labels":["a b"]}}`,
		"other-project":          `{"fields":{"project":{"key":"XX"},"issuetype":{"name":"Task"},"summary":"s","description":{"type":"doc","version":1,"content":[{"type":"paragraph"}]}}}`,
	}
	for name, body := range bad {
		if st, _ := do(t, http.MethodPost, issue, body, h); st != 400 {
			t.Errorf("%s: %d, want 400", name, st)
		}
	}
	if n := strings.Count(tb.violations(), "create issue"); n != len(bad) {
		t.Errorf("%d violations reported, want %d:\n%s", n, len(bad), tb.violations())
	}

	good := `{"fields":{"project":{"key":"CR"},"issuetype":{"name":"Task"},"summary":"s","labels":["credres","u-1"],` +
		`"description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a"},{"type":"hardBreak"},{"type":"text","text":"b"}]},` +
		`{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"c"}]}]}]}]}}}`
	if st, body := do(t, http.MethodPost, issue, good, h); st != 201 || !strings.Contains(body, `"key":"CR-1"`) {
		t.Fatalf("create: %d %s", st, body)
	}
	if d := j.Issues()[0].Description; d != "a\nb\n\n- c" {
		t.Errorf("description text %q", d)
	}
	search := func() string {
		jql := url.QueryEscape(`project = "CR" AND labels = "u-1" AND statusCategory != Done`)
		_, body := do(t, http.MethodGet, j.URL()+"/rest/api/3/search/jql?jql="+jql, "", h)
		return body
	}
	if got := search(); strings.Contains(got, "CR-1") {
		t.Errorf("a new issue was searchable at once: %s", got)
	}
	clock.Advance(10 * time.Second)
	if got := search(); !strings.Contains(got, "CR-1") {
		t.Errorf("the issue is not searchable after the lag: %s", got)
	}
	if st, _ := do(t, http.MethodPost, issue+"/CR-1/transitions", `{"transition":{"id":"31"}}`, h); st != 204 {
		t.Errorf("transition: %d", st)
	}
	if got := search(); !strings.Contains(got, "CR-1") {
		t.Errorf("search saw the transition before the lag: %s", got)
	}
	clock.Advance(10 * time.Second)
	if got := search(); strings.Contains(got, "CR-1") {
		t.Errorf("a done issue still matches statusCategory != Done: %s", got)
	}
	if st, body := do(t, http.MethodPost, issue+"/CR-1/transitions", `{"transition":{"id":"31"}}`, h); st != 400 || !strings.Contains(body, "not valid") {
		t.Errorf("transition of a done issue: %d %s", st, body)
	}
}

func TestGraphFakeChecksBodiesAndChains(t *testing.T) {
	t.Parallel()
	tb := &spy{TB: t}
	g := NewGraph(tb, "tok")
	h := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer tok"}
	if st, _ := do(t, http.MethodPost, g.URL()+"/users/s@x/sendMail", `{"message":{"subject":"s","body":{"contentType":"markdown","content":"c"},"toRecipients":[{"emailAddress":{"address":"u@x"}}]}}`, h); st != 400 {
		t.Errorf("markdown body: %d", st)
	}
	if st, _ := do(t, http.MethodPost, g.URL()+"/users/s@x/sendMail", `{"message":{"subject":"s","body":{"contentType":"HTML","content":"c"}}}`, h); st != 400 {
		t.Errorf("no recipient: %d", st)
	}
	if st, _ := do(t, http.MethodPost, g.URL()+"/users/u-1/teamwork/sendActivityNotification", `{"topic":{"source":"text","value":"v"},"activityType":"systemDefault","previewText":{"content":"p"},"templateParameters":[{"name":"systemDefaultText","value":"x"}]}`, h); st != 400 {
		t.Errorf("text topic without webUrl: %d", st)
	}
	act := `{"topic":{"source":"text","value":"v","webUrl":"https://x"},"activityType":"systemDefault","chainId":7,"previewText":{"content":"%s"},"templateParameters":[{"name":"systemDefaultText","value":"x"}]}`
	for _, p := range []string{"first", "second"} {
		if st, _ := do(t, http.MethodPost, g.URL()+"/users/u-1/teamwork/sendActivityNotification", fmt.Sprintf(act, p), h); st != 204 {
			t.Fatalf("activity: %d", st)
		}
	}
	if a := g.Activities(); len(a) != 1 || a[0].Preview != "second" {
		t.Errorf("activities %+v: the same chainId replaces", a)
	}
	if n := strings.Count(tb.violations(), "graphtest: "); n != 3 {
		t.Errorf("%d violations, want 3:\n%s", n, tb.violations())
	}
}

func TestWebhookReceiverChecksSignatureAndDelivery(t *testing.T) {
	t.Parallel()
	tb := &spy{TB: t}
	w := NewWebhookReceiver(tb, "k")
	body := `{"decisionId":"d1","ticketId":"CR-1","status":"open","action":"opened","userId":"u","userPrincipalName":"","decision":"ticket","diversity":1,"violations":null,"reasons":null,"time":"2026-03-02T09:00:00Z"}`
	h := map[string]string{
		"Content-Type": "application/json", "X-Credres-Event": "ticket", "X-Credres-Delivery": "d1:opened", "X-Credres-Timestamp": "1772442000",
		"X-Credres-Signature": "sha256=0000",
	}
	if st, _ := do(t, http.MethodPost, w.URL(), body, h); st != 401 {
		t.Errorf("bad signature: %d", st)
	}
	if len(w.Deliveries()) != 0 {
		t.Error("an unsigned delivery was kept")
	}
	mac := hmac.New(sha256.New, []byte("k"))
	mac.Write([]byte("1772442000\nd1:resolved\n" + body))
	h["X-Credres-Signature"] = "sha256=" + hex.EncodeToString(mac.Sum(nil))
	// The body alone signed, as before the timestamp and delivery id were.
	h["X-Credres-Delivery"] = "d1:resolved"
	bodyOnly := hmac.New(sha256.New, []byte("k"))
	bodyOnly.Write([]byte(body))
	h2 := map[string]string{}
	for k, v := range h {
		h2[k] = v
	}
	h2["X-Credres-Signature"] = "sha256=" + hex.EncodeToString(bodyOnly.Sum(nil))
	if st, _ := do(t, http.MethodPost, w.URL(), body, h2); st != 401 {
		t.Errorf("body-only signature: %d", st)
	}
	if st, _ := do(t, http.MethodPost, w.URL(), body, h); st != 202 {
		t.Errorf("signed delivery: %d", st)
	}
	if v := tb.violations(); !strings.Contains(v, `X-Credres-Delivery "d1:resolved", want "d1:opened"`) {
		t.Errorf("violations:\n%s", v)
	}
}
