// Package secrets reads credentials from AWS Secrets Manager for the Lambda
// functions, and from the environment for local runs. Secret values never
// reach a log line or an error message.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/credres/credres/pkg/model"
)

// api is the part of the Secrets Manager client this package uses.
type api interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Manager reads secrets by ARN and caches them for the life of the process
// (a Lambda execution environment), so that a warm invocation costs no call.
type Manager struct {
	client api
	mu     sync.Mutex
	cache  map[string]string
}

// NewManager wraps a Secrets Manager client.
func NewManager(client *secretsmanager.Client) *Manager { return newManager(client) }

func newManager(client api) *Manager { return &Manager{client: client, cache: map[string]string{}} }

// Secret returns the secret's string value.
func (m *Manager) Secret(ctx context.Context, arn string) (string, error) {
	m.mu.Lock()
	v, ok := m.cache[arn]
	m.mu.Unlock()
	if ok {
		return v, nil
	}
	out, err := m.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", fmt.Errorf("secrets: get %s: %w", arn, model.ErrNotFound)
		}
		return "", fmt.Errorf("secrets: get %s: %w", arn, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secrets: get %s: %w: the secret has no string value", arn, model.ErrInvalidInput)
	}
	m.mu.Lock()
	m.cache[arn] = *out.SecretString
	m.mu.Unlock()
	return *out.SecretString, nil
}

// Env reads "secrets" from environment variables named by the ARN argument,
// for local runs: Secret(ctx, "CREDRES_GRAPH_SECRET") returns that variable.
type Env func(string) string

// Secret returns the environment variable's value.
func (e Env) Secret(_ context.Context, name string) (string, error) {
	v := e(name)
	if v == "" {
		return "", fmt.Errorf("secrets: %s: %w: not set", name, model.ErrNotFound)
	}
	return v, nil
}
