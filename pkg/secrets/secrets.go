// Package secrets reads credentials from AWS Secrets Manager for the Lambda
// functions, and from the environment for local runs. Secret values never
// reach a log line or an error message.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/credres/credres/pkg/model"
)

// api is the part of the Secrets Manager client this package uses.
type api interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// DefaultTTL is how long Manager keeps a secret's value: a rotated secret
// (a helpdesk password or token) is in use within five minutes, without
// waiting for a cold start, at one Secrets Manager call per secret and
// execution environment every five minutes.
const DefaultTTL = 5 * time.Minute

// Manager reads secrets by ARN and caches each value for DefaultTTL, so
// that a warm invocation mostly costs no call and a rotation is still seen.
type Manager struct {
	client api
	ttl    time.Duration
	clock  interface{ Now() time.Time }
	mu     sync.Mutex
	cache  map[string]cached
}

type cached struct {
	value   string
	expires time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// NewManager wraps a Secrets Manager client.
func NewManager(client *secretsmanager.Client) *Manager { return newManager(client) }

func newManager(client api) *Manager {
	return &Manager{client: client, ttl: DefaultTTL, clock: wallClock{}, cache: map[string]cached{}}
}

// Secret returns the secret's string value, read again once the cached one
// is DefaultTTL old.
func (m *Manager) Secret(ctx context.Context, arn string) (string, error) {
	m.mu.Lock()
	c, ok := m.cache[arn]
	m.mu.Unlock()
	if ok && m.clock.Now().Before(c.expires) {
		return c.value, nil
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
	m.cache[arn] = cached{value: *out.SecretString, expires: m.clock.Now().Add(m.ttl)}
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
