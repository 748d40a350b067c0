package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/credres/credres/pkg/model"
)

// eligibleRequest builds the read of the roles the user is eligible for in
// Privileged Identity Management: the instances of their role eligibility
// schedules, each with its role definition, or the page next names.
func (c *Client) eligibleRequest(userID, next string) (*abs.RequestInformation, error) {
	raw := next
	if raw == "" {
		q := "%24filter=" + url.PathEscape("principalId eq '"+strings.ReplaceAll(userID, "'", "''")+"'") + "&%24expand=roleDefinition"
		raw = c.cfg.BaseURL + "/roleManagement/directory/roleEligibilityScheduleInstances?" + q
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: eligible roles URL: %v", model.ErrInvalidInput, err)
	}
	ri := abs.NewRequestInformation()
	ri.Method = abs.GET
	ri.SetUri(*u)
	ri.Headers.TryAdd("Accept", "application/json")
	return ri, nil
}

// parseEligible decodes a page of roleEligibilityScheduleInstances with
// $expand=roleDefinition: the roles by display name (the snapshot format's
// spelling, as for active roles), the template id when Graph gives no
// name. An instance without its role definition fails the read, as a tier
// would otherwise miss the role silently.
func parseEligible(body []byte) (roles []string, next string, err error) {
	var page struct {
		Next  string `json:"@odata.nextLink"`
		Value []struct {
			ID               string `json:"id"`
			RoleDefinitionID string `json:"roleDefinitionId"`
			RoleDefinition   *struct {
				DisplayName string `json:"displayName"`
				TemplateID  string `json:"templateId"`
			} `json:"roleDefinition"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("decode eligible roles: %w: %v", model.ErrInvalidInput, err)
	}
	for _, in := range page.Value {
		name := ""
		if d := in.RoleDefinition; d != nil {
			name = d.DisplayName
			if name == "" {
				name = d.TemplateID
			}
		}
		if name == "" {
			return nil, "", fmt.Errorf("decode eligible roles: %w: eligibility %s (role %s) came without its role definition", model.ErrInvalidInput, in.ID, in.RoleDefinitionID)
		}
		roles = append(roles, name)
	}
	return roles, page.Next, nil
}

// eligibleItemRequest is the eligible-roles request of an item: the user's
// object id is the call's, or the profile's when the user was asked for by
// principal name.
func (c *Client) eligibleItemRequest(_ context.Context, it *item) (*abs.RequestInformation, error) {
	id := it.call.id
	if !isObjectID(id) {
		id = it.call.user.ID
	}
	return c.eligibleRequest(id, it.next)
}
