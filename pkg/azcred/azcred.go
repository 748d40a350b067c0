// Package azcred builds the Entra credential of credres's app registration,
// the same way for every Azure service it calls (Microsoft Graph, Event
// Hubs): a client certificate or secret (given directly or fetched from a
// secret store), workload identity federation, or a managed identity. The
// credential's secret never reaches a log line or an error message.
package azcred

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/credres/credres/pkg/model"
)

// Method names the kind of credential chosen; it is logged, never the secret.
type Method string

// Credential kinds, in the order they are tried.
const (
	Certificate     Method = "client-certificate"
	Secret          Method = "client-secret"
	Workload        Method = "workload-identity"
	ManagedIdentity Method = "managed-identity"
)

// App describes the app registration and where its credential is.
type App struct {
	TenantID string
	ClientID string
	// ClientSecret is the app's client secret.
	ClientSecret string
	// CertificatePath is a PEM or PKCS#12 file with the certificate and key;
	// CertificatePassword decrypts it.
	CertificatePath     string
	CertificatePassword string
	// SecretARN names a secret holding the client secret or a PEM bundle of
	// the certificate and its key, fetched through Secrets.
	SecretARN string
	Secrets   model.SecretSource
	// FederatedTokenFile is a workload identity token file.
	FederatedTokenFile string
	// Options are passed to azidentity (the cloud, for national clouds).
	Options azcore.ClientOptions
}

// Credential returns the app's credential in the documented order: a client
// certificate, a client secret (either may come from SecretARN), workload
// identity federation, and finally managed identity (user-assigned when
// ClientID is set).
func Credential(ctx context.Context, app App) (azcore.TokenCredential, Method, error) {
	secret, cert := app.ClientSecret, []byte(nil)
	if app.CertificatePath != "" {
		data, err := os.ReadFile(app.CertificatePath)
		if err != nil {
			return nil, "", fmt.Errorf("azure credential: read client certificate: %w", err)
		}
		cert = data
	}
	if app.SecretARN != "" && cert == nil && secret == "" {
		if app.Secrets == nil {
			return nil, "", fmt.Errorf("azure credential: %w: a secret ARN is configured but no secret source", model.ErrInvalidInput)
		}
		v, err := app.Secrets.Secret(ctx, app.SecretARN)
		if err != nil {
			return nil, "", fmt.Errorf("azure credential: fetch the client credential from the secret store: %w", err)
		}
		if strings.Contains(v, "-----BEGIN") {
			cert = []byte(v)
		} else {
			secret = strings.TrimSpace(v)
		}
	}
	needApp := func() error {
		if app.TenantID == "" || app.ClientID == "" {
			return fmt.Errorf("azure credential: %w: the tenant id and client id are required with a client certificate or secret", model.ErrInvalidInput)
		}
		return nil
	}
	switch {
	case cert != nil:
		if err := needApp(); err != nil {
			return nil, "", err
		}
		certs, key, err := azidentity.ParseCertificates(cert, []byte(app.CertificatePassword))
		if err != nil {
			return nil, "", fmt.Errorf("azure credential: %w: client certificate: %v", model.ErrInvalidInput, err)
		}
		cred, err := azidentity.NewClientCertificateCredential(app.TenantID, app.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{ClientOptions: app.Options})
		if err != nil {
			return nil, "", fmt.Errorf("azure credential: client certificate: %w", err)
		}
		return cred, Certificate, nil
	case secret != "":
		if err := needApp(); err != nil {
			return nil, "", err
		}
		cred, err := azidentity.NewClientSecretCredential(app.TenantID, app.ClientID, secret, &azidentity.ClientSecretCredentialOptions{ClientOptions: app.Options})
		if err != nil {
			return nil, "", fmt.Errorf("azure credential: client secret: %w", err)
		}
		return cred, Secret, nil
	case app.FederatedTokenFile != "":
		cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: app.Options, TenantID: app.TenantID, ClientID: app.ClientID, TokenFilePath: app.FederatedTokenFile,
		})
		if err != nil {
			return nil, "", fmt.Errorf("azure credential: workload identity: %w", err)
		}
		return cred, Workload, nil
	}
	mi := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: app.Options}
	if app.ClientID != "" {
		mi.ID = azidentity.ClientID(app.ClientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(mi)
	if err != nil {
		return nil, "", fmt.Errorf("azure credential: managed identity: %w", err)
	}
	return cred, ManagedIdentity, nil
}
