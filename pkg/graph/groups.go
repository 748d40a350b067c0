package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/credres/credres/pkg/model"
)

// GroupUsers returns the object ids of the users in a group, nested
// groups' users included: GET /groups/{id}/transitiveMembers/
// microsoft.graph.user, $select=id, every page followed, each page one
// request of the directory class (paced within its budget and retried as
// any read). The OData cast leaves out devices, service principals and the
// nested groups themselves. Application permission: GroupMember.Read.All.
// A group that does not exist is an error wrapping model.ErrNotFound.
func (c *Client) GroupUsers(ctx context.Context, groupID string) ([]string, error) {
	if groupID == "" {
		return nil, fmt.Errorf("graph: group members: %w: no group id", model.ErrInvalidInput)
	}
	next := c.cfg.BaseURL + "/groups/" + url.PathEscape(groupID) + "/transitiveMembers/microsoft.graph.user?$select=id&$top=999"
	var ids []string
	for page := 1; ; page++ {
		u, err := url.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("graph: group %s members: %w: %v", groupID, model.ErrInvalidInput, err)
		}
		body, err := c.getRaw(ctx, ClassDirectory, "read group members", u)
		if err != nil {
			return nil, fmt.Errorf("graph: group %s members: %w", groupID, err)
		}
		var env struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("graph: group %s members, page %d: %w: %v", groupID, page, model.ErrInvalidInput, err)
		}
		for _, m := range env.Value {
			if m.ID != "" {
				ids = append(ids, m.ID)
			}
		}
		if env.NextLink == "" {
			return ids, nil
		}
		if err := c.sameService(env.NextLink); err != nil {
			return nil, fmt.Errorf("graph: group %s members, page %d: %w", groupID, page, err)
		}
		next = env.NextLink
	}
}
