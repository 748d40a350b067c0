package notifytest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/credres/credres/pkg/model"
)

// Delivery is an event a webhook receiver accepted.
type Delivery struct {
	ID        string // X-Credres-Delivery
	Event     string // X-Credres-Event: ticket or nudge
	Timestamp int64  // X-Credres-Timestamp
	Body      []byte
	Ticket    *model.TicketRecord
	Nudge     *model.NudgeRecord
}

// WebhookReceiver is a receiver that does what docs/CHANNELS.md asks of
// one, with its own code: it checks X-Credres-Signature against an
// HMAC-SHA256 of X-Credres-Timestamp, X-Credres-Delivery and the raw body,
// one line each (answering 401 when it does not match),
// decodes the body strictly as the record X-Credres-Event names, checks
// that X-Credres-Delivery names that record's decision and action, and
// keeps each delivery id once.
type WebhookReceiver struct {
	recorder
	secret []byte
	url    string

	mu         sync.Mutex
	deliveries []Delivery
	seen       map[string]bool
	duplicates int
}

// NewWebhookReceiver starts a receiver sharing secret; it listens at URL()
// (a path with a query, as receivers' URLs often are).
func NewWebhookReceiver(tb testing.TB, secret string) *WebhookReceiver {
	w := &WebhookReceiver{recorder: recorder{tb: tb, name: "webhook"}, secret: []byte(secret), seen: map[string]bool{}}
	w.url = start(tb, w.serve(w.handle, func(status int) []byte {
		return []byte(`{"error":"` + http.StatusText(status) + `"}`)
	})).URL + "/hooks/credres?route=helpdesk"
	return w
}

// URL is where to post.
func (w *WebhookReceiver) URL() string { return w.url }

// Deliveries returns the distinct events received, in order.
func (w *WebhookReceiver) Deliveries() []Delivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Delivery(nil), w.deliveries...)
}

// Duplicates counts deliveries of an event already received.
func (w *WebhookReceiver) Duplicates() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.duplicates
}

func (w *WebhookReceiver) handle(r *http.Request, body []byte) answer {
	if r.Method != http.MethodPost || r.URL.Path != "/hooks/credres" || r.URL.Query().Get("route") != "helpdesk" {
		w.violation("%s %s?%s: want POST /hooks/credres?route=helpdesk", r.Method, r.URL.Path, r.URL.RawQuery)
		return answer{status: http.StatusNotFound}
	}
	mac := hmac.New(sha256.New, w.secret)
	mac.Write([]byte(r.Header.Get("X-Credres-Timestamp") + "\n" + r.Header.Get("X-Credres-Delivery") + "\n"))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-Credres-Signature")), []byte(want)) {
		return answer{status: http.StatusUnauthorized, body: []byte(`{"error":"bad signature"}`)}
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		w.violation("Content-Type %q, want application/json", ct)
	}
	d := Delivery{ID: r.Header.Get("X-Credres-Delivery"), Event: r.Header.Get("X-Credres-Event"), Body: body}
	ts, err := strconv.ParseInt(r.Header.Get("X-Credres-Timestamp"), 10, 64)
	if err != nil || ts <= 0 {
		w.violation("X-Credres-Timestamp %q is not Unix seconds", r.Header.Get("X-Credres-Timestamp"))
	}
	d.Timestamp = ts
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var wantID string
	switch d.Event {
	case "ticket":
		d.Ticket = &model.TicketRecord{}
		err = dec.Decode(d.Ticket)
		wantID = d.Ticket.DecisionID + ":" + d.Ticket.Action
	case "nudge":
		d.Nudge = &model.NudgeRecord{}
		err = dec.Decode(d.Nudge)
		wantID = d.Nudge.DecisionID + ":nudge"
	default:
		w.violation("X-Credres-Event %q is not ticket or nudge", d.Event)
		return answer{status: http.StatusBadRequest}
	}
	if err != nil {
		w.violation("body is not a %s record: %v", d.Event, err)
		return answer{status: http.StatusBadRequest}
	}
	if d.ID == "" || d.ID != wantID {
		w.violation("X-Credres-Delivery %q, want %q", d.ID, wantID)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[d.ID] {
		w.duplicates++
		return answer{status: http.StatusOK, body: []byte(`{"status":"duplicate"}`)}
	}
	w.seen[d.ID] = true
	w.deliveries = append(w.deliveries, d)
	return answer{status: http.StatusAccepted, body: []byte(`{"status":"accepted"}`)}
}
