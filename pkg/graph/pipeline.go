package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/credres/credres/pkg/pipeline"
)

// ReadUsers reads users for the evaluate stage: results[i] answers ids[i],
// a user or the failure to read them (wrapping model.ErrNotFound for a user
// deleted since the event).
func (c *Client) ReadUsers(ctx context.Context, ids []string) []pipeline.UserResult {
	users, err := c.Users(ctx, ids)
	byID := make(map[string]int, len(users))
	for i, u := range users {
		byID[u.ID] = i
	}
	failed := map[string]error{}
	var other error
	for _, e := range splitJoined(err) {
		var ue *UserError
		if errors.As(e, &ue) {
			failed[ue.ID] = ue
		} else {
			other = e
		}
	}
	out := make([]pipeline.UserResult, len(ids))
	for i, id := range ids {
		switch j, ok := byID[id]; {
		case ok:
			out[i].User = users[j]
		case failed[id] != nil:
			out[i].Err = failed[id]
		case other != nil:
			out[i].Err = other
		default:
			out[i].Err = fmt.Errorf("graph: read user %s: no result", id)
		}
	}
	return out
}

// Registrations walks the registration report for the sweep stage.
func (c *Client) Registrations(ctx context.Context, fn func(pipeline.Registration) error) error {
	return c.RegistrationDetails(ctx, func(d RegistrationDetail) error {
		return fn(pipeline.Registration{UserID: d.ID, MethodsRegistered: d.MethodsRegistered, LastUpdated: d.LastUpdated})
	})
}

func splitJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}

var (
	_ pipeline.UserReader         = (*Client)(nil)
	_ pipeline.RegistrationReader = (*Client)(nil)
)

// FromEnv builds a client from the environment (see LoadConfig), fetching
// credentials named by CREDRES_GRAPH_SECRET_ARN through secrets: how the
// Lambda functions that read Graph start.
func FromEnv(ctx context.Context, getenv func(string) string, secrets SecretSource) (*Client, error) {
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return nil, err
	}
	cfg.Secrets = secrets
	return New(ctx, cfg)
}
