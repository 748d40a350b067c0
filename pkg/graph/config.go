package graph

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// DefaultBaseURL is the Graph service root of the global cloud.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Config says where Graph is, how to authenticate, how fast to go and the
// tenant facts Graph v1.0 cannot tell an application.
//
// Credentials are tried in the order an administrator expects: a client
// certificate, a client secret (either may come from SecretARN), workload
// identity federation (FederatedTokenFile), a static bearer token (Token),
// and finally managed identity (user-assigned when ClientID is set).
type Config struct {
	// BaseURL is the Graph service root, e.g. https://graph.microsoft.us/v1.0
	// for US Government L4; DefaultBaseURL when empty.
	BaseURL string

	TenantID string
	ClientID string
	// ClientSecret is the app's client secret.
	ClientSecret string
	// CertificatePath is a PEM or PKCS#12 file with the app's certificate
	// and private key; CertificatePassword decrypts it.
	CertificatePath     string
	CertificatePassword string
	// SecretARN names a secret, fetched through Secrets, that holds the
	// client secret or a PEM certificate with its key.
	SecretARN string
	Secrets   model.SecretSource
	// FederatedTokenFile is a workload identity token (Kubernetes, CI).
	FederatedTokenFile string
	// Token is a bearer token used as is, e.g. from
	// `az account get-access-token --resource-type ms-graph`.
	Token string

	// Limits override DefaultLimits per class.
	Limits map[Class]Limit
	// Clock is the time source of pacing and back-off; the wall clock when nil.
	Clock Clock
	// Pacer, when set, paces the client; clients of one tenant in one
	// process share its budget only through one Pacer. When nil, the
	// client has a pacer of its own, with Clock and Limits.
	Pacer *Pacer
	// Transport carries the requests under the client's own handling
	// (redirects, headers, telemetry): a proxy's or an in-process fake
	// Graph's. A clone of http.DefaultTransport when nil.
	Transport http.RoundTripper
	// MaxAttempts bounds the tries of one request (429, 503, 504, network
	// errors); 8 when zero. The caller's context deadline bounds them too.
	MaxAttempts int

	// Sender is the mailbox SendMail sends from when no sender is given.
	Sender string

	// PasswordAuth and PHSFallback are the tenant facts of the snapshot
	// format; Graph v1.0 does not give them to an application (docs/GRAPH.md
	// says where an administrator finds them). PasswordAuth defaults to cloud.
	PasswordAuth model.PasswordAuth
	PHSFallback  bool

	// SkipRegistrationDetails leaves a single user's registration-report row
	// out of User and Users, halving their use of the reports budget. The
	// row is the only signal of passwordless phone sign-in (docs/DESIGN.md, Methods).
	SkipRegistrationDetails bool

	// PolicyTTL is how long TenantPolicy keeps the tenant's policy before
	// reading it again: DefaultPolicyTTL when zero, never kept when
	// negative.
	PolicyTTL time.Duration
}

// ParseLimit reads a budget written "5/10s" (requests per duration).
func ParseLimit(s string) (Limit, error) {
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("%w: budget %q is not N/duration", model.ErrInvalidInput, s)
	}
	req, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || req <= 0 {
		return Limit{}, fmt.Errorf("%w: budget %q: request count must be a positive integer", model.ErrInvalidInput, s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("%w: budget %q: window must be a positive duration", model.ErrInvalidInput, s)
	}
	return Limit{Requests: req, Per: d}, nil
}

// Validate fills the defaults and checks what can be checked without the
// network; New calls it.
func (c *Config) Validate() error {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("graph: config: %w: service root %q is not an http(s) URL", model.ErrInvalidInput, c.BaseURL)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("graph: config: %w: service root %q must use https", model.ErrInvalidInput, c.BaseURL)
	}
	switch c.PasswordAuth {
	case "":
		c.PasswordAuth = model.PasswordCloud
	case model.PasswordCloud, model.PasswordPHS, model.PasswordPTA, model.PasswordFederated:
	default:
		return fmt.Errorf("graph: config: %w: password authentication %q is not cloud, phs, pta or federated", model.ErrInvalidInput, c.PasswordAuth)
	}
	for class, l := range c.Limits {
		if l.Requests <= 0 || l.Per <= 0 {
			return fmt.Errorf("graph: config: %w: budget %s of class %s", model.ErrInvalidInput, l, class)
		}
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	return nil
}

func isLoopback(host string) bool {
	return host == "127.0.0.1" || host == "::1" || host == "localhost"
}
