package graph

import (
	"context"
	"fmt"
	"slices"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// ReadUsers reads users for the evaluate stage: results[i] answers ids[i],
// a user or the failure to read them (wrapping model.ErrNotFound for a user
// deleted since the event). ids are matched as asked, not by the id Graph
// returns, so an object id in another case or a user principal name gets its
// user too.
func (c *Client) ReadUsers(ctx context.Context, ids []string) []model.UserResult {
	return c.ReadUsersKnown(ctx, ids, nil)
}

// ReadUsersKnown reads users as ReadUsers does, but the users in registered
// (by id as asked) are read without their registration-report row, which
// costs a unit of the reports budget: they get the registered method kinds
// given instead, unless a concurrent read of the same user read the row.
func (c *Client) ReadUsersKnown(ctx context.Context, ids []string, registered map[string][]string) []model.UserResult {
	reg := func(id string) bool {
		_, known := registered[id]
		return !known && !c.cfg.SkipRegistrationDetails
	}
	res := c.readUsersWith(ctx, ids, reg, nil)
	// readUsers answers each user once, in the order first asked, ids that
	// differ only in case or spacing being the same user.
	byKey := make(map[string]result, len(res))
	for _, id := range ids {
		k := userKey(id)
		if _, ok := byKey[k]; !ok && len(byKey) < len(res) {
			byKey[k] = res[len(byKey)]
		}
	}
	out := make([]model.UserResult, len(ids))
	for i, id := range ids {
		r, ok := byKey[userKey(id)]
		switch {
		case !ok:
			out[i].Err = fmt.Errorf("graph: read user %s: no result", id)
		case r.err != nil:
			out[i].Err = r.err
		default:
			out[i].User = cloneUser(r.user)
			if kinds, known := registered[id]; known && out[i].User.MethodsRegistered == nil {
				out[i].User.MethodsRegistered = nilIfEmpty(slices.Clone(kinds))
			}
		}
	}
	return out
}

// Registrations walks the registration report for the sweep stage.
func (c *Client) Registrations(ctx context.Context, fn func(model.Registration) error) error {
	return c.RegistrationDetails(ctx, func(d RegistrationDetail) error {
		return fn(model.Registration{UserID: d.ID, MethodsRegistered: d.MethodsRegistered, LastUpdated: d.LastUpdated})
	})
}

// RegistrationPage reads one page of the registration report for a
// resumable sweep: the first when link is empty, otherwise the page at link,
// an @odata.nextLink the report gave (kept between invocations), which must
// point at this client's service. It returns the rows and the next page's
// link ("" after the last page). Each page is one request of the reports
// budget.
func (c *Client) RegistrationPage(ctx context.Context, link string) ([]model.Registration, string, error) {
	if link != "" {
		if err := c.sameService(link); err != nil {
			return nil, "", fmt.Errorf("graph: list registration details: %w", err)
		}
	}
	resp, err := c.registrationPage(ctx, link)
	if err != nil {
		return nil, "", fmt.Errorf("graph: list registration details: %w", err)
	}
	if resp == nil {
		return nil, "", nil
	}
	rows := make([]model.Registration, 0, len(resp.GetValue()))
	for _, row := range resp.GetValue() {
		if row == nil {
			continue
		}
		d := detailFrom(row)
		rows = append(rows, model.Registration{UserID: d.ID, MethodsRegistered: d.MethodsRegistered, LastUpdated: d.LastUpdated})
	}
	return rows, deref(resp.GetOdataNextLink()), nil
}

// registrationPage reads the report's first page (next empty) or the page
// at next.
func (c *Client) registrationPage(ctx context.Context, next string) (models.UserRegistrationDetailsCollectionResponseable, error) {
	b := c.reports.AuthenticationMethods().UserRegistrationDetails()
	var resp models.UserRegistrationDetailsCollectionResponseable
	err := c.do(ctx, ClassAuthReports, "list registration details", true, func(ctx context.Context) error {
		var err error
		if next == "" {
			resp, err = b.Get(ctx, nil)
		} else {
			resp, err = b.WithUrl(next).Get(ctx, nil)
		}
		return err
	})
	return resp, err
}

var (
	_ pipeline.UserReader              = (*Client)(nil)
	_ pipeline.RegistrationReader      = (*Client)(nil)
	_ pipeline.RegistrationPager       = (*Client)(nil)
	_ pipeline.KnownRegistrationReader = (*Client)(nil)
)
