package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	absauth "github.com/microsoft/kiota-abstractions-go/authentication"

	abs "github.com/microsoft/kiota-abstractions-go"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonser "github.com/microsoft/kiota-serialization-json-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/httpretry"
	"github.com/credres/credres/pkg/model"
)

// sdkVersion is the msgraph-sdk-go release this package is built against;
// Graph receives it in the SdkVersion telemetry header.
const sdkVersion = "1.89.0"

// maxBatch is Graph's limit on requests in one $batch.
const maxBatch = 20

// Client reads users, their authentication methods and memberships and the
// registration report from Microsoft Graph, and sends mail, within Graph's
// throttling budget. It is safe for concurrent use; concurrent reads of the
// same user share one request, and reads of several users share $batch
// requests.
type Client struct {
	cfg     Config
	clock   Clock
	pacer   *Pacer
	base    *url.URL
	auth    absauth.AuthenticationProvider
	adapter *msgraphcore.GraphRequestAdapterBase
	users   *users.UsersRequestBuilder
	reports *reports.ReportsRequestBuilder

	mu       sync.Mutex
	queue    []*item          // items waiting to be sent, in order
	pending  map[string]*call // calls not yet sent, by user key, for coalescing
	flushing bool             // a flush goroutine is running
	kick     chan struct{}    // wakes the flush goroutine when items arrive

	policy policyCache // the tenant's own policy, kept for PolicyTTL
}

var registerSerializers sync.Once

// New returns a Client for cfg. It authenticates lazily: no request is sent
// until the first read.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("graph: new client: %w: %v", model.ErrInvalidInput, err)
	}
	auth, method, err := authProvider(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	registerSerializers.Do(func() {
		abs.RegisterDefaultSerializer(func() absser.SerializationWriterFactory { return jsonser.NewJsonSerializationWriterFactory() })
		abs.RegisterDefaultDeserializer(func() absser.ParseNodeFactory { return jsonser.NewJsonParseNodeFactory() })
	})
	opts := msgraphcore.GraphClientOptions{GraphServiceLibraryVersion: sdkVersion}
	// The SDK's default pipeline retries 429/503 itself, sleeping on the
	// wall clock and truncating fractional Retry-After values; credres
	// paces and retries in one place instead, so the retry handler (and
	// request compression) are left out.
	middleware := []khttp.Middleware{
		msgraphcore.NewGraphTelemetryHandler(&opts),
		khttp.NewUrlReplaceHandler(true, msgraphcore.ReplacementPairs),
		// A redirect is followed only on the host it came from; one to
		// another host is an error, never Graph's answer (edges.go).
		refuseRedirects{},
		khttp.NewRedirectHandlerWithOptions(khttp.RedirectHandlerOptions{ShouldRedirect: sameHost}),
		khttp.NewParametersNameDecodingHandler(),
		khttp.NewUserAgentHandler(),
		khttp.NewHeadersInspectionHandler(),
	}
	httpClient := msgraphcore.GetDefaultClient(&opts, middleware...)
	if cfg.Transport != nil {
		httpClient.Transport = khttp.NewCustomTransportWithParentTransport(cfg.Transport, middleware...)
	}
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, opts, nil, nil, httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph: new client: request adapter: %w", err)
	}
	adapter.SetBaseUrl(cfg.BaseURL)
	clock := cfg.Clock
	if clock == nil {
		clock = realClock{}
	}
	pacer := cfg.Pacer
	if pacer == nil {
		pacer = NewPacer(clock, cfg.Limits)
	}
	zerolog.Ctx(ctx).Debug().Str("auth", string(method)).Str("graph", cfg.BaseURL).Msg("graph: client configured")
	return &Client{
		cfg:     cfg,
		clock:   clock,
		pacer:   pacer,
		base:    base,
		auth:    auth,
		adapter: adapter,
		users:   users.NewUsersRequestBuilderInternal(map[string]string{"baseurl": cfg.BaseURL}, adapter),
		reports: reports.NewReportsRequestBuilderInternal(map[string]string{"baseurl": cfg.BaseURL}, adapter),
		pending: map[string]*call{},
		kick:    make(chan struct{}, 1),
	}, nil
}

// errorMapping makes the adapter decode Graph's error body for any status.
var errorMapping = abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

// apiError is a Graph error response, of a request or of a $batch item.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	HasRetry   bool
}

// Error gives the status, Graph's error code and, for 401 and 403, its
// message.
func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	// Only authorisation messages are kept: others may echo the requested
	// user principal name or mailbox back.
	if e.Message != "" && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Unwrap classifies the error with the model's sentinel kinds
// (httpretry.Kind).
func (e *apiError) Unwrap() error { return httpretry.Kind(e.Status) }

// HTTPStatus and RetryAfterHint give the retry rule what it reads.
func (e *apiError) HTTPStatus() int { return e.Status }

// RetryAfterHint is the response's valid Retry-After, if any.
func (e *apiError) RetryAfterHint() (time.Duration, bool) { return e.RetryAfter, e.HasRetry }

// statusError is what kiota's errors (ApiError, ODataError) offer.
type statusError interface {
	GetStatusCode() int
	GetResponseHeaders() *abs.ResponseHeaders
}

// asAPIError turns an adapter error into an apiError; ok is false for errors
// without a response (network failures, cancelled contexts).
func asAPIError(err error, now time.Time) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	var se statusError
	if !errors.As(err, &se) || se.GetStatusCode() == 0 {
		return nil, false
	}
	out := &apiError{Status: se.GetStatusCode()}
	if h := se.GetResponseHeaders(); h != nil {
		for _, k := range h.ListKeys() {
			if strings.EqualFold(k, "Retry-After") {
				if v := h.Get(k); len(v) > 0 {
					out.RetryAfter, out.HasRetry = httpretry.ParseRetryAfter(v[0], now)
				}
			}
		}
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		if m := oe.GetErrorEscaped(); m != nil {
			out.Code = deref(m.GetCode())
			out.Message = deref(m.GetMessage())
		}
	}
	return out, true
}

// do sends one request of a class through the pacer with httpretry's rule:
// 429 and 503 are retried (a 429 pauses the class in the pacer until its
// Retry-After), and, when idempotent, other 5xx and lost responses (with
// back-off), all within MaxAttempts and the context's deadline. Every retry
// is logged.
func (c *Client) do(ctx context.Context, class Class, op string, idempotent bool, send func(context.Context) error) error {
	log := zerolog.Ctx(ctx)
	loop := httpretry.Loop{
		Clock:        c.clock,
		MaxAttempts:  c.cfg.MaxAttempts,
		Repeatable:   idempotent,
		DeadlineKind: model.ErrThrottled,
		// The class is paused in the pacer, which waits (and logs) on the
		// next acquire.
		Throttled: func(until time.Time) bool { c.pacer.Pause(class, until); return true },
		Log: func(attempt int, wait time.Duration, reason string) {
			log.Warn().Str("op", op).Str("class", string(class)).Int("attempt", attempt).Dur("wait", wait).Str("reason", reason).Msg("graph: retrying request")
		},
	}
	return loop.Do(ctx, func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		g, err := c.pacer.acquire(ctx, map[Class]int{class: 1}, dl, true)
		if err != nil {
			return err
		}
		err = send(ctx)
		g.Done()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if ae, ok := asAPIError(err, c.clock.Now()); ok {
			return ae
		}
		return &httpretry.Unanswered{Err: err}
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Token returns a bearer token for the Graph service root, from the same
// credential the client uses, for the few calls credres makes outside the
// SDK (the Teams activity feed). It is never logged.
func (c *Client) Token(ctx context.Context) (string, error) {
	req := abs.NewRequestInformation()
	req.SetUri(*c.base)
	if err := c.auth.AuthenticateRequest(ctx, req, nil); err != nil {
		return "", fmt.Errorf("graph: token: %w", err)
	}
	for _, v := range req.Headers.Get("Authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			return t, nil
		}
	}
	return "", fmt.Errorf("graph: token: the credential gave no bearer token")
}
