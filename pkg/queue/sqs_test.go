package queue

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// createQueue makes a queue with a unique name on the local server and
// deletes it when the test ends.
func createQueue(t *testing.T, client *sqs.Client, suffix string, attrs map[string]string) string {
	t.Helper()
	name := awstest.UniqueName(t) + suffix
	if strings.HasSuffix(name, ".fifo") {
		attrs = withAttr(attrs, string(types.QueueAttributeNameFifoQueue), "true")
	}
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		if _, err := client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Errorf("delete queue %s: %v", name, err)
		}
	})
	return url
}

func withAttr(attrs map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k, v := range attrs {
		out[k] = v
	}
	return out
}

// receive polls until want messages arrived (deleting them) or the deadline
// passed, then checks that nothing more is waiting.
func receive(t *testing.T, client *sqs.Client, url string, want int) []types.Message {
	t.Helper()
	ctx := context.Background()
	var got []types.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, out.Messages...)
	}
	if len(got) != want {
		t.Fatalf("received %d messages, want %d", len(got), want)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) > 0 {
		t.Fatalf("%d more messages than the %d wanted, first %q", len(out.Messages), want, aws.ToString(out.Messages[0].Body))
	}
	return got
}

// countingTransport counts requests by the SQS operation named in their
// X-Amz-Target header.
type countingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.calls[strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// counting returns a copy of client whose requests are counted.
func counting(client *sqs.Client) (*sqs.Client, *countingTransport) {
	ct := &countingTransport{next: http.DefaultTransport, calls: map[string]int{}}
	return sqs.New(client.Options(), func(o *sqs.Options) { o.HTTPClient = &http.Client{Transport: ct} }), ct
}

func auditRequest(user, audit string) model.EvaluationRequest {
	return model.EvaluationRequest{
		UserID: user, TenantID: "t1", Reason: model.ReasonAudit, AuditID: audit,
		Activity: "User registered security info", Time: t0,
	}
}

func TestSQSFIFODropsARepeatedRequest(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	url := createQueue(t, client, ".fifo", nil)
	q := NewSQS(client, url)
	if !q.FIFO() {
		t.Fatal("a .fifo URL is not taken for a FIFO queue")
	}
	ctx := context.Background()
	req := auditRequest("8f4c2a1e-0000-4000-8000-000000000001", "audit-1")
	// The ingest stage repeats a batch after a crash before its checkpoint.
	for range 2 {
		if err := q.SendRequests(ctx, []model.EvaluationRequest{req}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := receive(t, client, url, 1)
	attrs := msgs[0].Attributes
	if attrs["MessageGroupId"] != req.UserID || attrs["MessageDeduplicationId"] != req.DeduplicationID() {
		t.Errorf("group %q dedup %q, want the user id and %q", attrs["MessageGroupId"], attrs["MessageDeduplicationId"], req.DeduplicationID())
	}
	var got model.EvaluationRequest
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &got); err != nil || !reflect.DeepEqual(got, req) {
		t.Errorf("body decodes to %+v (%v), want %+v", got, err, req)
	}
}

func TestSQSSendsRequestsInBatchesOfTen(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	url := createQueue(t, client, ".fifo", nil)
	counted, calls := counting(client)
	q := NewSQS(counted, url)
	var reqs []model.EvaluationRequest
	for i := range 25 {
		reqs = append(reqs, auditRequest(fmt.Sprintf("user-%02d", i), "audit-"+strconv.Itoa(i)))
	}
	if err := q.SendRequests(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	if n := calls.count("SendMessageBatch"); n != 3 {
		t.Errorf("%d SendMessageBatch calls for 25 requests, want 3", n)
	}
	seen := map[string]bool{}
	for _, m := range receive(t, client, url, 25) {
		var r model.EvaluationRequest
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &r); err != nil {
			t.Fatal(err)
		}
		if m.Attributes["MessageGroupId"] != r.UserID {
			t.Errorf("message for %s in group %s", r.UserID, m.Attributes["MessageGroupId"])
		}
		seen[r.UserID] = true
	}
	if len(seen) != 25 {
		t.Errorf("%d distinct users received, want 25", len(seen))
	}
}

func TestSQSBatchesStayUnder256KiB(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	url := createQueue(t, client, ".fifo", nil)
	counted, calls := counting(client)
	q := NewSQS(counted, url)
	// Ten requests of about 60 KiB: four fit in a batch's 256 KiB.
	var reqs []model.EvaluationRequest
	for i := range 10 {
		r := auditRequest("user-"+strconv.Itoa(i), "audit-"+strconv.Itoa(i))
		r.Activity = strings.Repeat("a", 60*1024)
		reqs = append(reqs, r)
	}
	if err := q.SendRequests(context.Background(), reqs); err != nil {
		t.Fatal(err)
	}
	if n := calls.count("SendMessageBatch"); n != 3 {
		t.Errorf("%d SendMessageBatch calls, want 3 (4+4+2)", n)
	}
	receive(t, client, url, 10)
}

func ticketRecord(action, status string) model.TicketRecord {
	return model.TicketRecord{
		DecisionID: "5d0f3b7a9c2e4f6a8b1c3d5e7f9a0b2c", TicketID: "CR-3F9A12C4D7", Status: status, Action: action,
		UserID: "8f4c2a1e-0000-4000-8000-000000000001", UserPrincipalName: "adele.vance@contoso.example",
		Decision: string(model.DecisionTicket), Tier: "admin", Diversity: 1,
		Violations: []model.Violation{"below-min-diversity", "single-point-of-failure:phone-number"},
		Reasons:    []string{"2 nudges ignored 😀", "control \uffff escaped"},
		Methods:    []string{"Microsoft Authenticator (push) on iPhone", "SMS to +1 *** *** **67"},
		Escalated:  true, Time: t0,
	}
}

func TestSQSHelpdeskTicketRoundTrips(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	url := createQueue(t, client, ".fifo", nil)
	h := NewHelpdeskQueue(client, url)
	ctx := context.Background()
	opened, resolved := ticketRecord("opened", model.TicketOpen), ticketRecord("resolved", model.TicketResolved)
	// A redelivered decision sends the same event again: one message.
	for _, rec := range []model.TicketRecord{opened, opened, resolved} {
		if err := h.SendTicket(ctx, model.DecisionMessage{}, rec); err != nil {
			t.Fatal(err)
		}
	}
	msgs := receive(t, client, url, 2)
	for i, want := range []model.TicketRecord{opened, resolved} {
		body := aws.ToString(msgs[i].Body)
		if !utf8.ValidString(body) || strings.ContainsRune(body, '😀') || strings.ContainsRune(body, '\uffff') {
			t.Errorf("body %d carries characters outside the escaped set: %q", i, body)
		}
		var got model.TicketRecord
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ticket %d decodes to %+v (%v),\nwant %+v", i, got, err, want)
		}
		if dedup := msgs[i].Attributes["MessageDeduplicationId"]; dedup != want.DecisionID+"/"+want.Action {
			t.Errorf("ticket %d dedup id %q", i, dedup)
		}
	}
}

// The ticket JSON in docs/STATE.md is what helpdesk integrators build on:
// it must be exactly what credres sends, field for field.
func TestSQSHelpdeskExampleInTheDocsIsExact(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/STATE.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- helpdesk-ticket-example -->\\s*```json\\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/STATE.md has no helpdesk ticket example after <!-- helpdesk-ticket-example -->")
	}
	var rec model.TicketRecord
	dec := json.NewDecoder(bytes.NewReader(m[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		t.Fatalf("the example does not decode into a TicketRecord: %v", err)
	}
	again, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if string(again)+"\n" != string(m[1]) {
		t.Errorf("the example is not what credres sends; it sends:\n%s", again)
	}
}

func TestSQSNudgeOutboxSendsTheRecord(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	url := createQueue(t, client, ".fifo", nil)
	n := NewNudgeOutboxQueue(client, url)
	rec := model.NudgeRecord{
		DecisionID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", UserID: "8f4c2a1e-0000-4000-8000-000000000001",
		Decision: string(model.DecisionNudge), Reminder: true, Violations: []model.Violation{"below-min-diversity"},
		Reasons: []string{"one method left"}, Time: t0,
	}
	for range 2 {
		if err := n.SendNudge(context.Background(), model.DecisionMessage{}, rec); err != nil {
			t.Fatal(err)
		}
	}
	msgs := receive(t, client, url, 1)
	var got model.NudgeRecord
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &got); err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("nudge decodes to %+v (%v)", got, err)
	}
	if msgs[0].Attributes["MessageDeduplicationId"] != rec.DecisionID || msgs[0].Attributes["MessageGroupId"] != rec.UserID {
		t.Errorf("attributes %v", msgs[0].Attributes)
	}
}

func TestSQSStandardQueueGetsNoGroup(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	url := createQueue(t, client, "", nil)
	q := NewSQS(client, url)
	if q.FIFO() {
		t.Fatal("a standard queue taken for FIFO")
	}
	d := model.DecisionMessage{ID: "d1", Decision: model.Decision{Kind: model.DecisionNudge, UserID: "u1"}, Time: t0}
	if err := q.SendDecisions(context.Background(), []model.DecisionMessage{d}); err != nil {
		t.Fatal(err)
	}
	msgs := receive(t, client, url, 1)
	if g, ok := msgs[0].Attributes["MessageGroupId"]; ok {
		t.Errorf("standard queue message has group %q", g)
	}
}

// The redrive policy, not credres, moves a message that keeps failing to
// the dead-letter queue; this checks the local server does, so that the
// pipeline's tests can rely on it.
func TestSQSRedrivesAfterMaxReceiveCount(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	ctx := context.Background()
	dlq := createQueue(t, client, "-dlq.fifo", nil)
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(dlq), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatal(err)
	}
	policy := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":2}`, attrs.Attributes["QueueArn"])
	src := createQueue(t, client, ".fifo", map[string]string{string(types.QueueAttributeNameRedrivePolicy): policy})
	q := NewSQS(client, src)
	d := model.DecisionMessage{ID: "d1", Decision: model.Decision{Kind: model.DecisionTicket, UserID: "u1"}, Time: t0}
	if err := q.SendDecisions(ctx, []model.DecisionMessage{d}); err != nil {
		t.Fatal(err)
	}
	// Two failed deliveries: received, not deleted, and made visible again
	// at once (a visibility timeout of 0 in ReceiveMessage means the
	// queue's default to the SDK, so ChangeMessageVisibility does it).
	for i := range 2 {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(src), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("receive %d: %d messages, want the decision", i+1, len(out.Messages))
		}
		if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(src), ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0,
		}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(src)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 0 {
		t.Fatalf("received a third time: %q", aws.ToString(out.Messages[0].Body))
	}
	msgs := receive(t, client, dlq, 1)
	var got model.DecisionMessage
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &got); err != nil || got.ID != "d1" {
		t.Errorf("dead letter %q (%v)", aws.ToString(msgs[0].Body), err)
	}
}

func TestSQSDeadLetterKeepsBodyAndReason(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	ctx := context.Background()
	longReason := strings.Repeat("é", 3000) // 6000 bytes
	cases := []struct {
		name, body, reason     string
		wantBody, wantEncoding string
		wantReason             string
		truncated              bool
	}{
		{"text-body-as-is", `{"records":[{"operationName":`, "records[0]: unexpected end of JSON input", `{"records":[{"operationName":`, "", "records[0]: unexpected end of JSON input", false},
		{"binary-body-in-base64", "\xff\xfe\x00raw", "not UTF-8", base64.StdEncoding.EncodeToString([]byte("\xff\xfe\x00raw")), "base64", "not UTF-8", false},
		{"empty-body", "", "empty event", EmptyBody, "empty", "empty event", false},
		{"long-reason-truncated", "x1", longReason, "x1", "", "", true},
		{"empty-reason", "x2", "", "x2", "", "unspecified", false},
		{"control-characters-in-reason", "x3", "bad \x00 byte", "x3", "", "bad \ufffd byte", false},
	}
	for _, fifo := range []bool{false, true} {
		suffix := ""
		if fifo {
			suffix = ".fifo"
		}
		url := createQueue(t, client, suffix, nil)
		q := NewSQS(client, url)
		for _, c := range cases {
			if err := q.DeadLetter(ctx, []byte(c.body), c.reason); err != nil {
				t.Fatalf("fifo=%v %s: %v", fifo, c.name, err)
			}
		}
		if fifo { // the same dead letter again is dropped
			if err := q.DeadLetter(ctx, []byte(cases[0].body), cases[0].reason); err != nil {
				t.Fatal(err)
			}
		}
		msgs := receive(t, client, url, len(cases))
		byBody := map[string]types.Message{}
		for _, m := range msgs {
			byBody[aws.ToString(m.Body)] = m
		}
		for _, c := range cases {
			m, ok := byBody[c.wantBody]
			if !ok {
				t.Errorf("fifo=%v %s: no message with body %q", fifo, c.name, c.wantBody)
				continue
			}
			reason := aws.ToString(m.MessageAttributes[AttrReason].StringValue)
			switch {
			case c.truncated:
				if len(reason) > maxReasonBytes || len(reason) < maxReasonBytes-4 || !utf8.ValidString(reason) || !strings.HasSuffix(reason, "…") {
					t.Errorf("fifo=%v %s: reason of %d bytes, want a marked cut at about %d", fifo, c.name, len(reason), maxReasonBytes)
				}
			case reason != c.wantReason:
				t.Errorf("fifo=%v %s: reason %q, want %q", fifo, c.name, reason, c.wantReason)
			}
			if enc := aws.ToString(m.MessageAttributes[AttrEncoding].StringValue); enc != c.wantEncoding {
				t.Errorf("fifo=%v %s: encoding %q, want %q", fifo, c.name, enc, c.wantEncoding)
			}
			if fifo && m.Attributes["MessageGroupId"] != deadLetterGroup {
				t.Errorf("fifo %s: group %q", c.name, m.Attributes["MessageGroupId"])
			}
		}
	}
}

// refusingClient counts the requests that reach the network and fails them.
func refusingClient(t *testing.T) (*sqs.Client, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no call expected", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return sqs.New(sqs.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(srv.URL)}), &calls
}

func TestSQSRefusesOversizedMessagesBeforeSending(t *testing.T) {
	t.Parallel()
	client, calls := refusingClient(t)
	const url = "http://127.0.0.1:1/000000000000/credres-tickets.fifo"
	ctx := context.Background()
	big := strings.Repeat("x", 300*1024)
	huge := ticketRecord("opened", model.TicketOpen)
	huge.Reasons = []string{big}
	oversized := auditRequest("u2", "a2")
	oversized.Activity = big
	for name, send := range map[string]func() error{
		"ticket": func() error {
			return NewHelpdeskQueue(client, url).SendTicket(ctx, model.DecisionMessage{}, huge)
		},
		"one-request-of-a-batch": func() error {
			return NewSQS(client, url).SendRequests(ctx, []model.EvaluationRequest{auditRequest("u1", "a1"), oversized})
		},
	} {
		err := send()
		if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), "256 KiB") || !strings.Contains(err.Error(), "credres-tickets.fifo") {
			t.Errorf("%s: err %v, want invalid input naming the limit and the queue", name, err)
		}
	}
	for name, user := range map[string]string{
		"group-id-over-128-characters": strings.Repeat("u", 129),
		"group-id-with-a-space":        "u 1",
		"group-id-with-non-ascii":      "ü1",
	} {
		err := NewSQS(client, url).SendRequests(ctx, []model.EvaluationRequest{auditRequest("u1", "a1"), auditRequest(user, "a2")})
		if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), "message group") {
			t.Errorf("%s: err %v, want invalid input naming the message group", name, err)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests reached the network", n)
	}
}

// A body over 256 KiB (an Event Hubs event may hold 1 MB) is dead-lettered
// in parts that join to the whole body, text or not.
func TestSQSDeadLetterSplitsALargeBody(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	ctx := context.Background()
	text := []byte(`{"records":[42,"` + strings.Repeat("é€x", 120*1024) + `"]}`) // about 720 KiB
	binary := make([]byte, 400*1024)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{{"text", text}, {"binary", binary}} {
		for _, suffix := range []string{"", ".fifo"} {
			url := createQueue(t, client, suffix, nil)
			if err := NewSQS(client, url).DeadLetter(ctx, tc.body, "p0/12: records[0]: not an object"); err != nil {
				t.Fatalf("%s%s: %v", tc.name, suffix, err)
			}
			n := (len(tc.body) + maxPartBytes - 1) / maxPartBytes
			msgs := receive(t, client, url, n)
			parts := make([][]byte, n)
			letter := ""
			for _, m := range msgs {
				attr := func(k string) string { return aws.ToString(m.MessageAttributes[k].StringValue) }
				if attr(AttrReason) != "p0/12: records[0]: not an object" {
					t.Errorf("%s%s: reason %q", tc.name, suffix, attr(AttrReason))
				}
				if letter == "" {
					letter = attr(AttrLetter)
				}
				if attr(AttrLetter) != letter || letter == "" {
					t.Errorf("%s%s: letter %q, want one id on every part", tc.name, suffix, attr(AttrLetter))
				}
				var i, of int
				if _, err := fmt.Sscanf(attr(AttrPart), "%d/%d", &i, &of); err != nil || of != n || i < 1 || i > n {
					t.Fatalf("%s%s: part %q of %d", tc.name, suffix, attr(AttrPart), n)
				}
				body := []byte(aws.ToString(m.Body))
				if attr(AttrEncoding) == "base64" {
					var err error
					if body, err = base64.StdEncoding.DecodeString(string(body)); err != nil {
						t.Fatal(err)
					}
				}
				parts[i-1] = body
			}
			if joined := bytes.Join(parts, nil); !bytes.Equal(joined, tc.body) {
				t.Errorf("%s%s: the parts join to %d bytes, not the %d-byte body", tc.name, suffix, len(joined), len(tc.body))
			}
		}
	}
}

// fakeBatchServer answers SendMessageBatch in the AWS JSON protocol,
// failing the entries fail chooses.
func fakeBatchServer(t *testing.T, fail func(call int, e batchEntry) (code string, senderFault, failed bool)) (*sqs.Client, *[][]string) {
	var mu sync.Mutex
	var calls [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Entries []batchEntry }
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &in); err != nil || r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessageBatch" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		call := len(calls)
		var ids []string
		for _, e := range in.Entries {
			ids = append(ids, e.ID)
		}
		calls = append(calls, ids)
		mu.Unlock()
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		type failed struct {
			Id, Code, Message string
			SenderFault       bool
		}
		out := struct {
			Successful []ok
			Failed     []failed
		}{Successful: []ok{}, Failed: []failed{}}
		for _, e := range in.Entries {
			if code, sender, f := fail(call, e); f {
				out.Failed = append(out.Failed, failed{e.ID, code, "refused by the fake", sender})
				continue
			}
			sum := md5.Sum([]byte(e.MessageBody))
			out.Successful = append(out.Successful, ok{e.ID, "m-" + e.ID, hex.EncodeToString(sum[:])})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return sqs.New(sqs.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(srv.URL)}), &calls
}

type batchEntry struct {
	ID          string `json:"Id"`
	MessageBody string
}

func TestSQSRetriesFailedEntriesOnce(t *testing.T) {
	t.Parallel()
	const url = "http://127.0.0.1:1/000000000000/credres-evaluate.fifo"
	reqs := []model.EvaluationRequest{auditRequest("u0", "a0"), auditRequest("u1", "a1"), auditRequest("u2", "a2")}
	isU1 := func(e batchEntry) bool { return strings.Contains(e.MessageBody, `"userId":"u1"`) }

	t.Run("transient-failure-succeeds-on-retry", func(t *testing.T) {
		t.Parallel()
		client, calls := fakeBatchServer(t, func(call int, e batchEntry) (string, bool, bool) {
			return "InternalError", false, call == 0 && isU1(e)
		})
		if err := NewSQS(client, url).SendRequests(context.Background(), reqs); err != nil {
			t.Fatal(err)
		}
		if want := [][]string{{"0", "1", "2"}, {"1"}}; !reflect.DeepEqual(*calls, want) {
			t.Errorf("calls %v, want %v", *calls, want)
		}
	})
	t.Run("lasting-failure-names-the-entry", func(t *testing.T) {
		t.Parallel()
		client, calls := fakeBatchServer(t, func(_ int, e batchEntry) (string, bool, bool) {
			return "InternalError", false, isU1(e)
		})
		err := NewSQS(client, url).SendRequests(context.Background(), reqs)
		want := "queue: send 3 evaluation requests to credres-evaluate.fifo: 1 of 3 messages not sent: evaluation request " +
			reqs[1].DeduplicationID() + " for user u1 (InternalError: refused by the fake)"
		if err == nil || err.Error() != want || errors.Is(err, model.ErrInvalidInput) {
			t.Errorf("err %v\nwant %s (not invalid input)", err, want)
		}
		if len(*calls) != 2 {
			t.Errorf("%d calls, want 2", len(*calls))
		}
	})
	t.Run("sender-fault-is-not-retried", func(t *testing.T) {
		t.Parallel()
		client, calls := fakeBatchServer(t, func(_ int, e batchEntry) (string, bool, bool) {
			return "InvalidMessageContents", true, isU1(e)
		})
		err := NewSQS(client, url).SendRequests(context.Background(), reqs)
		if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), "for user u1 (InvalidMessageContents") {
			t.Errorf("err %v, want invalid input naming u1", err)
		}
		if len(*calls) != 1 {
			t.Errorf("%d calls, want 1", len(*calls))
		}
	})
}

func TestSQSJSONEscapesWhatSQSRefuses(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"a":"plain é"}`:    `{"a":"plain é"}`,
		"{\"a\":\"\uffff\"}": `{"a":"\uffff"}`,
		`{"a":"😀"}`:          `{"a":"\ud83d\ude00"}`,
	} {
		got := sqsJSON([]byte(in))
		if got != want {
			t.Errorf("sqsJSON(%q) = %q, want %q", in, got, want)
		}
		var a, b any
		if json.Unmarshal([]byte(in), &a) != nil || json.Unmarshal([]byte(got), &b) != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("sqsJSON(%q) changed the meaning", in)
		}
	}
}

func TestTruncateKeepsRunesWhole(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("é", 100) // 200 bytes
	for n := minReasonBytes; n < 200; n++ {
		got := truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
			t.Fatalf("truncate to %d: %q (%d bytes)", n, got, len(got))
		}
	}
	if truncate(s, 200) != s {
		t.Error("a string that fits was cut")
	}
}

// The SQS senders are what the Lambda functions wire into the pipeline.
var (
	_ pipeline.RequestQueue  = (*SQS)(nil)
	_ pipeline.DecisionQueue = (*SQS)(nil)
	_ pipeline.DeadLetters   = (*SQS)(nil)
	_ pipeline.TicketSender  = (*HelpdeskQueue)(nil)
	_ pipeline.NudgeSender   = (*NudgeOutboxQueue)(nil)
)

// Delay hides received messages for longer than the queue's visibility
// timeout.
func TestSQSDelayExtendsTheVisibilityTimeout(t *testing.T) {
	t.Parallel()
	client := awstest.SQS(t)
	ctx := context.Background()
	url := createQueue(t, client, ".fifo", map[string]string{string(types.QueueAttributeNameVisibilityTimeout): "1"})
	q := NewSQS(client, url)
	if err := q.SendRequests(ctx, []model.EvaluationRequest{auditRequest("u1", "a1")}); err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages", err, len(out.Messages))
	}
	if err := q.Delay(ctx, []string{aws.ToString(out.Messages[0].ReceiptHandle)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the queue's own timeout of 1 s
	again, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(again.Messages) != 0 {
		t.Errorf("receive after the queue's timeout: %v, %d messages; want none for an hour", err, len(again.Messages))
	}
}
