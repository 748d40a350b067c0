package graphtest

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// devices serves /registeredDevices (owned false) or /ownedDevices: the
// user's devices listed by that relation, as microsoft.graph.device
// directory objects, paged (a user whose Devices is nil, unknown, is
// refused them: see userRoute). A device marked neither registered nor owned
// counts as registered. Without a permission to read devices, Graph lists
// them with limited information: @odata.type and id, the rest null.
func (s *Server) devices(u *model.User, owned bool, q request) response {
	limited := !q.roles.any(permDeviceRead)
	objs := []any{}
	for _, d := range u.Devices {
		if (owned && d.Owned) || (!owned && (d.Registered || !d.Owned)) {
			objs = append(objs, deviceObject(d, limited))
		}
	}
	from, to, next := s.page(len(objs), s.listPage, q.path, q.query)
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#directoryObjects", "value": objs[from:to]}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}

// deviceObject is a device in Graph's v1.0 shape.
func deviceObject(d model.Device, limited bool) map[string]any {
	o := map[string]any{
		"@odata.type": "#microsoft.graph.device", "id": d.ID, "deletedDateTime": nil,
		"accountEnabled": true, "deviceId": fakeID("deviceId", d.ID), "displayName": nullIfEmpty(d.DisplayName),
		"operatingSystem": nullIfEmpty(d.OperatingSystem), "operatingSystemVersion": nullIfEmpty(d.OperatingSystemVersion),
		"trustType": nullIfEmpty(d.TrustType), "isCompliant": nil, "isManaged": nil,
		"approximateLastSignInDateTime": nil, "registrationDateTime": nil,
	}
	if limited {
		for k := range o {
			if k != "@odata.type" && k != "id" {
				o[k] = nil
			}
		}
	}
	return o
}

// eligibility serves /roleManagement/directory/roleEligibilityScheduleInstances:
// every user's EligibleRoles as tenant-wide eligibilities of the built-in
// (or a made-up custom) role, or those of $filter=principalId eq '{id}';
// with $expand=roleDefinition each carries its role definition. Paged.
func (s *Server) eligibility(q request) response {
	principal := ""
	if f := q.query.Get("$filter"); f != "" {
		rest, ok := strings.CutPrefix(strings.TrimSpace(f), "principalId eq '")
		if !ok || !strings.HasSuffix(rest, "'") {
			return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
		}
		principal = strings.TrimSuffix(rest, "'")
	}
	expand := q.query.Get("$expand")
	if expand != "" && expand != "roleDefinition" {
		return errorResponse(http.StatusBadRequest, "BadRequest", "Could not find a property named '"+expand+"'.")
	}
	users := make([]*model.User, 0, len(s.users))
	if principal != "" {
		if u, ok := s.findLocked(principal); ok && strings.EqualFold(u.ID, principal) {
			users = append(users, u)
		}
	} else {
		for i := range s.users {
			users = append(users, &s.users[i])
		}
	}
	objs := []any{}
	for _, u := range users {
		for _, r := range u.EligibleRoles {
			objs = append(objs, eligibilityObject(u.ID, r, expand != ""))
		}
	}
	from, to, next := s.page(len(objs), s.listPage, q.path, q.query)
	ctx := s.URL() + "/$metadata#roleManagement/directory/roleEligibilityScheduleInstances"
	if expand != "" {
		ctx += "(roleDefinition())"
	}
	out := map[string]any{"@odata.context": ctx, "value": objs[from:to]}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}

// eligibilityObject is a unifiedRoleEligibilityScheduleInstance in Graph's
// v1.0 shape.
func eligibilityObject(principal, role string, expand bool) map[string]any {
	tmpl, builtin := builtinRoles[strings.ToLower(role)]
	if !builtin {
		tmpl = fakeID("roleTemplate", role)
	}
	o := map[string]any{
		"id": fakeID("eligibility", principal+"/"+role), "principalId": principal, "roleDefinitionId": tmpl,
		"directoryScopeId": "/", "appScopeId": nil, "startDateTime": "2026-01-05T09:00:00Z", "endDateTime": nil,
		"memberType": "Direct", "roleEligibilityScheduleId": fakeID("eligibilitySchedule", principal+"/"+role),
	}
	if expand {
		o["roleDefinition"] = map[string]any{
			"id": tmpl, "templateId": tmpl, "displayName": role, "description": nil, "isBuiltIn": builtin,
			"isEnabled": true, "resourceScopes": []string{"/"}, "version": nil, "rolePermissions": []any{},
		}
	}
	return o
}
