package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/httpretry"
	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
)

// Clock is the time source of the channels' retry waits (see
// httpretry.Clock).
type Clock = httpretry.Clock

// TokenSource returns a bearer token for Microsoft Graph (audience
// https://graph.microsoft.com). Implementations cache and renew tokens;
// the Lambda wiring adapts an azidentity credential with TokenFunc.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Retry limits shared by the HTTP channels.
const (
	// maxAttempts bounds the tries of one operation within one call; the
	// queue's redrive count bounds the calls.
	maxAttempts = 3
	// maxWait is the longest a call waits before retrying; a longer
	// Retry-After fails the call and leaves the retry to the queue.
	maxWait = 2 * time.Minute
	// maxBody bounds what is read of a response.
	maxBody = 1 << 20
)

// endpoint is one HTTP API a channel talks to: where it is, how requests
// are authorised, how its errors read, and the retry policy they share.
type endpoint struct {
	system string // "servicenow", "jira", "webhook", "teams": names log lines
	base   *url.URL
	client *http.Client
	clock  Clock
	// auth sets the request's credentials.
	auth func(ctx context.Context, h http.Header) error
	// message extracts the human part of an error response's body.
	message func(body []byte) string
}

func newEndpoint(system string, base *url.URL, client *http.Client, clock Clock) *endpoint {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if clock == nil {
		clock = httpretry.WallClock{}
	}
	return &endpoint{system: system, base: base, client: client, clock: clock, message: plainMessage}
}

// request is one HTTP request below the endpoint's base URL.
type request struct {
	method string
	// path is appended to the base URL's path, one escaped segment each.
	path   []string
	query  url.Values
	body   []byte // sent as application/json when not nil
	header http.Header
}

// response is a 2xx answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// jsonBody encodes v for a request body.
func jsonBody(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the channels' own request types are encoded; none can fail.
		panic(fmt.Sprintf("notify: encode request: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// StatusError is an HTTP error response from a channel's system. It unwraps
// to the model's sentinel kinds: 429 to model.ErrThrottled, 401 and 403
// ("credentials rejected") and other 4xx to model.ErrInvalidInput, 404 to
// model.ErrNotFound, 409 and 412 to model.ErrConflict; a 5xx to none.
type StatusError struct {
	Status int
	// Message is what the system said, with email addresses and phone
	// numbers masked and cut to a few hundred characters.
	Message string
	// RetryAfter is the response's Retry-After, when it had a valid one.
	RetryAfter    time.Duration
	HasRetryAfter bool
}

// Error says the status, "credentials rejected" for 401 and 403, and the
// system's message.
func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		b.WriteString(": credentials rejected")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Unwrap classifies the response with the model's sentinel kinds
// (httpretry.Kind).
func (e *StatusError) Unwrap() error { return httpretry.Kind(e.Status) }

// HTTPStatus is the response's status, for the retry rule.
func (e *StatusError) HTTPStatus() int { return e.Status }

// RetryAfterHint is the response's valid Retry-After, if any.
func (e *StatusError) RetryAfterHint() (time.Duration, bool) { return e.RetryAfter, e.HasRetryAfter }

// unanswered is the error of a request that got no response: refused,
// reset, timed out, or closed before the answer. The server may have acted
// on it.
func unanswered(msg string) error {
	return &httpretry.Unanswered{Err: errors.New("no response: " + msg)}
}

// final marks a failure that must not be retried within the call (see
// httpretry.Final).
func final(err error) error { return &httpretry.Final{Err: err} }

// ambiguous reports whether err leaves open whether the server acted: a
// lost response or a 5xx other than 503 (which promises it did not).
func ambiguous(err error) bool {
	var u *httpretry.Unanswered
	if errors.As(err, &u) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && se.Status >= 500 && se.Status != http.StatusServiceUnavailable
}

// send performs one request and returns its 2xx response, a *StatusError, or
// an *httpretry.Unanswered. Errors never carry the URL (a webhook URL may hold a
// token) or any header.
func (e *endpoint) send(ctx context.Context, r request) (*response, error) {
	u := *e.base
	if len(r.path) > 0 {
		u = *e.base.JoinPath(r.path...)
	}
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		// The error would quote the URL, which may hold a token.
		return nil, fmt.Errorf("%w: cannot build the %s request", model.ErrInvalidInput, r.method)
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if e.auth != nil {
		if err := e.auth(ctx, req.Header); err != nil {
			return nil, err
		}
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unanswered(scrubTransport(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unanswered("reading the response: " + scrubTransport(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{Status: resp.StatusCode, Message: sanitizeMessage(e.message(data))}
		se.RetryAfter, se.HasRetryAfter = httpretry.ParseRetryAfter(resp.Header.Get("Retry-After"), e.clock.Now())
		return nil, se
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// retry runs attempt with httpretry's rule, at most maxAttempts times:
// after a 429 or a 5xx it waits for Retry-After (or backs off when there is
// none), after a lost response it backs off, unless attempt marked the
// failure final. It never waits past ctx's deadline or longer than maxWait:
// such a failure is returned at once, for the queue to retry later. Each
// attempt must be safe to repeat: it looks up what an earlier one may have
// done.
func (e *endpoint) retry(ctx context.Context, op string, attempt func(context.Context) error) error {
	log := zerolog.Ctx(ctx)
	loop := httpretry.Loop{
		Clock:       e.clock,
		MaxAttempts: maxAttempts,
		MaxWait:     maxWait,
		Repeatable:  true,
		Log: func(n int, wait time.Duration, reason string) {
			log.Warn().Str("channel", e.system).Str("op", op).Int("attempt", n).Dur("wait", wait).
				Str("reason", reason).Msg("notify: retrying")
		},
	}
	return loop.Do(ctx, attempt)
}

// scrubTransport keeps what failed from a client error, without the URL.
func scrubTransport(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	phonePattern = regexp.MustCompile(`\+\d[\d ()\-]{6,}\d`)
	spaces       = regexp.MustCompile(`\s+`)
)

// maxMessage bounds the part of an error response kept in an error.
const maxMessage = 300

// sanitizeMessage masks addresses and numbers a system may echo back,
// collapses white space and cuts the message short.
func sanitizeMessage(s string) string {
	s = emailPattern.ReplaceAllStringFunc(s, mask.Email)
	s = phonePattern.ReplaceAllStringFunc(s, mask.Phone)
	s = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
	return truncate(s, maxMessage)
}

// truncate cuts s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// plainMessage is the message of a system without an error format of its
// own: a JSON object's "message" or "error" string, or the body as text.
func plainMessage(body []byte) string {
	if !utf8.Valid(body) {
		return ""
	}
	var e struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Message != "" {
			return e.Message
		}
		if e.Error != "" {
			return e.Error
		}
	}
	return string(body)
}

// parseBase checks a channel's configured base URL: https (plain http only
// to a loopback address, for tests and local runs), no credentials in it,
// and a query only where allowed. Errors never quote the URL.
func parseBase(system, raw string, allowQuery bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s: %w: the URL is not an absolute http(s) URL", system, model.ErrInvalidInput)
	}
	u.Path, u.RawPath = strings.TrimRight(u.Path, "/"), strings.TrimRight(u.RawPath, "/")
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%s: %w: the URL must use https", system, model.ErrInvalidInput)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: %w: the URL must not hold credentials; use the secret", system, model.ErrInvalidInput)
	}
	if (u.RawQuery != "" && !allowQuery) || u.Fragment != "" {
		return nil, fmt.Errorf("%s: %w: the URL must not have a query or fragment", system, model.ErrInvalidInput)
	}
	return u, nil
}

func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}

// secretValue reads a named secret, naming the channel but never the value.
func secretValue(ctx context.Context, system string, src model.SecretSource, name string) (string, error) {
	if src == nil {
		return "", fmt.Errorf("%s: credentials: %w: no secret source", system, model.ErrInvalidInput)
	}
	v, err := src.Secret(ctx, name)
	if err != nil {
		return "", fmt.Errorf("%s: credentials: %w", system, err)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("%s: credentials: %w: secret %s is empty", system, model.ErrInvalidInput, name)
	}
	return v, nil
}

// secretAuth returns an endpoint's auth that reads the named secret on each
// request and sets the Authorization header that authorization makes of it.
func secretAuth(system string, src model.SecretSource, name string, authorization func(secret string) (string, error)) func(context.Context, http.Header) error {
	return func(ctx context.Context, h http.Header) error {
		v, err := secretValue(ctx, system, src, name)
		if err != nil {
			return err
		}
		a, err := authorization(v)
		if err != nil {
			return err
		}
		h.Set("Authorization", a)
		return nil
	}
}

// safeID reports whether an id from the pipeline can go into a query
// language (ServiceNow encoded queries, JQL, labels) as it is.
func safeID(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// decodeJSON decodes a response body; the error never quotes the body.
func decodeJSON(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("malformed response: %v", err)
	}
	return nil
}

// ticketActions are a helpdesk's handlers of the three ticket events.
type ticketActions struct {
	open, update, resolve func(context.Context, model.TicketRecord) error
}

// apply runs the handler of rec's action with the endpoint's retries;
// system names the helpdesk and noun its kind of ticket in errors.
func (a ticketActions) apply(ctx context.Context, ep *endpoint, system, noun string, rec model.TicketRecord) error {
	var verb string
	var handle func(context.Context, model.TicketRecord) error
	switch rec.Action {
	case "opened":
		verb, handle = "open", a.open
	case "updated":
		verb, handle = "update", a.update
	case "resolved":
		verb, handle = "resolve", a.resolve
	default:
		return fmt.Errorf("%s: ticket %s: %w: unknown action %q", system, rec.TicketID, model.ErrInvalidInput, rec.Action)
	}
	if err := ep.retry(ctx, verb+" "+noun, func(ctx context.Context) error { return handle(ctx, rec) }); err != nil {
		return fmt.Errorf("%s: %s %s %s: %w", system, verb, noun, rec.TicketID, err)
	}
	return nil
}
