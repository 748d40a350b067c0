// Package graphperm names the Microsoft Graph application permissions a
// credres deployment holds. It is the one list the grant script
// (infra/grant-graph-permissions.sh), docs/GRAPH.md, docs/DEPLOY.md,
// credres doctor and the fake Graph's default token follow; a test checks
// the script and the documents against it.
package graphperm

// Permission is one Graph application permission and what credres reads
// or does with it.
type Permission struct {
	Name string
	Why  string
}

// Read are the permissions infra/grant-graph-permissions.sh grants, all
// read-only, each the least privileged one Microsoft's permission tables
// give an application for the reads named.
var Read = []Permission{
	{"UserAuthenticationMethod.Read.All", "each user's authentication methods"},
	{"AuditLog.Read.All", "the registration report: every user's row, and one user's row by id (the only permission for that read), and the sign-in log"},
	{"User.Read.All", "profiles (with authorizationInfo), transitive memberships, and the lists of registered and owned devices"},
	{"RoleManagement.Read.Directory", "directory role names in the memberships, and the roles a user is eligible for in Privileged Identity Management"},
	{"Device.Read.All", "the properties of those devices (operating system, trust type), which Graph leaves out without it"},
	{"Policy.Read.All", "the Conditional Access policies, the authentication methods policy and the authentication strengths"},
}

// Optional are granted apart from the script, only to a deployment whose
// policy needs them: GroupMember.Read.All when it lists emergency access
// groups (docs/DEPLOY.md, "Emergency access accounts").
var Optional = []Permission{
	{"GroupMember.Read.All", "the users of the emergency access groups (transitive members)"},
}

// Channels are granted apart from the script, only to a deployment that
// delivers through the channel: Mail.Send in Exchange Online, scoped to
// the sender mailbox, and TeamsActivity.Send for the Teams activity feed.
var Channels = []Permission{
	{"Mail.Send", "nudges by mail from the sender mailbox"},
	{"TeamsActivity.Send", "nudges in the Teams activity feed"},
}

// Names returns the permissions' names, in order.
func Names(ps []Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// Deployment returns the names of every permission of a deployment that
// uses every feature and channel: Read, Optional, then Channels.
func Deployment() []string {
	return append(append(Names(Read), Names(Optional)...), Names(Channels)...)
}
