package graphtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// request is one resource request, as the routes see it.
type request struct {
	method string
	path   string   // below the service root, escaped
	segs   []string // path segments, unescaped
	query  url.Values
	body   []byte
	roles  roles // the application permissions of the token
}

// segments splits a path into unescaped segments.
func segments(path string) []string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		if v, err := url.PathUnescape(seg); err == nil {
			segs[i] = v
		}
	}
	return segs
}

// permitted reports whether the token carries a permission the request
// needs, by Microsoft's permission tables.
func (q request) permitted() bool {
	need := required(q.method, q.segs)
	return need == nil || q.roles.any(need)
}

func (s *Server) routeLocked(q request) response {
	segs := q.segs
	switch {
	case len(segs) >= 2 && segs[0] == "users":
		return s.userRoute(q)
	case len(segs) >= 2 && segs[0] == "groups":
		return s.groupUsersLocked(q.method, segs, q.path, q.query)
	case q.method != http.MethodGet:
	case q.path == "/policies/authenticationMethodsPolicy":
		return s.policyLocked(s.policy.AuthMethodsPolicy != nil, s.policy.AuthMethodsPolicy, false)
	case q.path == "/policies/authenticationStrengthPolicies":
		return s.policyLocked(s.policy.StrengthPolicies != nil, s.policy.StrengthPolicies, true)
	case q.path == "/identity/conditionalAccess/policies":
		return s.policyLocked(s.policy.CAPolicies != nil, s.policy.CAPolicies, true)
	case q.path == "/auditLogs/signIns":
		return s.signInPage(q.query)
	case q.path == "/roleManagement/directory/roleEligibilityScheduleInstances":
		return s.eligibility(q)
	case len(segs) == 4 && segs[0] == "reports" && segs[1] == "authenticationMethods" && segs[2] == "userRegistrationDetails":
		u, ok := s.findLocked(segs[3])
		if !ok {
			return notFound(segs[3])
		}
		b, _ := json.Marshal(s.reportRow(u, true))
		return jsonResponse(http.StatusOK, b)
	case len(segs) == 3 && segs[0] == "reports" && segs[1] == "authenticationMethods" && segs[2] == "userRegistrationDetails":
		return s.report(q.query)
	}
	return errorResponse(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[len(segs)-1]+"'.")
}

// userRoute answers /users/{id | userPrincipalName}[/...].
func (s *Server) userRoute(q request) response {
	rest := strings.Join(q.segs[2:], "/")
	u, ok := s.findLocked(q.segs[1])
	if !ok && s.anyMailbox && q.method == http.MethodPost {
		u, ok = &model.User{ID: q.segs[1], UserPrincipalName: q.segs[1]}, true
	}
	if !ok {
		return notFound(q.segs[1])
	}
	if q.method == http.MethodPost {
		switch rest {
		case "sendMail":
			return s.sendMail(u, q.body)
		case "teamwork/sendActivityNotification":
			return s.sendActivity(u, q.body)
		}
	}
	if q.method == http.MethodGet {
		switch rest {
		case "":
			return s.profile(u, q.query)
		case "authentication/methods":
			return s.methods(u, q.path, q.query)
		case "transitiveMemberOf":
			return s.memberships(u, q.path, q.query, !q.roles.any(permRoleNames))
		case "registeredDevices", "ownedDevices":
			if s.refuseDevices || u.Devices == nil {
				// A user whose devices the directory does not know is
				// served as Graph serves an app it tells nothing about
				// devices, so that a live read gives the snapshot back.
				return denied()
			}
			return s.devices(u, rest == "ownedDevices", q)
		}
	}
	return errorResponse(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+q.segs[len(q.segs)-1]+"'.")
}

// SetTenantPolicy replaces the tenant's own policy the server answers
// with, as an administrator's change would.
func (s *Server) SetTenantPolicy(p model.TenantPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
}

// policyLocked answers a read of one part of the tenant's policy with the
// snapshot's JSON, verbatim (a list wrapped in "value"). A part the
// snapshot does not carry is answered 404, so that a client reads what the
// snapshot holds and no more; a real tenant always has all three.
func (s *Server) policyLocked(present bool, v any, list bool) response {
	if !present {
		return errorResponse(http.StatusNotFound, "Request_ResourceNotFound", "Resource not found.")
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Errorf("graphtest: encode the tenant's policy: %v", err)
		return errorResponse(http.StatusInternalServerError, "UnknownError", "")
	}
	if list {
		b = append(append([]byte(`{"value":`), b...), '}')
	}
	return jsonResponse(http.StatusOK, b)
}

func (s *Server) profile(u *model.User, query url.Values) response {
	all := map[string]any{
		"id":                    u.ID,
		"userPrincipalName":     u.UserPrincipalName,
		"displayName":           nullIfEmpty(u.DisplayName),
		"mail":                  nullIfEmpty(u.Mail),
		"preferredLanguage":     nullIfEmpty(u.PreferredLanguage),
		"onPremisesSyncEnabled": nil,
		"accountEnabled":        true,
		"userType":              "Member",
		"givenName":             nil,
		"jobTitle":              nil,
	}
	if u.OnPremisesSyncEnabled {
		all["onPremisesSyncEnabled"] = true
	}
	if u.AccountEnabled != nil {
		all["accountEnabled"] = *u.AccountEnabled
	}
	if u.UserType != "" {
		all["userType"] = u.UserType
	}
	// authorizationInfo is returned only on $select.
	ids := []string{}
	if u.AuthorizationInfo != nil {
		ids = append(ids, u.AuthorizationInfo.CertificateUserIDs...)
	}
	selectOnly := map[string]any{"authorizationInfo": map[string]any{"certificateUserIds": ids}}
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#users/$entity"}
	if sel := query.Get("$select"); sel != "" {
		out["@odata.context"] = s.URL() + "/$metadata#users(" + sel + ")/$entity"
		out["id"] = u.ID
		for _, f := range strings.Split(sel, ",") {
			f = strings.TrimSpace(f)
			if v, ok := all[f]; ok {
				out[f] = v
			} else if v, ok := selectOnly[f]; ok {
				out[f] = v
			}
		}
	} else {
		for k, v := range all {
			out[k] = v
		}
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// page cuts a list by $skiptoken and returns the nextLink of what remains,
// which keeps the request's other query options ($filter, $expand).
func (s *Server) page(n int, size int, path string, query url.Values) (from, to int, next string) {
	from, _ = strconv.Atoi(query.Get("$skiptoken"))
	from = min(max(from, 0), n)
	to = n
	if size > 0 && from+size < n {
		to = from + size
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("$skiptoken", strconv.Itoa(to))
		next = s.URL() + path + "?" + strings.ReplaceAll(q.Encode(), "%24", "$")
	}
	return from, to, next
}

// methods serves /authentication/methods: every method is written exactly
// as its Method.Raw (Graph's own object), unchanged.
func (s *Server) methods(u *model.User, path string, query url.Values) response {
	from, to, next := s.page(len(u.Methods), s.listPage, path, query)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"@odata.context":%q,`, s.URL()+"/$metadata#users('"+u.ID+"')/authentication/methods")
	if next != "" {
		nl, _ := json.Marshal(next)
		fmt.Fprintf(&b, `"@odata.nextLink":%s,`, nl)
	}
	b.WriteString(`"value":[`)
	for i, m := range u.Methods[from:to] {
		if i > 0 {
			b.WriteByte(',')
		}
		raw := []byte(m.Raw)
		if len(raw) == 0 {
			raw, _ = json.Marshal(m)
		}
		b.Write(raw)
	}
	b.WriteString(`]}`)
	return jsonResponse(http.StatusOK, b.Bytes())
}

// builtinRoles are template ids of built-in roles, the same in every tenant.
var builtinRoles = map[string]string{
	"global administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"privileged role administrator":           "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"privileged authentication administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"security administrator":                  "194ae4cb-b126-40b2-bd5b-6091b380977d",
	"authentication administrator":            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	"conditional access administrator":        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"user administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
	"helpdesk administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"exchange administrator":                  "29232cdf-9323-42fd-ade2-1d097af3e4de",
}

// fakeID derives a stable GUID-shaped id from a name.
func fakeID(kind, name string) string {
	h := sha1.Sum([]byte(kind + "/" + name))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// memberships serves /transitiveMemberOf: the user's roles as activated
// directoryRole objects and their groups, in Graph's directoryObject shape.
func (s *Server) memberships(u *model.User, path string, query url.Values, limited bool) response {
	var objs []any
	for _, r := range u.Roles {
		tmpl, ok := builtinRoles[strings.ToLower(r)]
		if !ok {
			tmpl = fakeID("roleTemplate", r)
		}
		o := map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": fakeID("role", r),
			"deletedDateTime": nil, "description": nil, "displayName": r, "roleTemplateId": tmpl}
		if limited || s.limitedRoles {
			o = map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": fakeID("role", r),
				"deletedDateTime": nil, "description": nil, "displayName": nil, "roleTemplateId": nil}
		}
		objs = append(objs, o)
	}
	for _, g := range u.Groups {
		objs = append(objs, map[string]any{"@odata.type": "#microsoft.graph.group", "id": g,
			"deletedDateTime": nil, "displayName": "Group " + g[:min(8, len(g))], "securityEnabled": true, "mailEnabled": false, "groupTypes": []string{}})
	}
	from, to, next := s.page(len(objs), s.listPage, path, query)
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#directoryObjects", "value": append([]any{}, objs[from:to]...)}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}
