package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// Webhook headers. Receivers verify SignatureHeader against the timestamp,
// the delivery id and the raw body with VerifySignature, refuse old
// timestamps and de-duplicate by DeliveryHeader.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256, keyed with
	// the shared secret, of the signed string: TimestampHeader's value, a
	// line feed, DeliveryHeader's value, a line feed, and the raw body.
	SignatureHeader = "X-Credres-Signature"
	// TimestampHeader carries the Unix time of the attempt, in seconds. It
	// is signed, so a receiver can refuse replays of old attempts.
	TimestampHeader = "X-Credres-Timestamp"
	// DeliveryHeader identifies the event: "<decision id>:<action>" for a
	// ticket ("opened", "updated", "resolved"), "<decision id>:nudge" for
	// a nudge. Every delivery of one event, retries and redeliveries
	// included, has the same value. It is signed, so a replay cannot
	// pass a receiver's de-duplication under a fresh id.
	DeliveryHeader = "X-Credres-Delivery"
	// EventHeader says what the body is: "ticket" (a model.TicketRecord)
	// or "nudge" (a model.NudgeRecord).
	EventHeader = "X-Credres-Event"
)

// WebhookConfig configures a generic webhook.
type WebhookConfig struct {
	// URL receives a POST per event. It is never logged or put in an
	// error, as such URLs often hold a token.
	URL string
	// URLSecret, instead of URL, names a secret whose value is the URL,
	// read through Secrets before each post: a URL that carries a token is
	// a credential, kept with the others, and a rotated one is used once
	// the secret source's cache expires, without a restart.
	URLSecret string
	// Secrets and Secret name the shared HMAC secret.
	Secrets    model.SecretSource
	Secret     string
	HTTPClient *http.Client
	// Clock is the time source of retry waits and the timestamp header;
	// the wall clock when nil.
	Clock Clock
}

// Webhook posts ticket events (and, used as a nudge sender, nudges) as JSON
// to a URL, signed with HMAC-SHA256 so that the receiver can check they
// came from credres. It is at-least-once: a receiver de-duplicates by the
// X-Credres-Delivery header. Any 2xx answer is success.
type Webhook struct {
	secrets model.SecretSource
	secret  string
	cfg     WebhookConfig

	mu    sync.Mutex
	ep    *endpoint
	epURL string // the URL ep was built for, when it came from URLSecret
}

// NewWebhook checks cfg and returns a webhook.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if cfg.Secret == "" || cfg.Secrets == nil {
		return nil, fmt.Errorf("webhook: %w: no signing secret configured", model.ErrInvalidInput)
	}
	w := &Webhook{secrets: cfg.Secrets, secret: cfg.Secret, cfg: cfg}
	switch {
	case cfg.URL != "" && cfg.URLSecret != "":
		return nil, fmt.Errorf("webhook: %w: give the URL or the secret that holds it, not both", model.ErrInvalidInput)
	case cfg.URLSecret != "":
		return w, nil
	}
	base, err := parseBase("webhook", cfg.URL, true)
	if err != nil {
		return nil, err
	}
	w.ep = newEndpoint("webhook", base, cfg.HTTPClient, cfg.Clock)
	return w, nil
}

// endpoint returns the endpoint to post to: the configured URL's, or the
// one the URL secret holds now.
func (w *Webhook) endpoint(ctx context.Context) (*endpoint, error) {
	if w.cfg.URLSecret == "" {
		return w.ep, nil
	}
	raw, err := secretValue(ctx, "webhook", w.secrets, w.cfg.URLSecret)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ep != nil && raw == w.epURL {
		return w.ep, nil
	}
	// The URL is never quoted: it may hold a token.
	base, err := parseBase("webhook", raw, true)
	if err != nil {
		return nil, fmt.Errorf("%w (the URL from secret %s)", err, w.cfg.URLSecret)
	}
	w.ep, w.epURL = newEndpoint("webhook", base, w.cfg.HTTPClient, w.cfg.Clock), raw
	return w.ep, nil
}

// SendTicket posts the ticket event.
func (w *Webhook) SendTicket(ctx context.Context, _ model.DecisionMessage, rec model.TicketRecord) error {
	if err := w.post(ctx, "ticket", rec.DecisionID+":"+rec.Action, rec); err != nil {
		return fmt.Errorf("webhook: post ticket %s %s: %w", rec.TicketID, rec.Action, err)
	}
	return nil
}

// SendNudge posts the nudge. The record holds the recipient masked; the
// receiver looks the user up by userId.
func (w *Webhook) SendNudge(ctx context.Context, _ model.DecisionMessage, rec model.NudgeRecord) error {
	if err := w.post(ctx, "nudge", rec.DecisionID+":nudge", rec); err != nil {
		return fmt.Errorf("webhook: post nudge %s: %w", rec.DecisionID, err)
	}
	return nil
}

func (w *Webhook) post(ctx context.Context, event, delivery string, record any) error {
	ep, err := w.endpoint(ctx)
	if err != nil {
		return err
	}
	key, err := secretValue(ctx, "webhook", w.secrets, w.secret)
	if err != nil {
		return err
	}
	body := jsonBody(record)
	err = ep.retry(ctx, "post "+event, func(ctx context.Context) error {
		ts := strconv.FormatInt(ep.clock.Now().Unix(), 10)
		h := http.Header{}
		h.Set(SignatureHeader, Sign([]byte(key), ts, delivery, body))
		h.Set(TimestampHeader, ts)
		h.Set(DeliveryHeader, delivery)
		h.Set(EventHeader, event)
		h.Set("User-Agent", "credres-webhook")
		_, err := ep.send(ctx, request{method: http.MethodPost, body: body, header: h})
		return err
	})
	if err != nil {
		return err
	}
	zerolog.Ctx(ctx).Info().Str("channel", "webhook").Str("delivery", delivery).Msg("notify: webhook delivered")
	return nil
}

// Sign returns the signature header value of one attempt: "sha256=" and the
// hex HMAC-SHA256, keyed with secret, of timestamp (the X-Credres-Timestamp
// value), "\n", delivery (the X-Credres-Delivery value), "\n" and body.
// Header values hold no line feed, so the three parts cannot be shifted
// into one another.
func Sign(secret []byte, timestamp, delivery string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, timestamp, delivery, body))
}

// VerifySignature reports whether header (an X-Credres-Signature value)
// signs timestamp, delivery and body with secret. It compares in constant
// time. A receiver also checks that timestamp is recent.
func VerifySignature(secret []byte, timestamp, delivery string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	return hmac.Equal(got, mac(secret, timestamp, delivery, body))
}

func mac(secret []byte, timestamp, delivery string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "\n" + delivery + "\n"))
	m.Write(body)
	return m.Sum(nil)
}
