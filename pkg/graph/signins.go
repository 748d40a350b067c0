package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/credres/credres/pkg/model"
)

// pathSignIns is Graph's sign-in log (docs/USAGE.md). Version 1.0 lists
// interactive user sign-ins.
const pathSignIns = "/auditLogs/signIns"

// signInPageSize is the $top of each page: the most Graph returns.
const signInPageSize = 1000

// SignIns reads the sign-ins created at or after since (of the users
// given by object id, each with a query of its own, or of every user when
// none are), newest first, one page of up to 1 000 at a time, and hands each page's body (a Graph list,
// {"value":[…]}) to page before it reads the next, so that a month of a
// large tenant's sign-ins is never held at once. The sign-in log is metered
// with the identity and access reports (ClassAuthReports): each page is one
// request of that budget, shared with the registration report and methods
// reads. An error of page ends the read.
func (c *Client) SignIns(ctx context.Context, since time.Time, userIDs []string, page func(body []byte) error) error {
	filter := "createdDateTime ge " + since.UTC().Format(time.RFC3339)
	if len(userIDs) == 0 {
		return c.signIns(ctx, filter, page)
	}
	for _, id := range userIDs {
		if !isObjectID(id) {
			return fmt.Errorf("graph: read sign-ins: %w: %q is not an object id", model.ErrInvalidInput, id)
		}
		if err := c.signIns(ctx, "userId eq '"+id+"' and "+filter, page); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) signIns(ctx context.Context, filter string, page func(body []byte) error) error {
	q := url.Values{}
	q.Set("$filter", filter)
	q.Set("$top", fmt.Sprint(signInPageSize))
	next := c.cfg.BaseURL + pathSignIns + "?" + q.Encode()
	for n := 1; ; n++ {
		u, err := url.Parse(next)
		if err != nil {
			return fmt.Errorf("graph: read sign-ins: %w: %v", model.ErrInvalidInput, err)
		}
		body, err := c.getRaw(ctx, ClassAuthReports, "read sign-ins", u)
		if err != nil {
			return fmt.Errorf("graph: read sign-ins, page %d: %w", n, err)
		}
		var env struct {
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("graph: read sign-ins, page %d: %w: %v", n, model.ErrInvalidInput, err)
		}
		if err := page(body); err != nil {
			return err
		}
		if env.NextLink == "" {
			return nil
		}
		if err := c.sameService(env.NextLink); err != nil {
			return fmt.Errorf("graph: read sign-ins, page %d: %w", n, err)
		}
		next = env.NextLink
	}
}
