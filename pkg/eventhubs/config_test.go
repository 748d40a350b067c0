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
