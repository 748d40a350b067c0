package eventhubs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/credres/credres/pkg/model"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		c, err := LoadConfig(envOf(map[string]string{EnvNamespace: "contoso-audit.servicebus.windows.net"}))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{
			Namespace: "contoso-audit.servicebus.windows.net", EventHub: "insights-logs-auditlogs", ConsumerGroup: "$Default",
			StartAt: StartEarliest, MaxEvents: 100, ReceiveWait: 2 * time.Second, OpenWait: 10 * time.Second, OwnershipExpiry: 5 * time.Minute,
			CommitReserve: 5 * time.Second,
		}
		if c != want {
			t.Fatalf("LoadConfig = %+v\nwant %+v", c, want)
		}
	})
	t.Run("every-variable", func(t *testing.T) {
		t.Parallel()
		c, err := LoadConfig(envOf(map[string]string{
			EnvNamespace: "contoso-audit.servicebus.windows.net", EnvName: "entra-audit", EnvConsumerGroup: "credres",
			EnvConnectionSecret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eh-listen", EnvStartAt: "Latest",
			EnvMaxEvents: "250", EnvReceiveWait: "500ms", EnvOpenWait: "20s", EnvOwnershipExpiry: "10m",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.EventHub != "entra-audit" || c.ConsumerGroup != "credres" || c.StartAt != StartLatest || c.MaxEvents != 250 ||
			c.ReceiveWait != 500*time.Millisecond || c.OpenWait != 20*time.Second || c.OwnershipExpiry != 10*time.Minute ||
			c.ConnectionSecretARN != "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eh-listen" {
			t.Fatalf("LoadConfig = %+v", c)
		}
	})
	t.Run("a-connection-secret-may-name-the-namespace", func(t *testing.T) {
		t.Parallel()
		if _, err := LoadConfig(envOf(map[string]string{EnvConnectionSecret: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x"})); err != nil {
			t.Fatal(err)
		}
	})
	bad := map[string]struct {
		env  map[string]string
		name string
	}{
		"namespace-missing":         {map[string]string{}, EnvNamespace},
		"namespace-not-qualified":   {map[string]string{EnvNamespace: "contoso-audit"}, EnvNamespace},
		"namespace-with-scheme":     {map[string]string{EnvNamespace: "sb://contoso-audit.servicebus.windows.net/"}, EnvNamespace},
		"start-at-unknown":          {map[string]string{EnvNamespace: "a.servicebus.windows.net", EnvStartAt: "beginning"}, "beginning"},
		"max-events-zero":           {map[string]string{EnvNamespace: "a.servicebus.windows.net", EnvMaxEvents: "0"}, EnvMaxEvents},
		"receive-wait-no-unit":      {map[string]string{EnvNamespace: "a.servicebus.windows.net", EnvReceiveWait: "2"}, EnvReceiveWait},
		"expiry-negative":           {map[string]string{EnvNamespace: "a.servicebus.windows.net", EnvOwnershipExpiry: "-5m"}, EnvOwnershipExpiry},
		"wait-beyond-half-the-lock": {map[string]string{EnvNamespace: "a.servicebus.windows.net", EnvReceiveWait: "3m"}, "half the ownership expiry"},
		"open-wait-beyond-half":     {map[string]string{EnvNamespace: "a.servicebus.windows.net", EnvOpenWait: "1m", EnvOwnershipExpiry: "90s"}, "half the ownership expiry"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(envOf(tc.env))
			if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("err = %v, want invalid input naming %s", err, tc.name)
			}
		})
	}
}

// secrets is a model.SecretSource over a map.
type secrets map[string]string

func (s secrets) Secret(_ context.Context, arn string) (string, error) {
	if v, ok := s[arn]; ok {
		return v, nil
	}
	return "", model.ErrNotFound
}

// A made-up key: connection strings are parsed and the client built without
// any network traffic.
const (
	testConn         = "Endpoint=sb://contoso-audit.servicebus.windows.net/;SharedAccessKeyName=credres-listen;SharedAccessKey=bm90LWEta2V5"
	testSecretARN    = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:credres-eventhub"
	contosoNamespace = "contoso-audit.servicebus.windows.net"
)

func TestNewReceiversCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := NewDynamoDBCheckpointStore(nil, "unused")

	t.Run("connection-string-from-a-secret-names-the-namespace", func(t *testing.T) {
		t.Parallel()
		r, err := NewReceivers(ctx, Config{ConnectionSecretARN: testSecretARN, Secrets: secrets{testSecretARN: testConn + "\n"}}, store)
		if err != nil {
			t.Fatal(err)
		}
		if r.cfg.Namespace != contosoNamespace || r.cfg.EventHub != DefaultEventHub || r.cfg.ConsumerGroup != DefaultConsumerGroup {
			t.Fatalf("config %+v", r.cfg)
		}
		if err := r.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("entity-path-of-the-configured-hub", func(t *testing.T) {
		t.Parallel()
		r, err := NewReceivers(ctx, Config{ConnectionString: testConn + ";EntityPath=insights-logs-auditlogs"}, store)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("workload-identity", func(t *testing.T) {
		t.Parallel()
		r, err := NewReceivers(ctx, Config{Namespace: contosoNamespace, Credential: staticCredential{}}, store)
		if err != nil {
			t.Fatal(err)
		}
		if r.cfg.Namespace != contosoNamespace {
			t.Fatalf("namespace %q", r.cfg.Namespace)
		}
		if err := r.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	})

	bad := map[string]struct {
		cfg  Config
		kind error
		says string
	}{
		"secret-without-a-source": {Config{ConnectionSecretARN: testSecretARN}, model.ErrInvalidInput, "no secret source"},
		"secret-missing":          {Config{ConnectionSecretARN: testSecretARN, Secrets: secrets{}}, model.ErrNotFound, "fetch connection string"},
		"malformed-connection":    {Config{ConnectionString: "Endpoint=sb://x.servicebus.windows.net/"}, model.ErrInvalidInput, "connection string"},
		"other-namespace":         {Config{Namespace: "other.servicebus.windows.net", ConnectionString: testConn}, model.ErrInvalidInput, "names namespace contoso-audit.servicebus.windows.net"},
		"other-hub":               {Config{ConnectionString: testConn + ";EntityPath=insights-logs-signinlogs"}, model.ErrInvalidInput, "is for hub insights-logs-signinlogs"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := NewReceivers(ctx, tc.cfg, store)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.kind, tc.says)
			}
			if strings.Contains(err.Error(), "bm90LWEta2V5") {
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
	t.Run("no-store", func(t *testing.T) {
		t.Parallel()
		if _, err := NewReceivers(ctx, Config{ConnectionString: testConn}, nil); !errors.Is(err, model.ErrInvalidInput) {
			t.Fatalf("err = %v", err)
		}
	})
}

// staticCredential is an Entra credential that is never asked for a token
// here: the client connects lazily.
type staticCredential struct{}

func (staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "unused", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
