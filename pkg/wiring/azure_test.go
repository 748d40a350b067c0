package wiring

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/eventhubs"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestGraphConfig(t *testing.T) {
	t.Parallel()
	c, err := GraphConfig(envOf(map[string]string{
		EnvGraphURL: "https://graph.microsoft.us/v1.0/", EnvAzureTenantID: "t", EnvAzureClientID: "c", EnvAzureClientSecret: "s",
		EnvMailSender: "credres@contoso.com", EnvPasswordAuth: "pta", EnvPHSFallback: "true",
		EnvGraphReportsBudget: "4/10s", EnvGraphDirectoryBudget: "100/1s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "https://graph.microsoft.us/v1.0" || c.PasswordAuth != model.PasswordPTA || !c.PHSFallback ||
		c.Limits[graph.ClassAuthReports] != (graph.Limit{Requests: 4, Per: 10 * time.Second}) || c.Limits[graph.ClassDirectory].Per != time.Second ||
		c.Sender != "credres@contoso.com" || c.MaxAttempts != 8 {
		t.Errorf("config %+v", c)
	}
	d, err := GraphConfig(envOf(nil))
	if err != nil || d.BaseURL != graph.DefaultBaseURL || d.PasswordAuth != model.PasswordCloud {
		t.Errorf("defaults %+v, %v", d, err)
	}
	for name, bad := range map[string]map[string]string{
		"phs-not-bool":        {EnvPHSFallback: "maybe"},
		"budget-not-a-budget": {EnvGraphReportsBudget: "5 per 10s"},
		"budget-zero":         {EnvGraphReportsBudget: "0/10s"},
		"unknown-password":    {EnvPasswordAuth: "kerberos"},
		"plain-http-remote":   {EnvGraphURL: "http://graph.microsoft.com/v1.0"},
		"not-a-url":           {EnvGraphURL: "graph"},
	} {
		if _, err := GraphConfig(envOf(bad)); !errors.Is(err, model.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}

// The Event Hubs app of the Entra mode is its own: its client id and the
// secret of its credential, with the tenant; nothing of the Graph app's.
func TestHubApp(t *testing.T) {
	t.Parallel()
	app := HubApp(envOf(map[string]string{
		EnvAzureTenantID: "t", EnvAzureClientID: "graph-app", EnvGraphSecretARN: "arn:graph", EnvAzureClientSecret: "graph-secret",
		EnvEventHubClientID: "hub-app", EnvEventHubCredentialSecret: "arn:hub",
	}), nil)
	if app.TenantID != "t" || app.ClientID != "hub-app" || app.SecretARN != "arn:hub" || app.ClientSecret != "" || app.CertificatePath != "" || app.FederatedTokenFile != "" {
		t.Errorf("HubApp = %+v", app)
	}
}

func TestHubConfig(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		c, err := HubConfig(envOf(map[string]string{EnvEventHubNamespace: "contoso-audit.servicebus.windows.net",
			EnvEventHubClientID: "00000000-0000-4000-8000-000000000009", EnvEventHubCredentialSecret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eh-app"}))
		if err != nil {
			t.Fatal(err)
		}
		want := eventhubs.Config{
			Namespace: "contoso-audit.servicebus.windows.net", EventHub: "insights-logs-auditlogs", ConsumerGroup: "$Default",
			StartAt: eventhubs.StartEarliest, MaxEvents: 100, ReceiveWait: 2 * time.Second, OpenWait: 10 * time.Second, OwnershipExpiry: 5 * time.Minute,
			CommitReserve: 5 * time.Second,
		}
		if c != want {
			t.Fatalf("LoadConfig = %+v\nwant %+v", c, want)
		}
	})
	t.Run("every-variable", func(t *testing.T) {
		t.Parallel()
		c, err := HubConfig(envOf(map[string]string{
			EnvEventHubNamespace: "contoso-audit.servicebus.windows.net", EnvEventHubName: "entra-audit", EnvEventHubConsumerGroup: "credres",
			EnvEventHubConnectionSecret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eh-listen", EnvEventHubStartAt: "Latest",
			EnvEventHubMaxEvents: "250", EnvEventHubReceiveWait: "500ms", EnvEventHubOpenWait: "20s", EnvEventHubOwnershipExpiry: "10m",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.EventHub != "entra-audit" || c.ConsumerGroup != "credres" || c.StartAt != eventhubs.StartLatest || c.MaxEvents != 250 ||
			c.ReceiveWait != 500*time.Millisecond || c.OpenWait != 20*time.Second || c.OwnershipExpiry != 10*time.Minute ||
			c.ConnectionSecretARN != "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eh-listen" {
			t.Fatalf("LoadConfig = %+v", c)
		}
	})
	t.Run("a-connection-secret-may-name-the-namespace", func(t *testing.T) {
		t.Parallel()
		if _, err := HubConfig(envOf(map[string]string{EnvEventHubConnectionSecret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x"})); err != nil {
			t.Fatal(err)
		}
	})
	bad := map[string]struct {
		env  map[string]string
		name string
	}{
		"namespace-missing":         {map[string]string{}, EnvEventHubNamespace},
		"namespace-not-qualified":   {map[string]string{EnvEventHubNamespace: "contoso-audit"}, EnvEventHubNamespace},
		"namespace-with-scheme":     {map[string]string{EnvEventHubNamespace: "sb://contoso-audit.servicebus.windows.net/"}, EnvEventHubNamespace},
		"start-at-unknown":          {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubStartAt: "beginning"}, "beginning"},
		"max-events-zero":           {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubMaxEvents: "0"}, EnvEventHubMaxEvents},
		"receive-wait-no-unit":      {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubReceiveWait: "2"}, EnvEventHubReceiveWait},
		"expiry-negative":           {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubOwnershipExpiry: "-5m"}, EnvEventHubOwnershipExpiry},
		"wait-beyond-half-the-lock": {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubReceiveWait: "3m"}, "half the ownership expiry"},
		"open-wait-beyond-half":     {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubOpenWait: "1m", EnvEventHubOwnershipExpiry: "90s"}, "half the ownership expiry"},
		// Entra mode reads the hub as an app registration of its own, never
		// the Graph app's.
		"entra-mode-without-its-app":        {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvAzureClientID: "c", EnvGraphSecretARN: "arn:graph"}, EnvEventHubClientID},
		"entra-mode-without-its-credential": {map[string]string{EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubClientID: "c"}, EnvEventHubCredentialSecret},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := HubConfig(envOf(tc.env))
			if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("err = %v, want invalid input naming %s", err, tc.name)
			}
		})
	}
}

// Ingest parses untrusted stream data and reads no Graph: given the Graph
// credential, it refuses to start.
func TestIngestRefusesTheGraphCredential(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	vars := map[string]string{
		EnvTenantID: "00000000-0000-4000-8000-000000000001", EnvStateTable: "state", EnvCheckpointTable: "checkpoints",
		EnvEvaluateQueue: "https://sqs.eu-west-1.amazonaws.com/1/evaluate.fifo", EnvIngestDLQ: "https://sqs.eu-west-1.amazonaws.com/1/dlq",
		EnvEventHubNamespace: "a.servicebus.windows.net", EnvEventHubConnectionSecret: "arn:hub",
	}
	for _, withGraph := range []bool{false, true} {
		if withGraph {
			vars[EnvGraphSecretARN] = "arn:graph"
		}
		e, err := Load(context.Background(), envOf(vars))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = e.Ingest()
		switch {
		case !withGraph && err != nil:
			t.Errorf("without the Graph credential: %v", err)
		case withGraph && (!errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), EnvGraphSecretARN)):
			t.Errorf("with the Graph credential: err = %v, want a refusal naming %s", err, EnvGraphSecretARN)
		}
	}
}
