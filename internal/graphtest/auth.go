package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/credres/credres/pkg/graph/graphperm"
)

// AppToken returns an application access token whose roles claim holds
// roles, as Entra ID issues one to an app granted those application
// permissions: a JWT, unsigned (alg "none"), which the server reads but
// does not verify. Give it to WithToken and to the client.
func AppToken(roles ...string) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "none"})
	claims, _ := json.Marshal(map[string]any{
		"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/graphtest/",
		"idtyp": "app", "roles": append([]string{}, roles...),
	})
	return enc.EncodeToString(head) + "." + enc.EncodeToString(claims) + "."
}

// DeploymentToken is AppToken with the permissions a deployment holds
// (graphperm.Deployment): what a client presenting an opaque token, such
// as "test-token", is taken to have.
func DeploymentToken() string { return AppToken(graphperm.Deployment()...) }

// Without returns the deployment's permissions less the ones named: for a
// test that a missing grant fails the read that needs it.
func Without(names ...string) []string {
	var out []string
	for _, p := range graphperm.Deployment() {
		if !slices.Contains(names, p) {
			out = append(out, p)
		}
	}
	return out
}

// roles are the application permissions a request's token carries.
type roles map[string]bool

// rolesOf reads the roles claim of a bearer token. A token that is not a
// JWT stands for one with the deployment's permissions; a JWT without a
// roles claim (a delegated token) has none.
func rolesOf(bearer string) roles {
	names := graphperm.Deployment()
	if parts := strings.Split(bearer, "."); len(parts) == 3 {
		names = nil
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var c struct {
				Roles []string `json:"roles"`
			}
			if json.Unmarshal(b, &c) == nil {
				names = c.Roles
			}
		}
	}
	r := roles{}
	for _, n := range names {
		r[n] = true
	}
	return r
}

// any reports whether the token carries one of the permissions.
func (r roles) any(perms []string) bool {
	return slices.ContainsFunc(perms, func(p string) bool { return r[p] })
}

// The application permissions Microsoft's permission tables (Graph v1.0)
// accept for each read, least privileged first.
var (
	permUserRead     = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permMemberships  = append(slices.Clone(permUserRead), "GroupMember.Read.All", "Group.Read.All")
	permMethods      = []string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}
	permReportRow    = []string{"AuditLog.Read.All"}
	permReportList   = []string{"AuditLog.Read.All", "UserAuthenticationMethod.Read.All"}
	permSignIns      = []string{"AuditLog.Read.All"}
	permMethodPolicy = []string{"Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod", "Policy.Read.All"}
	permCAPolicy     = []string{"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"}
	permEligibility  = []string{"RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
		"RoleManagement.Read.All", "RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory"}
	permGroupMembers = []string{"GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.Read.All"}
	permMail         = []string{"Mail.Send"}
	permTeams        = []string{"TeamsActivity.Send"}
	// Without one of these, Graph lists directoryRole and device objects
	// with "limited information": @odata.type and id only.
	permRoleNames  = []string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"}
	permDeviceRead = []string{"Device.Read.All", "Device.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)

// required returns the permissions one of which a request needs, nil for a
// resource the server does not serve (its route answers).
func required(method string, segs []string) []string {
	switch {
	case len(segs) == 2 && segs[0] == "users" && method == http.MethodGet:
		return permUserRead
	case len(segs) >= 3 && segs[0] == "users":
		switch rest := strings.Join(segs[2:], "/"); rest {
		case "authentication/methods":
			return permMethods
		case "transitiveMemberOf":
			return permMemberships
		case "registeredDevices", "ownedDevices":
			return permUserRead
		case "sendMail":
			return permMail
		case "teamwork/sendActivityNotification":
			return permTeams
		}
	case len(segs) >= 3 && segs[0] == "groups" && segs[2] == "transitiveMembers":
		return permGroupMembers
	case len(segs) == 4 && segs[0] == "reports" && segs[2] == "userRegistrationDetails":
		return permReportRow
	case len(segs) == 3 && segs[0] == "reports" && segs[2] == "userRegistrationDetails":
		return permReportList
	}
	switch strings.Join(segs, "/") {
	case "auditLogs/signIns":
		return permSignIns
	case "policies/authenticationMethodsPolicy", "policies/authenticationStrengthPolicies":
		return permMethodPolicy
	case "identity/conditionalAccess/policies":
		return permCAPolicy
	case "roleManagement/directory/roleEligibilityScheduleInstances":
		return permEligibility
	}
	return nil
}

// denied is Graph's answer to a token without the permission a read needs.
func denied() response {
	return errorResponse(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}
