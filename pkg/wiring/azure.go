package wiring

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/azcred"
	"github.com/credres/credres/pkg/eventhubs"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
)

// Environment variables of the Azure side: the app registration (the
// AZURE_* names are the ones azidentity and the Azure CLI use; the secret is
// named after Graph, the first service the app was registered for), the
// Graph client and the Event Hubs reader.
const (
	EnvAzureTenantID            = "AZURE_TENANT_ID"
	EnvAzureClientID            = "AZURE_CLIENT_ID"
	EnvAzureClientSecret        = "AZURE_CLIENT_SECRET"
	EnvAzureCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvAzureCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvAzureFederatedTokenFile  = "AZURE_FEDERATED_TOKEN_FILE"
	EnvGraphToken               = "CREDRES_GRAPH_TOKEN"
	EnvGraphSecretARN           = "CREDRES_GRAPH_SECRET_ARN"
	EnvGraphReportsBudget       = "CREDRES_GRAPH_REPORTS_BUDGET"
	EnvGraphDirectoryBudget     = "CREDRES_GRAPH_DIRECTORY_BUDGET"
	EnvGraphPolicyTTL           = "CREDRES_GRAPH_POLICY_TTL"
	EnvEventHubNamespace        = "CREDRES_EVENTHUB_NAMESPACE"
	EnvEventHubName             = "CREDRES_EVENTHUB_NAME"
	EnvEventHubConsumerGroup    = "CREDRES_EVENTHUB_CONSUMER_GROUP"
	EnvEventHubConnectionSecret = "CREDRES_EVENTHUB_CONNECTION_SECRET_ARN"
	// EnvEventHubClientID and EnvEventHubCredentialSecret are the Entra
	// mode's own app registration, one that holds only "Azure Event Hubs
	// Data Receiver" on the hub, and the secret with its client secret or
	// PEM certificate: ingest parses untrusted stream data and is never
	// given the Graph app's credential.
	EnvEventHubClientID         = "CREDRES_EVENTHUB_CLIENT_ID"
	EnvEventHubCredentialSecret = "CREDRES_EVENTHUB_CREDENTIAL_SECRET_ARN"
	EnvEventHubStartAt          = "CREDRES_EVENTHUB_START_AT"
	EnvEventHubMaxEvents        = "CREDRES_EVENTHUB_MAX_EVENTS"
	EnvEventHubReceiveWait      = "CREDRES_EVENTHUB_RECEIVE_WAIT"
	EnvEventHubOpenWait         = "CREDRES_EVENTHUB_OPEN_WAIT"
	EnvEventHubOwnershipExpiry  = "CREDRES_EVENTHUB_OWNERSHIP_EXPIRY"
)

// AzureApp reads the app registration from the environment.
func AzureApp(getenv func(string) string, secrets model.SecretSource) azcred.App {
	return azcred.App{
		TenantID: getenv(EnvAzureTenantID), ClientID: getenv(EnvAzureClientID), ClientSecret: getenv(EnvAzureClientSecret),
		CertificatePath: getenv(EnvAzureCertificatePath), SecretARN: getenv(EnvGraphSecretARN),
		FederatedTokenFile: getenv(EnvAzureFederatedTokenFile), Secrets: secrets,
	}
}

// HubApp reads the Event Hubs app registration of the Entra mode from the
// environment: the tenant, CREDRES_EVENTHUB_CLIENT_ID and the secret named
// by CREDRES_EVENTHUB_CREDENTIAL_SECRET_ARN, never the Graph app's.
func HubApp(getenv func(string) string, secrets model.SecretSource) azcred.App {
	return azcred.App{
		TenantID: getenv(EnvAzureTenantID), ClientID: strings.TrimSpace(getenv(EnvEventHubClientID)),
		SecretARN: strings.TrimSpace(getenv(EnvEventHubCredentialSecret)), Secrets: secrets,
	}
}

// GraphConfig reads the Graph client's graph.Config from the environment (pass os.Getenv). Unknown
// or malformed values are errors naming the variable.
func GraphConfig(getenv func(string) string) (graph.Config, error) {
	c := graph.Config{
		BaseURL:             getenv(EnvGraphURL),
		TenantID:            getenv(EnvAzureTenantID),
		ClientID:            getenv(EnvAzureClientID),
		ClientSecret:        getenv(EnvAzureClientSecret),
		CertificatePath:     getenv(EnvAzureCertificatePath),
		CertificatePassword: getenv(EnvAzureCertificatePassword),
		SecretARN:           getenv(EnvGraphSecretARN),
		FederatedTokenFile:  getenv(EnvAzureFederatedTokenFile),
		Token:               getenv(EnvGraphToken),
		Sender:              getenv(EnvMailSender),
		PasswordAuth:        model.PasswordAuth(getenv(EnvPasswordAuth)),
	}
	if v := getenv(EnvPHSFallback); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return graph.Config{}, fmt.Errorf("graph: config: %w: %s=%q is not a boolean", model.ErrInvalidInput, EnvPHSFallback, v)
		}
		c.PHSFallback = b
	}
	if v := getenv(EnvGraphPolicyTTL); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return graph.Config{}, fmt.Errorf("graph: config: %w: %s=%q is not a positive duration (1h, 15m)", model.ErrInvalidInput, EnvGraphPolicyTTL, v)
		}
		c.PolicyTTL = d
	}
	for env, class := range map[string]graph.Class{EnvGraphReportsBudget: graph.ClassAuthReports, EnvGraphDirectoryBudget: graph.ClassDirectory} {
		v := getenv(env)
		if v == "" {
			continue
		}
		l, err := graph.ParseLimit(v)
		if err != nil {
			return graph.Config{}, fmt.Errorf("graph: config: %s: %w", env, err)
		}
		if c.Limits == nil {
			c.Limits = map[graph.Class]graph.Limit{}
		}
		c.Limits[class] = l
	}
	if err := c.Validate(); err != nil {
		return graph.Config{}, err
	}
	return c, nil
}

// NewGraph builds a Graph client from the environment (see GraphConfig), fetching
// credentials named by CREDRES_GRAPH_SECRET_ARN through secrets: how the
// Lambda functions that read Graph start.
func NewGraph(ctx context.Context, getenv func(string) string, secrets model.SecretSource) (*graph.Client, error) {
	cfg, err := GraphConfig(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Secrets = secrets
	return graph.New(ctx, cfg)
}

// HubConfig reads the Event Hubs eventhubs.Config from the environment (pass os.Getenv); the
// caller sets Secrets when ConnectionSecretARN is set, and otherwise the
// Credential of HubApp, whose two settings are then required. Malformed
// values are errors naming the variable.
func HubConfig(getenv func(string) string) (eventhubs.Config, error) {
	c := eventhubs.Config{
		Namespace:           strings.TrimSpace(getenv(EnvEventHubNamespace)),
		EventHub:            strings.TrimSpace(getenv(EnvEventHubName)),
		ConsumerGroup:       strings.TrimSpace(getenv(EnvEventHubConsumerGroup)),
		ConnectionSecretARN: strings.TrimSpace(getenv(EnvEventHubConnectionSecret)),
		StartAt:             eventhubs.StartAt(strings.ToLower(strings.TrimSpace(getenv(EnvEventHubStartAt)))),
	}
	if v := getenv(EnvEventHubMaxEvents); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return eventhubs.Config{}, fmt.Errorf("eventhubs: config: %w: %s=%q is not a positive integer", model.ErrInvalidInput, EnvEventHubMaxEvents, v)
		}
		c.MaxEvents = n
	}
	for env, dst := range map[string]*time.Duration{EnvEventHubReceiveWait: &c.ReceiveWait, EnvEventHubOpenWait: &c.OpenWait, EnvEventHubOwnershipExpiry: &c.OwnershipExpiry} {
		v := getenv(env)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return eventhubs.Config{}, fmt.Errorf("eventhubs: config: %w: %s=%q is not a positive duration", model.ErrInvalidInput, env, v)
		}
		*dst = d
	}
	// The namespace is checked here too, so that the problem names its setting.
	switch {
	case c.Namespace != "" && !strings.Contains(c.Namespace, "."):
		return eventhubs.Config{}, fmt.Errorf("eventhubs: config: %w: %s=%q is not fully qualified (<namespace>.servicebus.windows.net)", model.ErrInvalidInput, EnvEventHubNamespace, c.Namespace)
	case strings.Contains(c.Namespace, "/"):
		return eventhubs.Config{}, fmt.Errorf("eventhubs: config: %w: %s=%q must be a host name, without scheme or path", model.ErrInvalidInput, EnvEventHubNamespace, c.Namespace)
	case c.Namespace == "" && c.ConnectionSecretARN == "":
		return eventhubs.Config{}, fmt.Errorf("eventhubs: config: %w: %s is required without a connection string", model.ErrInvalidInput, EnvEventHubNamespace)
	}
	if err := c.Validate(); err != nil {
		return eventhubs.Config{}, err
	}
	if c.ConnectionSecretARN == "" && (strings.TrimSpace(getenv(EnvEventHubClientID)) == "" || strings.TrimSpace(getenv(EnvEventHubCredentialSecret)) == "") {
		return eventhubs.Config{}, fmt.Errorf("eventhubs: config: %w: without a connection string (%s), %s and %s are required: the Event Hubs app registration and its credential", model.ErrInvalidInput, EnvEventHubConnectionSecret, EnvEventHubClientID, EnvEventHubCredentialSecret)
	}
	return c, nil
}
