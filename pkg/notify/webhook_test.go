package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credres/credres/internal/notifytest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
)

func newWebhook(t *testing.T, secret string) (*notify.Webhook, *notifytest.WebhookReceiver, *notifytest.Clock) {
	t.Helper()
	recv := notifytest.NewWebhookReceiver(t, hookSecret)
	clock := notifytest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: recv.URL(), Secrets: testSecrets, Secret: secret, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return w, recv, clock
}

func TestWebhookDeliversSignedRecords(t *testing.T) {
	t.Parallel()
	w, recv, clock := newWebhook(t, "hook")
	rec := ticket("opened", "CR-AAAAAAAAAA", "d-open")
	send(t, w, rec)
	ctx, _ := logged(t)
	dm, n := nudge("email")
	if err := w.SendNudge(ctx, dm, n); err != nil {
		t.Fatal(err)
	}
	ds := recv.Deliveries()
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want 2", len(ds))
	}
	if d := ds[0]; d.ID != "d-open:opened" || d.Event != "ticket" || d.Timestamp != clock.Now().Unix() {
		t.Errorf("ticket delivery = %s %s %d", d.ID, d.Event, d.Timestamp)
	}
	got, _ := json.Marshal(ds[0].Ticket)
	want, _ := json.Marshal(rec)
	if string(got) != string(want) {
		t.Errorf("ticket body:\n%s\nwant\n%s", got, want)
	}
	if d := ds[1]; d.ID != "d-nudge-1:nudge" || d.Event != "nudge" || d.Nudge.Subject != n.Subject || d.Nudge.To != "p•••@contoso.example" {
		t.Errorf("nudge delivery = %+v", d)
	}
	if strings.Contains(string(ds[1].Body), userMail) {
		t.Error("the nudge body holds the user's address")
	}
}

func TestWebhookRetryIsDeduplicatedByTheReceiver(t *testing.T) {
	t.Parallel()
	w, recv, _ := newWebhook(t, "hook")
	recv.Fail(notifytest.Fault{Apply: true, Drop: true})
	send(t, w, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
	// Redelivered by the queue, under the new ticket id the pipeline gives it.
	send(t, w, ticket("opened", "CR-BBBBBBBBBB", "d-open"))
	reqs := recv.Requests()
	if len(reqs) != 3 || recv.Duplicates() != 2 || len(recv.Deliveries()) != 1 {
		t.Fatalf("%d posts, %d duplicates, %d deliveries; want 3, 2, 1", len(reqs), recv.Duplicates(), len(recv.Deliveries()))
	}
	for _, r := range reqs {
		if r.Header.Get("X-Credres-Delivery") != "d-open:opened" {
			t.Errorf("delivery id %q", r.Header.Get("X-Credres-Delivery"))
		}
		// Each attempt signs its own timestamp.
		if !notify.VerifySignature([]byte(hookSecret), r.Header.Get("X-Credres-Timestamp"), r.Header.Get("X-Credres-Delivery"), r.Body, r.Header.Get("X-Credres-Signature")) {
			t.Errorf("attempt at %s does not verify", r.Header.Get("X-Credres-Timestamp"))
		}
	}
}

func TestWebhookWrongSecretIsRejected(t *testing.T) {
	t.Parallel()
	w, recv, _ := newWebhook(t, "hook-wrong")
	ctx, _ := logged(t)
	err := w.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
	if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), "401 Unauthorized: credentials rejected: bad signature") {
		t.Fatalf("err = %v", err)
	}
	errClean(t, err)
	if len(recv.Deliveries()) != 0 || len(recv.Requests()) != 1 {
		t.Errorf("deliveries %d, requests %d", len(recv.Deliveries()), len(recv.Requests()))
	}
}

func TestWebhookURLNeverInErrors(t *testing.T) {
	t.Parallel()
	// A closed port: the transport error must not quote the URL's token.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=tok-secret-123"
	srv.Close()
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: url, Secrets: testSecrets, Secret: "hook", Clock: notifytest.NewClock(time.Time{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := logged(t)
	err = w.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
	if err == nil || strings.Contains(err.Error(), "tok-secret-123") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("err = %v", err)
	}
	if _, err := notify.NewWebhook(notify.WebhookConfig{URL: "http://hooks.example/x?token=tok-secret-123", Secrets: testSecrets, Secret: "hook"}); err == nil ||
		strings.Contains(err.Error(), "tok-secret-123") {
		t.Errorf("plain http: err = %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"decisionId":"d1"}`)
	const ts, id = "1772442000", "d1:opened"
	sig := notify.Sign([]byte("s3cret"), ts, id, body)
	cases := []struct {
		name      string
		secret    string
		timestamp string
		delivery  string
		body      []byte
		header    string
		want      bool
	}{
		{"matching", "s3cret", ts, id, body, sig, true},
		{"other-secret", "other", ts, id, body, sig, false},
		{"changed-body", "s3cret", ts, id, []byte(`{"decisionId":"d2"}`), sig, false},
		{"fresh-delivery-id", "s3cret", ts, "d1:opened-again", body, sig, false},
		{"fresh-timestamp", "s3cret", "1772445600", id, body, sig, false},
		{"delivery-moved-into-the-body", "s3cret", ts, "d1", append([]byte(":opened\n"), body...), sig, false},
		{"no-prefix", "s3cret", ts, id, body, strings.TrimPrefix(sig, "sha256="), false},
		{"not-hex", "s3cret", ts, id, body, "sha256=zz", false},
		{"short", "s3cret", ts, id, body, sig[:20], false},
		{"empty", "s3cret", ts, id, body, "", false},
	}
	for _, tc := range cases {
		if got := notify.VerifySignature([]byte(tc.secret), tc.timestamp, tc.delivery, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A captured delivery replayed under a fresh delivery id (to slip past the
// receiver's de-duplication) or a fresh timestamp (to pass its age check)
// no longer verifies.
func TestWebhookReplayWithFreshHeadersIsRejected(t *testing.T) {
	t.Parallel()
	w, recv, _ := newWebhook(t, "hook")
	send(t, w, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
	orig := recv.Requests()[0]
	for name, change := range map[string]func(http.Header){
		"fresh-delivery":  func(h http.Header) { h.Set("X-Credres-Delivery", "d-open:opened-again") },
		"fresh-timestamp": func(h http.Header) { h.Set("X-Credres-Timestamp", "1900000000") },
	} {
		req, _ := http.NewRequest(http.MethodPost, recv.URL(), strings.NewReader(string(orig.Body)))
		req.Header = orig.Header.Clone()
		change(req.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: replay answered %d, want 401", name, resp.StatusCode)
		}
	}
	if len(recv.Deliveries()) != 1 {
		t.Errorf("%d deliveries, want 1", len(recv.Deliveries()))
	}
}

// A receiver checks the signature of the timestamp, the delivery id and the
// raw body before decoding it, refuses attempts older than five minutes,
// and keeps each X-Credres-Delivery once.
func ExampleVerifySignature() {
	secret := []byte("shared-secret") // from the receiver's own secret store
	now := time.Unix(1772442000, 0)   // time.Now() in a real receiver
	seen := map[string]bool{}
	handler := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		ts, id := r.Header.Get(notify.TimestampHeader), r.Header.Get(notify.DeliveryHeader)
		if err != nil || !notify.VerifySignature(secret, ts, id, body, r.Header.Get(notify.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
			http.Error(w, "stale delivery", http.StatusUnauthorized)
			return
		}
		if id := r.Header.Get(notify.DeliveryHeader); seen[id] {
			w.WriteHeader(http.StatusOK) // a retry: done already
			return
		} else {
			seen[id] = true
		}
		var rec model.TicketRecord
		if err := json.Unmarshal(body, &rec); err != nil {
			http.Error(w, "not a ticket record", http.StatusBadRequest)
			return
		}
		fmt.Println(rec.Action, rec.TicketID)
		w.WriteHeader(http.StatusAccepted)
	}

	body := []byte(`{"decisionId":"d1","ticketId":"CR-0123456789","action":"opened"}`)
	for range 2 {
		r := httptest.NewRequest(http.MethodPost, "/credres", strings.NewReader(string(body)))
		r.Header.Set(notify.TimestampHeader, "1772442000")
		r.Header.Set(notify.DeliveryHeader, "d1:opened")
		r.Header.Set(notify.SignatureHeader, notify.Sign(secret, "1772442000", "d1:opened", body))
		w := httptest.NewRecorder()
		handler(w, r)
		fmt.Println(w.Code)
	}
	// Output:
	// opened CR-0123456789
	// 202
	// 200
}

// rotating is a secret source whose values change, as a rotated secret's
// do once the secret source's cache expires.
type rotating struct {
	mu     sync.Mutex
	values map[string]string
	reads  int
}

func (r *rotating) Secret(_ context.Context, name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	v, ok := r.values[name]
	if !ok {
		return "", fmt.Errorf("secret %s: %w", name, model.ErrNotFound)
	}
	return v, nil
}

func (r *rotating) set(name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values[name] = value
}

// The URL, token and all, may come from a secret: it is read before each
// post, so a rotated URL is used without a restart, and never quoted.
func TestWebhookURLFromSecret(t *testing.T) {
	t.Parallel()
	first := notifytest.NewWebhookReceiver(t, hookSecret)
	second := notifytest.NewWebhookReceiver(t, hookSecret)
	src := &rotating{values: map[string]string{"hook": hookSecret, "hook-url": first.URL()}}
	clock := notifytest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	w, err := notify.NewWebhook(notify.WebhookConfig{URLSecret: "hook-url", Secrets: src, Secret: "hook", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	send(t, w, ticket("opened", "CR-AAAAAAAAAA", "d-1"))
	src.set("hook-url", second.URL())
	send(t, w, ticket("opened", "CR-AAAAAAAAAB", "d-2"))
	if len(first.Deliveries()) != 1 || len(second.Deliveries()) != 1 {
		t.Fatalf("deliveries: %d to the first URL, %d to the rotated one; want 1 and 1", len(first.Deliveries()), len(second.Deliveries()))
	}

	src.set("hook-url", "http://hooks.example/x?token=tok-secret-123")
	ctx, _ := logged(t)
	err = w.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-AAAAAAAAAC", "d-3"))
	if err == nil || !errors.Is(err, model.ErrInvalidInput) || strings.Contains(err.Error(), "tok-secret-123") || !strings.Contains(err.Error(), "secret hook-url") {
		t.Errorf("plain http from the secret: err = %v", err)
	}
	src.set("hook-url", "")
	if err := w.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-AAAAAAAAAC", "d-3")); err == nil || !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("empty URL secret: err = %v", err)
	}
	if _, err := notify.NewWebhook(notify.WebhookConfig{URL: first.URL(), URLSecret: "hook-url", Secrets: src, Secret: "hook"}); err == nil {
		t.Error("both a URL and a URL secret were accepted")
	}
}
