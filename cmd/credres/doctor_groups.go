package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/wiring"
)

// groupMemberFix is the fix for a refused group read: the permission is
// optional, so the grant script leaves it out.
const groupMemberFix = "add the application permission GroupMember.Read.All to the app registration and grant admin consent " +
	"(API permissions → Add a permission → Microsoft Graph → Application permissions; docs/DEPLOY.md, Emergency access accounts)"

// graphGroups checks the optional GroupMember.Read.All as the sweep needs
// it: when the policy (CREDRES_POLICY, else the built-in default) names
// emergency access groups, it reads the first page of each group's users,
// the read the sweep makes to find the emergency access set.
func (d *doctor) graphGroups(ctx context.Context, g graphReader) {
	const name = "graph GroupMember.Read.All"
	groups, why, err := emergencyGroups(d.getenv(wiring.EnvPolicy))
	if err != nil {
		d.fail(name, err, "correct the policy (PolicyYaml; docs/POLICY.md)")
		return
	}
	if len(groups) == 0 {
		d.skip(name, "%s: the sweep reads no group, so the permission is not needed", why)
		return
	}
	for _, id := range groups {
		var page struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		err := g.get(ctx, "/groups/"+url.PathEscape(id)+"/transitiveMembers/microsoft.graph.user?$top=1&$select=id", &page)
		var se *graphStatusError
		switch {
		case err == nil:
			continue
		case errors.As(err, &se) && se.status == http.StatusForbidden:
			d.fail(name, fmt.Errorf("GroupMember.Read.All is not granted: the emergency access groups cannot be read, so the sweep never judges their set: %w", err), groupMemberFix)
		case errors.As(err, &se) && se.status == http.StatusNotFound:
			d.fail(name, fmt.Errorf("emergency access group %s: group not found: %w", id, err),
				"list existing groups by their Object ID (Entra admin center → Groups → All groups) in the policy's emergencyAccessGroups")
		default:
			d.fail(name, fmt.Errorf("emergency access group %s: %w", id, err), groupMemberFix)
		}
		return
	}
	d.ok(name, "read the users of the policy's emergency access groups (%d checked)", len(groups))
}

// emergencyGroups returns the groups the sweep reads for the emergency
// access set (pkg/pipeline, EmergencyAccess): the policy's
// emergencyAccessGroups and its emergency access tier's match groups, each
// once; when there are none, why. An empty policy is the built-in default.
func emergencyGroups(policy string) (groups []string, why string, err error) {
	p := rules.DefaultPolicy()
	if strings.TrimSpace(policy) != "" {
		if p, err = rules.ParsePolicy([]byte(policy)); err != nil {
			return nil, "", fmt.Errorf("%s: %w", wiring.EnvPolicy, err)
		}
	}
	if p.EmergencyAccessTier() == nil {
		return nil, "the policy has no emergency access tier", nil
	}
	groups = p.EmergencyAccessGroupIDs()
	if len(groups) == 0 {
		return nil, "the policy names no emergency access group", nil
	}
	return groups, "", nil
}
