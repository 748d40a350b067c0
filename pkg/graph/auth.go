package graph

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kiotaazure "github.com/microsoft/kiota-authentication-azure-go"

	"github.com/credres/credres/pkg/model"
)

// authMethod names the credential New chose; it is logged, never the secret.
type authMethod string

const (
	authCertificate     authMethod = "client-certificate"
	authSecret          authMethod = "client-secret"
	authWorkload        authMethod = "workload-identity"
	authToken           authMethod = "static-token"
	authManagedIdentity authMethod = "managed-identity"
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

	secret, cert := cfg.ClientSecret, []byte(nil)
	if cfg.CertificatePath != "" {
		data, err := os.ReadFile(cfg.CertificatePath)
		if err != nil {
			return nil, "", fmt.Errorf("graph: auth: read client certificate: %w", err)
		}
		cert = data
	}
	if cfg.SecretARN != "" && cert == nil && secret == "" {
		if cfg.Secrets == nil {
			return nil, "", fmt.Errorf("graph: auth: %w: a secret ARN is configured but no secret source", model.ErrInvalidInput)
		}
		v, err := cfg.Secrets.GetSecret(ctx, cfg.SecretARN)
		if err != nil {
			return nil, "", fmt.Errorf("graph: auth: fetch client credential from secret store: %w", err)
		}
		if strings.Contains(v, "-----BEGIN") {
			cert = []byte(v)
		} else {
			secret = strings.TrimSpace(v)
		}
	}

	var cred azcore.TokenCredential
	var method authMethod
	needApp := func() error {
		if cfg.TenantID == "" || cfg.ClientID == "" {
			return fmt.Errorf("graph: auth: %w: %s and %s are required with a client certificate or secret", model.ErrInvalidInput, EnvTenantID, EnvClientID)
		}
		return nil
	}
	opts := azcore.ClientOptions{Cloud: cloudFor(host)}
	switch {
	case cert != nil:
		if err := needApp(); err != nil {
			return nil, "", err
		}
		certs, key, err := azidentity.ParseCertificates(cert, []byte(cfg.CertificatePassword))
		if err != nil {
			return nil, "", fmt.Errorf("graph: auth: %w: client certificate: %v", model.ErrInvalidInput, err)
		}
		cred, err = azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: opts})
		if err != nil {
			return nil, "", fmt.Errorf("graph: auth: client certificate credential: %w", err)
		}
		method = authCertificate
	case secret != "":
		if err := needApp(); err != nil {
			return nil, "", err
		}
		cred, err = azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
		if err != nil {
			return nil, "", fmt.Errorf("graph: auth: client secret credential: %w", err)
		}
		method = authSecret
	case cfg.FederatedTokenFile != "":
		cred, err = azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, TenantID: cfg.TenantID, ClientID: cfg.ClientID, TokenFilePath: cfg.FederatedTokenFile,
		})
		if err != nil {
			return nil, "", fmt.Errorf("graph: auth: workload identity credential: %w", err)
		}
		method = authWorkload
	case cfg.Token != "":
		return absauth.NewBaseBearerTokenAuthenticationProvider(staticToken{token: strings.TrimSpace(cfg.Token), host: host}), authToken, nil
	default:
		mi := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if cfg.ClientID != "" {
			mi.ID = azidentity.ClientID(cfg.ClientID)
		}
		cred, err = azidentity.NewManagedIdentityCredential(mi)
		if err != nil {
			return nil, "", fmt.Errorf("graph: auth: managed identity credential: %w", err)
		}
		method = authManagedIdentity
	}
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
	v := absauth.NewAllowedHostsValidator([]string{s.host})
	return &v
}
