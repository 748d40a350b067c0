package graph

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

type fakeSecrets struct {
	value string
	err   error
	asked []string
}

func (f *fakeSecrets) Secret(_ context.Context, arn string) (string, error) {
	f.asked = append(f.asked, arn)
	return f.value, f.err
}

// certPEM writes a self-signed certificate and its key, as an app
// registration's credential would be kept.
func certPEM(t *testing.T) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "credres"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
}

func TestCredentialOrder(t *testing.T) {
	t.Parallel()
	cert := certPEM(t)
	certFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(certFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("federated"), 0o600); err != nil {
		t.Fatal(err)
	}
	app := func(c Config) Config { c.TenantID, c.ClientID = "tenant", "client"; return c }
	tests := []struct {
		name string
		cfg  Config
		want authMethod
	}{
		{"certificate-before-secret", app(Config{CertificatePath: certFile, ClientSecret: "s", Token: "t"}), authCertificate},
		{"secret-before-workload-identity", app(Config{ClientSecret: "s", FederatedTokenFile: tokenFile}), authSecret},
		{"secret-from-store", app(Config{SecretARN: "arn:aws:secretsmanager:x", Secrets: &fakeSecrets{value: "s3cret\n"}}), authSecret},
		{"certificate-from-store", app(Config{SecretARN: "arn:aws:secretsmanager:x", Secrets: &fakeSecrets{value: string(cert)}}), authCertificate},
		{"workload-identity-before-token", app(Config{FederatedTokenFile: tokenFile, Token: "t"}), authWorkload},
		{"token-before-managed-identity", Config{Token: "t"}, authToken},
		{"managed-identity-last", Config{}, authManagedIdentity},
		{"user-assigned-managed-identity", Config{ClientID: "client"}, authManagedIdentity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			_, got, err := authProvider(context.Background(), &cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("chose %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]Config{
		"secret-without-app":   {ClientSecret: "s"},
		"arn-without-source":   {TenantID: "t", ClientID: "c", SecretARN: "arn"},
		"store-fails":          {TenantID: "t", ClientID: "c", SecretARN: "arn", Secrets: &fakeSecrets{err: errors.New("denied")}},
		"certificate-missing":  {TenantID: "t", ClientID: "c", CertificatePath: filepath.Join(t.TempDir(), "none.pem")},
		"certificate-not-cert": {TenantID: "t", ClientID: "c", SecretARN: "arn", Secrets: &fakeSecrets{value: "-----BEGIN nonsense"}},
	} {
		cfg := cfg
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := authProvider(context.Background(), &cfg); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error leaks the secret", name)
		}
	}
}

func TestStaticTokenGoesOnlyToGraph(t *testing.T) {
	t.Parallel()
	tok := staticToken{token: "t", host: "graph.microsoft.com"}
	u, _ := url.Parse("https://graph.microsoft.com/v1.0/users")
	if got, err := tok.GetAuthorizationToken(context.Background(), u, nil); err != nil || got != "t" {
		t.Errorf("graph host: %q, %v", got, err)
	}
	u, _ = url.Parse("https://attacker.example/v1.0/users")
	if got, err := tok.GetAuthorizationToken(context.Background(), u, nil); err == nil || got != "" {
		t.Errorf("other host got the token")
	}
}

func TestNationalClouds(t *testing.T) {
	t.Parallel()
	if cloudFor("graph.microsoft.us").ActiveDirectoryAuthorityHost != "https://login.microsoftonline.us/" {
		t.Error("US Government authority")
	}
	if cloudFor("microsoftgraph.chinacloudapi.cn").ActiveDirectoryAuthorityHost != "https://login.chinacloudapi.cn/" {
		t.Error("China authority")
	}
	if cloudFor("graph.microsoft.com").ActiveDirectoryAuthorityHost != "" {
		t.Error("global cloud should keep azidentity's default")
	}
}

func TestAPIErrorClassifies(t *testing.T) {
	t.Parallel()
	// The channels' StatusError classifies the same way: both use
	// httpretry.Kind. A 401 or 403 (credentials or permissions) cannot
	// succeed on a retry, so it is invalid input as it is for the channels.
	for status, want := range map[int]error{404: model.ErrNotFound, 429: model.ErrThrottled, 400: model.ErrInvalidInput,
		401: model.ErrInvalidInput, 403: model.ErrInvalidInput, 409: model.ErrConflict, 412: model.ErrConflict} {
		if err := error(&apiError{Status: status}); !errors.Is(err, want) {
			t.Errorf("%d does not classify as %v", status, want)
		}
	}
	for _, status := range []int{408, 500, 503, 504} {
		if err := error(&apiError{Status: status}); errors.Unwrap(err) != nil {
			t.Errorf("%d classifies as %v, want no kind (transient)", status, errors.Unwrap(err))
		}
	}
	e := &apiError{Status: 404, Code: "Request_ResourceNotFound", Message: "Resource 'kim@contoso.com' does not exist"}
	if strings.Contains(e.Error(), "kim@") {
		t.Errorf("404 text echoes the principal name: %s", e)
	}
	e = &apiError{Status: 403, Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."}
	if !strings.Contains(e.Error(), "Insufficient privileges") {
		t.Errorf("403 text lost Graph's advice: %s", e)
	}
}
