package wiring

import (
	"errors"
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

func TestHubConfig(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		c, err := HubConfig(envOf(map[string]string{EnvEventHubNamespace: "contoso-audit.servicebus.windows.net"}))
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
