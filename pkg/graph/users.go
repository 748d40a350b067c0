package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

// UserError is the failure to read one user; Users and Directory join one
// per user that failed. errors.Is(err, model.ErrNotFound) holds for a user
// Graph does not know.
type UserError struct {
	ID  string
	Err error
}

// Error names the user as asked for (object id or principal name) and the
// cause.
func (e *UserError) Error() string { return fmt.Sprintf("graph: read user %s: %v", e.ID, e.Err) }

// Unwrap returns the cause.
func (e *UserError) Unwrap() error { return e.Err }

// User reads one user by object id or user principal name: profile,
// authentication methods, directory roles and groups (transitively), and
// unless SkipRegistrationDetails, the registration-report row. The reads go
// out as one $batch request, shared with concurrent reads.
func (c *Client) User(ctx context.Context, idOrUPN string) (model.User, error) {
	res := c.readUsers(ctx, []string{idOrUPN}, !c.cfg.SkipRegistrationDetails, nil)
	return res[0].user, res[0].err
}

// Users reads several users, batched 20 requests to a $batch and coalesced
// with concurrent reads of the same users. Users come back in the order of
// ids, each once; those that could not be read are left out and their
// failures joined, one *UserError each, in the error.
func (c *Client) Users(ctx context.Context, ids []string) ([]model.User, error) {
	res := c.readUsers(ctx, ids, !c.cfg.SkipRegistrationDetails, nil)
	out := make([]model.User, 0, len(res))
	var errs []error
	for _, r := range res {
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		out = append(out, r.user)
	}
	return out, errors.Join(errs...)
}

// result is one user read, or its failure as a *UserError.
type result struct {
	user model.User
	err  error
}

// readUsers queues every user at once, so that they share batches, then
// waits for each in order, reporting progress. Duplicate ids are read once.
func (c *Client) readUsers(ctx context.Context, ids []string, reg bool, progress func(done, total int)) []result {
	return c.readUsersWith(ctx, ids, func(string) bool { return reg }, progress)
}

// readUsersWith is readUsers with the registration row read for the users
// for whom reg is true.
func (c *Client) readUsersWith(ctx context.Context, ids []string, reg func(id string) bool, progress func(done, total int)) []result {
	type want struct {
		id string
		cl *call
	}
	var wants []want
	seen := map[string]bool{}
	for _, id := range ids {
		k := userKey(id)
		if seen[k] {
			continue
		}
		seen[k] = true
		if k == "" {
			wants = append(wants, want{id: id})
			continue
		}
		wants = append(wants, want{id: id, cl: c.enqueue(ctx, id, reg(id))})
	}
	out := make([]result, len(wants))
	for i, w := range wants {
		if w.cl == nil {
			out[i].err = &UserError{ID: w.id, Err: fmt.Errorf("%w: empty user id", model.ErrInvalidInput)}
			continue
		}
		select {
		case <-w.cl.done:
		case <-ctx.Done():
			for _, rest := range wants[i:] {
				if rest.cl != nil {
					c.leave(rest.cl, ctx.Err())
				}
			}
			for j := i; j < len(wants); j++ {
				out[j].err = &UserError{ID: wants[j].id, Err: ctx.Err()}
			}
			return out
		}
		if w.cl.err != nil {
			out[i].err = &UserError{ID: w.id, Err: w.cl.err}
		} else {
			out[i].user = cloneUser(w.cl.user)
		}
		if progress != nil {
			progress(i+1, len(wants))
		}
	}
	return out
}

// cloneUser copies the slices of a user shared by several callers.
func cloneUser(u model.User) model.User {
	u.Roles = slices.Clone(u.Roles)
	u.EligibleRoles = slices.Clone(u.EligibleRoles)
	u.Groups = slices.Clone(u.Groups)
	u.Methods = slices.Clone(u.Methods)
	u.MethodsRegistered = slices.Clone(u.MethodsRegistered)
	if u.AccountEnabled != nil {
		v := *u.AccountEnabled
		u.AccountEnabled = &v
	}
	if u.AuthorizationInfo != nil {
		u.AuthorizationInfo = &model.AuthorizationInfo{CertificateUserIDs: slices.Clone(u.AuthorizationInfo.CertificateUserIDs)}
	}
	if u.Devices != nil {
		u.Devices = slices.Clone(u.Devices)
	}
	if u.Registration != nil {
		r := *u.Registration
		r.SystemPreferredAuthenticationMethods = slices.Clone(r.SystemPreferredAuthenticationMethods)
		u.Registration = &r
	}
	return u
}

// profile is the part of a user the profile read gives.
type profile struct{ u models.Userable }

func (p profile) fill(u *model.User) {
	u.ID = deref(p.u.GetId())
	u.UserPrincipalName = deref(p.u.GetUserPrincipalName())
	u.DisplayName = deref(p.u.GetDisplayName())
	u.Mail = deref(p.u.GetMail())
	u.PreferredLanguage = deref(p.u.GetPreferredLanguage())
	// Graph gives null for users never synchronised from on-premises.
	u.OnPremisesSyncEnabled = deref(p.u.GetOnPremisesSyncEnabled())
	if v := p.u.GetAccountEnabled(); v != nil {
		b := *v
		u.AccountEnabled = &b
	}
	u.UserType = deref(p.u.GetUserType())
	if ai := p.u.GetAuthorizationInfo(); ai != nil && len(ai.GetCertificateUserIds()) > 0 {
		u.AuthorizationInfo = &model.AuthorizationInfo{CertificateUserIDs: slices.Clone(ai.GetCertificateUserIds())}
	}
}

func parseProfile(body []byte) (profile, error) {
	n, err := jsonser.NewJsonParseNode(body)
	if err != nil {
		return profile{}, fmt.Errorf("decode user: %w: %v", model.ErrInvalidInput, err)
	}
	v, err := n.GetObjectValue(models.CreateUserFromDiscriminatorValue)
	if err != nil {
		return profile{}, fmt.Errorf("decode user: %w: %v", model.ErrInvalidInput, err)
	}
	u, ok := v.(models.Userable)
	if !ok || u.GetId() == nil {
		return profile{}, fmt.Errorf("decode user: %w: no user object with an id", model.ErrInvalidInput)
	}
	return profile{u: u}, nil
}

// parseMethods decodes a page of /authentication/methods with the snapshot
// format's own decoder, from the bytes Graph sent, so that a live read and
// an exported snapshot hold identical methods.
func parseMethods(body []byte) ([]model.Method, string, error) {
	var page struct {
		Next string `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("decode methods: %w: %v", model.ErrInvalidInput, err)
	}
	ms, err := graphjson.DecodeMethodList(body, "")
	if err != nil {
		return nil, "", err
	}
	return ms, page.Next, nil
}

// parseMemberships decodes a page of /transitiveMemberOf: directory roles
// by display name (the snapshot format's spelling; the built-in template id
// when Graph gives no name) and group object ids. Administrative units are
// not tiers and are skipped.
func parseMemberships(body []byte) (roles, groups []string, next string, err error) {
	n, err := jsonser.NewJsonParseNode(body)
	if err != nil {
		return nil, nil, "", fmt.Errorf("decode memberships: %w: %v", model.ErrInvalidInput, err)
	}
	v, err := n.GetObjectValue(models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
	if err != nil {
		return nil, nil, "", fmt.Errorf("decode memberships: %w: %v", model.ErrInvalidInput, err)
	}
	page, ok := v.(models.DirectoryObjectCollectionResponseable)
	if !ok {
		return nil, nil, "", fmt.Errorf("decode memberships: %w: not a collection", model.ErrInvalidInput)
	}
	for _, o := range page.GetValue() {
		// Dispatch on the concrete type, as the SDK's interfaces overlap.
		switch m := o.(type) {
		case *models.DirectoryRole:
			name := deref(m.GetDisplayName())
			if name == "" {
				name = deref(m.GetRoleTemplateId())
			}
			if name == "" {
				// Graph returns only id and type for objects the app may
				// not read: tiers would silently miss the role.
				return nil, nil, "", fmt.Errorf("decode memberships: directory role %s came without displayName or roleTemplateId: grant the app RoleManagement.Read.Directory", deref(m.GetId()))
			}
			roles = append(roles, name)
		case *models.Group:
			if id := deref(m.GetId()); id != "" {
				groups = append(groups, id)
			}
		}
	}
	return roles, groups, deref(page.GetOdataNextLink()), nil
}
