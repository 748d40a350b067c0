package graph

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kiotaazure "github.com/microsoft/kiota-authentication-azure-go"

	"github.com/credres/credres/pkg/azcred"
	"github.com/credres/credres/pkg/model"
)

// authMethod names the credential New chose; it is logged, never the secret.
type authMethod string

// The credential kinds: a static bearer token, or one of azcred's.
const (
	authToken           authMethod = "static-token"
	authCertificate                = authMethod(azcred.Certificate)
	authSecret                     = authMethod(azcred.Secret)
	authWorkload                   = authMethod(azcred.Workload)
	authManagedIdentity            = authMethod(azcred.ManagedIdentity)
)

// authProvider builds the kiota authentication provider for cfg, choosing
// the credential in the documented order. Tokens are only ever sent to the
// host of the Graph service root.
func authProvider(ctx context.Context, cfg *Config) (absauth.AuthenticationProvider, authMethod, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, "", fmt.Errorf("graph: auth: %w: service root: %v", model.ErrInvalidInput, err)
	}
	host := base.Hostname()

	if cfg.Token != "" && cfg.ClientSecret == "" && cfg.CertificatePath == "" && cfg.SecretARN == "" && cfg.FederatedTokenFile == "" {
		return absauth.NewBaseBearerTokenAuthenticationProvider(staticToken{token: strings.TrimSpace(cfg.Token), host: host}), authToken, nil
	}
	app := azcred.App{
		TenantID: cfg.TenantID, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		CertificatePath: cfg.CertificatePath, CertificatePassword: cfg.CertificatePassword,
		SecretARN: cfg.SecretARN, FederatedTokenFile: cfg.FederatedTokenFile,
		Options: azcore.ClientOptions{Cloud: cloudFor(host)},
	}
	if cfg.Secrets != nil {
		app.Secrets = cfg.Secrets
	}
	cred, kind, err := azcred.Credential(ctx, app)
	if err != nil {
		return nil, "", fmt.Errorf("graph: auth: %w", err)
	}
	method := authMethod(kind)
	scope := base.Scheme + "://" + base.Host + "/.default"
	p, err := kiotaazure.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{scope}, []string{host})
	if err != nil {
		return nil, "", fmt.Errorf("graph: auth: %s provider: %w", method, err)
	}
	return p, method, nil
}

// cloudFor returns the Entra authority of a national-cloud Graph host; the
// zero value (azidentity's default, which honours AZURE_AUTHORITY_HOST)
// otherwise.
func cloudFor(graphHost string) cloud.Configuration {
	switch strings.ToLower(graphHost) {
	case "graph.microsoft.us", "dod-graph.microsoft.us":
		return cloud.AzureGovernment
	case "microsoftgraph.chinacloudapi.cn":
		return cloud.AzureChina
	}
	return cloud.Configuration{}
}

// staticToken is a bearer token given by the operator, sent only to the
// Graph host.
type staticToken struct {
	token string
	host  string
}

// GetAuthorizationToken returns the token for the Graph host only.
func (s staticToken) GetAuthorizationToken(_ context.Context, u *url.URL, _ map[string]any) (string, error) {
	if u == nil || !strings.EqualFold(u.Hostname(), s.host) {
		return "", fmt.Errorf("graph: auth: refusing to send the token to a host other than %s", s.host)
	}
	return s.token, nil
}

// GetAllowedHostsValidator allows the Graph host only.
func (s staticToken) GetAllowedHostsValidator() *absauth.AllowedHostsValidator {
	v, err := absauth.NewAllowedHostsValidatorErrorCheck([]string{s.host})
	if err != nil {
		// Not reached: the host is a parsed URL's host name, never one with a
		// scheme. GetAuthorizationToken refuses every other host regardless.
		return &absauth.AllowedHostsValidator{}
	}
	return v
}
