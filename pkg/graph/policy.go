package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// DefaultPolicyTTL is how long a client keeps the tenant's policy before
// reading it again: policies change rarely, and a change is also an audit
// event that triggers a tenant-wide re-evaluation.
const DefaultPolicyTTL = time.Hour

// The tenant's own policy, one read each (docs/GRAPH.md): the
// authentication methods policy, the authentication strengths and the
// Conditional Access policies.
const (
	pathMethodsPolicy     = "/policies/authenticationMethodsPolicy"
	pathStrengthPolicies  = "/policies/authenticationStrengthPolicies"
	pathConditionalAccess = "/identity/conditionalAccess/policies"
)

// policyCache holds the last policy read and when.
type policyCache struct {
	mu  sync.Mutex
	at  time.Time
	val *model.TenantPolicy
}

// TenantPolicy reads the tenant's own policy: one request for each of its
// three parts (more only when Graph pages a list), kept for the client's
// PolicyTTL so that a process evaluating many users reads it once. A part
// the application may not read (403) or that Graph does not have (404) is
// left out and logged: the outputs then say that it was not included. A
// malformed answer is an error naming the field, like a malformed snapshot.
func (c *Client) TenantPolicy(ctx context.Context) (model.TenantPolicy, error) {
	return c.TenantPolicySince(ctx, time.Time{})
}

// TenantPolicySince is TenantPolicy, except that a policy kept from a read
// before since is read again: an evaluation that follows a change of the
// tenant's policy, made at since, must not be given the policy from before
// it (docs/POLICY.md, "Policy changes").
func (c *Client) TenantPolicySince(ctx context.Context, since time.Time) (model.TenantPolicy, error) {
	ttl := c.cfg.PolicyTTL
	if ttl == 0 {
		ttl = DefaultPolicyTTL
	}
	pc := &c.policy
	pc.mu.Lock()
	defer pc.mu.Unlock()
	now := c.clock.Now()
	if pc.val != nil && ttl > 0 && now.Sub(pc.at) < ttl && !pc.at.Before(since) {
		return *pc.val, nil
	}
	var p model.TenantPolicy
	var errs []error
	read := func(path, field string, list bool, v json.Unmarshaler) bool {
		body, err := c.getPolicy(ctx, path, list)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusNotFound):
			zerolog.Ctx(ctx).Warn().Str("read", path).Int("status", ae.Status).
				Msg("graph: the tenant's " + field + " cannot be read; assessments leave it out (docs/GRAPH.md lists the permission)")
			return false
		case err != nil:
			errs = append(errs, fmt.Errorf("graph: read %s: %w", path, err))
			return false
		}
		if err := v.UnmarshalJSON(body); err != nil {
			errs = append(errs, fmt.Errorf("graph: read %s: %w", path, err))
			return false
		}
		return true
	}
	var amp model.AuthMethodsPolicy
	if read(pathMethodsPolicy, "authentication methods policy", false, &amp) {
		p.AuthMethodsPolicy = &amp
	}
	var sp model.StrengthPolicies
	if read(pathStrengthPolicies, "authentication strengths", true, &sp) {
		p.StrengthPolicies = &sp
	}
	var cap model.CAPolicies
	if read(pathConditionalAccess, "Conditional Access policies", true, &cap) {
		p.CAPolicies = &cap
	}
	if err := errors.Join(errs...); err != nil {
		return model.TenantPolicy{}, err
	}
	pc.val, pc.at = &p, now
	return p, nil
}

// getPolicy reads one policy resource and returns its body; for a list,
// the value arrays of every page joined into one JSON array.
func (c *Client) getPolicy(ctx context.Context, path string, list bool) ([]byte, error) {
	next := c.cfg.BaseURL + path
	var items []json.RawMessage
	for page := 1; ; page++ {
		u, err := url.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		body, err := c.getRaw(ctx, ClassDirectory, "read "+path, u)
		if err != nil {
			return nil, err
		}
		if !list {
			return bytes.TrimSpace(body), nil
		}
		var env struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("page %d: %w: %v", page, model.ErrInvalidInput, err)
		}
		items = append(items, env.Value...)
		if env.NextLink == "" {
			break
		}
		if err := c.sameService(env.NextLink); err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		next = env.NextLink
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return json.Marshal(items)
}

// getRaw reads one page outside the SDK's models (a policy, a page of the
// sign-in log) as the bytes Graph sent, paced in class and retried by
// httpretry's rule.
func (c *Client) getRaw(ctx context.Context, class Class, op string, u *url.URL) ([]byte, error) {
	var body []byte
	err := c.do(ctx, class, op, true, func(ctx context.Context) error {
		ri := abs.NewRequestInformation()
		ri.Method = abs.GET
		ri.SetUri(*u)
		ri.Headers.TryAdd("Accept", "application/json")
		raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
		body, _ = raw.([]byte)
		return err
	})
	return body, err
}
