package graphtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// registeredNames are the report's names for the method kinds.
var registeredNames = map[model.MethodKind]string{
	model.KindMobilePhone:          "mobilePhone",
	model.KindAlternateMobilePhone: "alternateMobilePhone",
	model.KindOfficePhone:          "officePhone",
	model.KindEmail:                "email",
	model.KindAuthenticator:        "microsoftAuthenticatorPush",
	model.KindSoftwareOath:         "softwareOneTimePasscode",
	model.KindHardwareOath:         "hardwareOneTimePasscode",
	model.KindFIDO2:                "fido2SecurityKey",
	model.KindPasskeyAuthenticator: "passKeyDeviceBoundAuthenticator",
	model.KindWindowsHello:         "windowsHelloForBusiness",
	model.KindPlatformCredential:   "macOsSecureEnclaveKey",
	model.KindTemporaryAccessPass:  "temporaryAccessPass",
}

// reportRow is a user's userRegistrationDetails row, in the v1.0 shape.
// methodsRegistered is the user's MethodsRegistered when set, else derived
// from the methods.
func (s *Server) reportRow(u *model.User, single bool) map[string]any {
	regs := u.MethodsRegistered
	if regs == nil {
		regs = []string{}
		seen := map[string]bool{}
		for _, m := range u.Methods {
			if n, ok := registeredNames[m.Kind]; ok && !seen[n] {
				seen[n] = true
				regs = append(regs, n)
			}
		}
	}
	mfa := false
	for _, r := range regs {
		if r != "email" && r != "temporaryAccessPass" {
			mfa = true
		}
	}
	row := map[string]any{
		"id": u.ID, "userPrincipalName": u.UserPrincipalName, "userDisplayName": u.DisplayName,
		"isAdmin": len(u.Roles) > 0, "isSsprRegistered": false, "isSsprEnabled": false, "isSsprCapable": false,
		"isMfaRegistered": mfa, "isMfaCapable": mfa, "isPasswordlessCapable": false,
		"lastUpdatedDateTime":                           s.updated[u.ID].UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"methodsRegistered":                             regs,
		"isSystemPreferredAuthenticationMethodEnabled":  true,
		"systemPreferredAuthenticationMethods":          []string{},
		"userPreferredMethodForSecondaryAuthentication": "none",
		"userType": "member",
	}
	if strings.EqualFold(u.UserType, "guest") {
		row["userType"] = "guest"
	}
	registrationFields(row, u.Registration)
	if single {
		row["@odata.context"] = s.URL() + "/$metadata#reports/authenticationMethods/userRegistrationDetails/$entity"
	}
	return row
}

// registrationFields writes the fields of the user's Registration that it
// knows over the row's defaults.
func registrationFields(row map[string]any, r *model.RegistrationDetails) {
	if r == nil {
		return
	}
	if r.IsSsprRegistered != nil {
		row["isSsprRegistered"] = *r.IsSsprRegistered
	}
	if r.UserPreferredMethodForSecondaryAuthentication != "" {
		row["userPreferredMethodForSecondaryAuthentication"] = r.UserPreferredMethodForSecondaryAuthentication
	}
	if r.SystemPreferredAuthenticationMethods != nil {
		row["systemPreferredAuthenticationMethods"] = r.SystemPreferredAuthenticationMethods
	}
	if r.IsSystemPreferredAuthenticationMethodEnabled != nil {
		row["isSystemPreferredAuthenticationMethodEnabled"] = *r.IsSystemPreferredAuthenticationMethodEnabled
	}
	if r.IsAdmin != nil {
		row["isAdmin"] = *r.IsAdmin
	}
}

// report serves a page of the registration report, or the rows matching
// $filter=userPrincipalName eq '…' (or id eq '…').
func (s *Server) report(query url.Values) response {
	if s.large != nil && query.Get("$filter") == "" {
		return s.largePage(query)
	}
	if f := query.Get("$filter"); f != "" {
		field, value, ok := parseEqFilter(f)
		if !ok {
			return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
		}
		rows := []any{}
		for i := range s.users {
			u := &s.users[i]
			if (field == "id" && strings.EqualFold(u.ID, value)) || (field == "userPrincipalName" && strings.EqualFold(u.UserPrincipalName, value)) {
				rows = append(rows, s.reportRow(u, false))
			}
		}
		b, _ := json.Marshal(map[string]any{"@odata.context": s.URL() + "/$metadata#reports/authenticationMethods/userRegistrationDetails", "value": rows})
		return jsonResponse(http.StatusOK, b)
	}
	from, to, next := s.page(len(s.users), s.reportPage, "/reports/authenticationMethods/userRegistrationDetails", query)
	rows := make([]any, 0, to-from)
	for i := from; i < to; i++ {
		rows = append(rows, s.reportRow(&s.users[i], false))
	}
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#reports/authenticationMethods/userRegistrationDetails", "value": rows}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}

// signInPage serves a page of the sign-in log: the records created at or
// after the time of $filter=createdDateTime ge <RFC 3339 time>, optionally
// preceded by "userId eq '<id>' and " (all without a filter), newest
// first, $top at a time (at most 1 000, the list page size without $top),
// with a nextLink that keeps the filter.
func (s *Server) signInPage(query url.Values) response {
	var since time.Time
	var user string
	if f := strings.TrimSpace(query.Get("$filter")); f != "" {
		if rest, ok := strings.CutPrefix(f, "userId eq '"); ok {
			id, tail, ok := strings.Cut(rest, "' and ")
			if !ok {
				return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
			}
			user, f = id, tail
		}
		field, value, ok := strings.Cut(f, " ge ")
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(value))
		if !ok || field != "createdDateTime" || err != nil {
			return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid filter clause.")
		}
		since = t
	}
	size := s.listPage
	if top := query.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > 1000 {
			return errorResponse(http.StatusBadRequest, "BadRequest", "Invalid $top.")
		}
		size = min(n, s.listPage)
	}
	var match []json.RawMessage
	for _, si := range s.signIns {
		if !si.at.Before(since) && (user == "" || strings.EqualFold(si.user, user)) {
			match = append(match, si.raw)
		}
	}
	from, _ := strconv.Atoi(query.Get("$skiptoken"))
	from = min(max(from, 0), len(match))
	to := min(from+size, len(match))
	var out bytes.Buffer
	out.WriteString(`{"@odata.context":"` + s.URL() + `/$metadata#auditLogs/signIns","value":[`)
	for i, r := range match[from:to] {
		if i > 0 {
			out.WriteByte(',')
		}
		out.Write(r)
	}
	out.WriteByte(']')
	if to < len(match) {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("$skiptoken", strconv.Itoa(to))
		next, _ := json.Marshal(s.URL() + "/auditLogs/signIns?" + q.Encode())
		out.WriteString(`,"@odata.nextLink":`)
		out.Write(next)
	}
	out.WriteByte('}')
	return jsonResponse(http.StatusOK, out.Bytes())
}

// parseEqFilter reads "field eq 'value'", where a doubled quote stands for
// one quote.
func parseEqFilter(f string) (field, value string, ok bool) {
	field, rest, ok := strings.Cut(strings.TrimSpace(f), " eq ")
	if !ok || (field != "userPrincipalName" && field != "id") {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' {
		return "", "", false
	}
	return field, strings.ReplaceAll(rest[1:len(rest)-1], "''", "'"), true
}
