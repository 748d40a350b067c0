package azcred

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

type secrets map[string]string

func (s secrets) Secret(_ context.Context, arn string) (string, error) {
	v, ok := s[arn]
	if !ok {
		return "", model.ErrNotFound
	}
	return v, nil
}

func TestCredentialChoice(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		app  App
		want Method
		err  string
	}{
		{"secret-from-the-store", App{TenantID: "t", ClientID: "c", SecretARN: "arn:s", Secrets: secrets{"arn:s": "  s3cr3t-value \n"}}, Secret, ""},
		{"secret-given", App{TenantID: "t", ClientID: "c", ClientSecret: "s3cr3t-value"}, Secret, ""},
		{"workload-identity", App{TenantID: "t", ClientID: "c", FederatedTokenFile: "/var/run/token"}, Workload, ""},
		{"managed-identity-last", App{ClientID: "c"}, ManagedIdentity, ""},
		{"secret-needs-the-app", App{ClientSecret: "s3cr3t-value"}, "", "tenant id and client id"},
		{"arn-without-a-store", App{TenantID: "t", ClientID: "c", SecretARN: "arn:s"}, "", "no secret source"},
		{"missing-secret", App{TenantID: "t", ClientID: "c", SecretARN: "arn:x", Secrets: secrets{}}, "", "secret store"},
		{"bad-certificate", App{TenantID: "t", ClientID: "c", SecretARN: "arn:s", Secrets: secrets{"arn:s": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}}, "", "client certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got, err := Credential(ctx, tc.app)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("the error leaks the secret: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("%s, %v; want %s", got, err, tc.want)
			}
		})
	}
	if _, _, err := Credential(ctx, App{TenantID: "t", ClientID: "c", SecretARN: "arn:x", Secrets: secrets{}}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("not found not kept: %v", err)
	}
}
