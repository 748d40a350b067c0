package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/credres/credres/pkg/model"
)

// RegistrationDetail is one row of Graph's authentication-methods
// registration report (/reports/authenticationMethods/userRegistrationDetails):
// enough to enumerate users, to tell passwordless phone sign-in, and to find
// users whose registration changed since a previous sweep. Its JSON is the
// report's own field names, so a sweep's view can be stored and read back.
type RegistrationDetail struct {
	ID                    string    `json:"id"`
	UserPrincipalName     string    `json:"userPrincipalName,omitempty"`
	DisplayName           string    `json:"userDisplayName,omitempty"`
	UserType              string    `json:"userType,omitempty"`
	IsAdmin               bool      `json:"isAdmin"`
	IsMFACapable          bool      `json:"isMfaCapable"`
	IsMFARegistered       bool      `json:"isMfaRegistered"`
	IsPasswordlessCapable bool      `json:"isPasswordlessCapable"`
	MethodsRegistered     []string  `json:"methodsRegistered"`
	LastUpdated           time.Time `json:"lastUpdatedDateTime,omitzero"`
	// What reports show beside the assessment (model.RegistrationDetails).
	IsSsprRegistered       *bool    `json:"isSsprRegistered,omitempty"`
	UserPreferredMethod    string   `json:"userPreferredMethodForSecondaryAuthentication,omitempty"`
	SystemPreferredMethods []string `json:"systemPreferredAuthenticationMethods,omitempty"`
	SystemPreferredEnabled *bool    `json:"isSystemPreferredAuthenticationMethodEnabled,omitempty"`
}

// Details are the row's fields a snapshot keeps for reports.
func (d RegistrationDetail) Details() *model.RegistrationDetails {
	admin := d.IsAdmin
	r := &model.RegistrationDetails{
		IsSsprRegistered: d.IsSsprRegistered, UserPreferredMethodForSecondaryAuthentication: d.UserPreferredMethod,
		SystemPreferredAuthenticationMethods:         slices.Clone(d.SystemPreferredMethods),
		IsSystemPreferredAuthenticationMethodEnabled: d.SystemPreferredEnabled, IsAdmin: &admin,
	}
	if r.IsSsprRegistered != nil {
		v := *r.IsSsprRegistered
		r.IsSsprRegistered = &v
	}
	if r.IsSystemPreferredAuthenticationMethodEnabled != nil {
		v := *r.IsSystemPreferredAuthenticationMethodEnabled
		r.IsSystemPreferredAuthenticationMethodEnabled = &v
	}
	return r
}

// SameAs reports whether the row shows no registration change since prev:
// the same lastUpdatedDateTime and the same registered method types (in any
// order).
func (d RegistrationDetail) SameAs(prev RegistrationDetail) bool {
	if !d.LastUpdated.Equal(prev.LastUpdated) || len(d.MethodsRegistered) != len(prev.MethodsRegistered) {
		return false
	}
	a, b := slices.Clone(d.MethodsRegistered), slices.Clone(prev.MethodsRegistered)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func detailFrom(m models.UserRegistrationDetailsable) RegistrationDetail {
	d := RegistrationDetail{
		ID:                     deref(m.GetId()),
		UserPrincipalName:      deref(m.GetUserPrincipalName()),
		DisplayName:            deref(m.GetUserDisplayName()),
		IsAdmin:                deref(m.GetIsAdmin()),
		IsMFACapable:           deref(m.GetIsMfaCapable()),
		IsMFARegistered:        deref(m.GetIsMfaRegistered()),
		IsPasswordlessCapable:  deref(m.GetIsPasswordlessCapable()),
		MethodsRegistered:      slices.Clone(m.GetMethodsRegistered()),
		IsSsprRegistered:       m.GetIsSsprRegistered(),
		SystemPreferredMethods: slices.Clone(m.GetSystemPreferredAuthenticationMethods()),
		SystemPreferredEnabled: m.GetIsSystemPreferredAuthenticationMethodEnabled(),
	}
	if p := m.GetUserPreferredMethodForSecondaryAuthentication(); p != nil {
		d.UserPreferredMethod = p.String()
	}
	if t := m.GetUserType(); t != nil {
		d.UserType = t.String()
	}
	if t := m.GetLastUpdatedDateTime(); t != nil {
		d.LastUpdated = t.UTC()
	}
	return d
}

// parseRegistration decodes a user's report row: the row itself (read by
// object id) or a filtered page (read by user principal name). A page
// without rows gives nil: the report does not list the user yet.
func parseRegistration(body []byte) (*RegistrationDetail, error) {
	var probe struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, fmt.Errorf("decode registration details: %w: %v", model.ErrInvalidInput, err)
	}
	n, err := jsonser.NewJsonParseNode(body)
	if err != nil {
		return nil, fmt.Errorf("decode registration details: %w: %v", model.ErrInvalidInput, err)
	}
	if probe.Value != nil {
		v, err := n.GetObjectValue(models.CreateUserRegistrationDetailsCollectionResponseFromDiscriminatorValue)
		if err != nil {
			return nil, fmt.Errorf("decode registration details: %w: %v", model.ErrInvalidInput, err)
		}
		page, ok := v.(models.UserRegistrationDetailsCollectionResponseable)
		if !ok || len(page.GetValue()) == 0 || page.GetValue()[0] == nil {
			return nil, nil
		}
		d := detailFrom(page.GetValue()[0])
		return &d, nil
	}
	v, err := n.GetObjectValue(models.CreateUserRegistrationDetailsFromDiscriminatorValue)
	if err != nil {
		return nil, fmt.Errorf("decode registration details: %w: %v", model.ErrInvalidInput, err)
	}
	m, ok := v.(models.UserRegistrationDetailsable)
	if !ok {
		return nil, fmt.Errorf("decode registration details: %w: not a registration row", model.ErrInvalidInput)
	}
	d := detailFrom(m)
	return &d, nil
}

// RegistrationDetails reads the whole registration report, following
// @odata.nextLink to the end, and calls fn for each row in report order. An
// error returned by fn stops the read and is returned as is. Each page is one
// request of the reports budget.
func (c *Client) RegistrationDetails(ctx context.Context, fn func(RegistrationDetail) error) error {
	next := ""
	trail := pageTrail{}
	for page := 1; ; page++ {
		resp, err := c.registrationPage(ctx, next)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
				err = fmt.Errorf("%w (the app needs the Graph application permission AuditLog.Read.All, docs/GRAPH.md)", err)
			}
			return fmt.Errorf("graph: list registration details page %d: %w", page, err)
		}
		if resp == nil {
			return nil
		}
		for _, row := range resp.GetValue() {
			if row == nil {
				continue
			}
			if err := fn(detailFrom(row)); err != nil {
				return err
			}
		}
		next = deref(resp.GetOdataNextLink())
		if next == "" {
			return nil
		}
		if err := c.sameService(next); err != nil {
			return fmt.Errorf("graph: list registration details page %d: %w", page, err)
		}
		if err := trail.follow(next); err != nil {
			return fmt.Errorf("graph: list registration details page %d: %w", page, err)
		}
	}
}

// SweepResult is what a reconciliation sweep found.
type SweepResult struct {
	// View is the report as read now: the previous view of the next sweep.
	View map[string]RegistrationDetail
	// Changed are the users whose registration changed (or who are new),
	// read live, in report order.
	Changed []model.User
	// Removed are the ids of the previous view no longer in the report.
	Removed []string
	// Unchanged counts the users left alone.
	Unchanged int
}

// Sweep reconciles the tenant against a previous view of the registration
// report: it reads the report whole, then reads, batched, only the users
// whose row differs from previous (see RegistrationDetail.SameAs) or who are
// new. With an empty previous view every user is read. Users that failed to
// read are left out of Changed and their failures joined in the error; a
// user deleted since the report was read is left out silently.
func (c *Client) Sweep(ctx context.Context, previous map[string]RegistrationDetail) (*SweepResult, error) {
	res := &SweepResult{View: map[string]RegistrationDetail{}}
	var changed []string
	err := c.RegistrationDetails(ctx, func(d RegistrationDetail) error {
		res.View[d.ID] = d
		if p, ok := previous[d.ID]; !ok || !d.SameAs(p) {
			changed = append(changed, d.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id := range previous {
		if _, ok := res.View[id]; !ok {
			res.Removed = append(res.Removed, id)
		}
	}
	sort.Strings(res.Removed)
	res.Unchanged = len(res.View) - len(changed)
	var errs []error
	for _, r := range c.readUsers(ctx, changed, false, nil) {
		switch {
		case r.err == nil:
			r.user.MethodsRegistered = nilIfEmpty(res.View[r.user.ID].MethodsRegistered)
			r.user.Registration = res.View[r.user.ID].Details()
			res.Changed = append(res.Changed, r.user)
		case errors.Is(r.err, model.ErrNotFound) && ctx.Err() == nil:
		default:
			errs = append(errs, r.err)
		}
	}
	return res, errors.Join(errs...)
}
