package entralog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

// obj is a JSON object under construction; tests build records from the
// documented shapes and change one thing at a time.
type obj = map[string]any

const (
	tenant    = "7c1f5a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
	userID    = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01"
	userUPN   = "adele.vance@contoso.example"
	adminID   = "9d3e2c1b-0a4f-4b5e-8c7d-6e5f4a3b2c10"
	adminUPN  = "it.admin@contoso.example"
	auditTime = "2025-03-04T09:12:31.4728361+00:00"
)

// authRecord is a Graph directoryAudit of the Authentication Methods service,
// self-service by the test user.
func authRecord(activity, reason string) obj {
	return obj{
		"id":                  "Authentication Methods_5f0c2d1e-aaaa-4bbb-8ccc-000000000001_QX1A2_1",
		"category":            "UserManagement",
		"correlationId":       "5f0c2d1e-aaaa-4bbb-8ccc-000000000001",
		"result":              "success",
		"resultReason":        reason,
		"activityDisplayName": activity,
		"activityDateTime":    auditTime,
		"loggedByService":     "Authentication Methods",
		"operationType":       "Add",
		"initiatedBy":         obj{"app": nil, "user": obj{"id": userID, "userPrincipalName": userUPN, "ipAddress": "203.0.113.9"}},
		"targetResources":     []any{userTarget()},
		"additionalDetails":   []any{},
	}
}

func userTarget(mods ...any) obj {
	return obj{"id": userID, "displayName": nil, "type": "User", "userPrincipalName": userUPN, "modifiedProperties": append([]any{}, mods...)}
}

// updateUser is a Core Directory "Update user" record changing the given
// modified properties.
func updateUser(mods ...any) obj {
	r := authRecord("Update user", "")
	r["id"] = "Directory_5f0c2d1e-aaaa-4bbb-8ccc-000000000002_M1N6X_2"
	r["loggedByService"] = "Core Directory"
	r["operationType"] = "Update"
	r["targetResources"] = []any{userTarget(mods...)}
	return r
}

func prop(name string, oldValue, newValue any) obj {
	return obj{"displayName": name, "oldValue": oldValue, "newValue": newValue}
}

// enc double-encodes a value the way Entra writes modifiedProperties.
func enc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sam(pairs ...any) string {
	var entries []obj
	for i := 0; i+1 < len(pairs); i += 2 {
		entries = append(entries, obj{"MethodType": pairs[i], "Default": pairs[i+1]})
	}
	return enc(entries)
}

// envelope wraps properties in an Event Hubs diagnostic record.
func envelope(props obj) obj {
	return obj{
		"time":             props["activityDateTime"],
		"resourceId":       "/tenants/" + tenant + "/providers/Microsoft.aadiam",
		"operationName":    props["activityDisplayName"],
		"operationVersion": "1.0",
		"category":         "AuditLogs",
		"tenantId":         tenant,
		"resultSignature":  "None",
		"durationMs":       0,
		"callerIpAddress":  "203.0.113.9",
		"correlationId":    props["correlationId"],
		"identity":         "Adele Vance",
		"Level":            4,
		"properties":       props,
	}
}

func body(records ...any) obj { return obj{"records": append([]any{}, records...)} }

// with returns a copy of o with key set (or deleted when v is deleteKey).
func with(o obj, kv ...any) obj {
	c := maps.Clone(o)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == deleteKey {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

type deleteMarker struct{}

var deleteKey = deleteMarker{}

func js(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return enc(v)
}

// summary renders a batch compactly: one line per event, skip count and
// error, then the record count.
func summary(b entralog.AuditBatch, err error) []string {
	var out []string
	for _, ev := range b.Events {
		var ch []string
		for _, c := range ev.Changes {
			ch = append(ch, string(c.Op)+":"+c.Method)
		}
		out = append(out, fmt.Sprintf("event user=%s tenant=%s self=%t result=%s changes=%s",
			ev.UserID, ev.TenantID, ev.SelfService, ev.Result, strings.Join(ch, ",")))
	}
	for _, k := range slices.Sorted(maps.Keys(b.Skipped)) {
		out = append(out, fmt.Sprintf("skip %s=%d", k, b.Skipped[k]))
	}
	for _, e := range splitErrors(err) {
		out = append(out, "error "+e.Error())
	}
	return append(out, fmt.Sprintf("records=%d", b.Records))
}

func TestParseAuditQuirks(t *testing.T) {
	t.Parallel()
	registered := authRecord("User registered security info", "User registered Fido2 Authentication Method")
	selfEvent := "event user=" + userID + " tenant= self=true result=success changes="
	ehEvent := "event user=" + userID + " tenant=" + tenant + " self=true result=success changes="
	fido := "registered:Fido2 Authentication Method"

	tests := []struct {
		name string
		in   any // a string is used as is, anything else is marshalled
		want []string
	}{
		// Envelope and document shapes.
		{"graph-object-without-envelope-has-no-tenant", registered,
			[]string{selfEvent + fido, "records=1"}},
		{"event-hubs-body-takes-tenant-from-envelope", body(envelope(registered)),
			[]string{ehEvent + fido, "records=1"}},
		{"single-diagnostic-record-without-records-wrapper", envelope(registered),
			[]string{ehEvent + fido, "records=1"}},
		{"graph-list-with-next-link", obj{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits", "@odata.nextLink": "https://graph.microsoft.com/v1.0/auditLogs/directoryAudits?$skiptoken=x", "value": []any{registered}},
			[]string{selfEvent + fido, "records=1"}},
		{"bare-array-of-records", []any{registered, envelope(registered)},
			[]string{selfEvent + fido, ehEvent + fido, "records=2"}},
		{"json-lines-of-mixed-shapes", js(registered) + "\n" + js(body(envelope(registered))) + "\n",
			[]string{selfEvent + fido, ehEvent + fido, "records=2"}},
		{"empty-records-list-is-not-an-error", body(),
			[]string{"records=0"}},
		{"empty-input-is-an-error", "",
			[]string{"error invalid input: no JSON document", "records=0"}},
		{"whitespace-only-input-is-an-error", " \n\t",
			[]string{"error invalid input: no JSON document", "records=0"}},
		{"records-not-an-array-is-a-document-error", obj{"records": obj{}},
			[]string{`error document 0: invalid input: "records" is an object, not an array`, "records=0"}},
		{"syntax-error-keeps-earlier-documents", `{"activityDisplayName":"Add member to group"}` + "\n" + `{"records": [1,}`,
			[]string{"skip irrelevant-activity=1", "error document 1: invalid input: invalid character '}' looking for beginning of value at byte 62", "records=1"}},

		// Field quirks.
		{"level-int-and-level-string-both-accepted",
			body(envelope(registered), with(envelope(registered), "Level", deleteKey, "level", "Informational")),
			[]string{ehEvent + fido, ehEvent + fido, "records=2"}},
		{"duration-ms-as-string-is-ignored", body(with(envelope(registered), "durationMs", "-1")),
			[]string{ehEvent + fido, "records=1"}},
		{"capitalised-type-finds-the-user-target",
			with(registered, "targetResources", []any{obj{"id": userID, "Type": "User", "userPrincipalName": userUPN}}),
			[]string{selfEvent + fido, "records=1"}},
		{"capitalised-keys-everywhere",
			obj{"ID": "x1", "ActivityDisplayName": "User deleted security info", "ActivityDateTime": auditTime, "Result": "Success",
				"ResultReason": "User deleted Fido", "TargetResources": []any{obj{"ID": userID, "TYPE": "user"}}},
			[]string{"event user=" + userID + " tenant= self=false result=success changes=deleted:Fido", "records=1"}},
		{"numeric-id-is-kept-as-text", with(registered, "id", 12345),
			[]string{selfEvent + fido, "records=1"}},
		{"activity-matched-case-insensitively", with(registered, "activityDisplayName", "USER REGISTERED SECURITY INFO"),
			[]string{selfEvent + fido, "records=1"}},
		{"activity-decides-whatever-the-logging-service",
			with(registered, "loggedByService", "Microsoft Entra multifactor authentication"),
			[]string{selfEvent + fido, "records=1"}},

		// result.
		{"result-number-zero-is-success", with(registered, "result", 0),
			[]string{selfEvent + fido, "records=1"}},
		{"result-number-one-is-failure", with(registered, "result", 1),
			[]string{"skip failed-operation=1", "records=1"}},
		{"result-timeout-is-failure", with(registered, "result", "timeout"),
			[]string{"skip failed-operation=1", "records=1"}},
		{"result-capitalised-failure-is-failure", with(registered, "result", "Failure"),
			[]string{"skip failed-operation=1", "records=1"}},
		{"result-missing-is-taken-as-success", with(registered, "result", deleteKey),
			[]string{selfEvent + fido, "records=1"}},
		{"unknown-future-value-still-triggers-re-evaluation", with(registered, "result", "unknownFutureValue"),
			[]string{"event user=" + userID + " tenant= self=true result=unknownFutureValue changes=" + fido, "records=1"}},
		{"result-object-on-relevant-record-is-malformed", with(registered, "result", obj{}),
			[]string{`error record 0: invalid input: "User registered security info" record: result is an object, neither a string nor a number`, "records=1"}},

		// Result reason.
		{"result-reason-empty-falls-back-to-envelope-description",
			body(with(envelope(with(registered, "resultReason", "")), "resultDescription", "Admin registered phone method for user")),
			[]string{ehEvent + "registered:phone method", "records=1"}},
		{"result-reason-wins-over-envelope-description",
			body(with(envelope(registered), "resultDescription", "Admin registered phone method for user")),
			[]string{ehEvent + fido, "records=1"}},
		{"trailing-dot-and-for-user-trimmed",
			with(registered, "resultReason", "Admin deleted temporary access pass method for user."),
			[]string{selfEvent + "deleted:temporary access pass method", "records=1"}},
		{"default-change-names-the-new-default",
			authRecord("User changed default security info", "User changed the default security info for A code from my authenticator app or token."),
			[]string{selfEvent + "default:A code from my authenticator app or token", "records=1"}},
		{"admin-changed-is-an-update",
			authRecord("Admin updated security info", "Admin changed phone method for user"),
			// An admin activity is admin-initiated, whoever it names.
			[]string{strings.Replace(selfEvent, "self=true", "self=false", 1) + "updated:phone method", "records=1"}},
		{"reason-prefix-matched-case-insensitively",
			with(registered, "resultReason", "user REGISTERED Authenticator App with Code"),
			[]string{selfEvent + "registered:Authenticator App with Code", "records=1"}},
		{"unrecognised-reason-is-an-unnamed-update",
			with(registered, "resultReason", "Registration completed"),
			[]string{selfEvent + "updated:", "records=1"}},
		{"all-required-security-info-names-no-method",
			authRecord("User registered all required security info", "User registered all required security info."),
			[]string{selfEvent + "registered:", "records=1"}},

		// Skips.
		{"reviewed-security-info-changes-nothing",
			authRecord("User reviewed security info", "User successfully reviewed security info."),
			[]string{"skip no-change-reviewed=1", "records=1"}},
		{"reviewed-is-reviewed-even-when-failed",
			with(authRecord("User reviewed security info", "User failed to review security info."), "result", "failure"),
			[]string{"skip no-change-reviewed=1", "records=1"}},
		{"user-canceled-is-skipped",
			authRecord("User canceled security info registration", "User canceled security info registration."),
			[]string{"skip no-change-canceled=1", "records=1"}},
		{"user-cancelled-spelling-is-skipped",
			authRecord("User cancelled security info registration", ""),
			[]string{"skip no-change-canceled=1", "records=1"}},
		{"canceled-reason-on-a-successful-record-is-skipped",
			authRecord("User registered all required security info", "User cancelled security info registration."),
			[]string{"skip no-change-canceled=1", "records=1"}},
		{"started-registration-is-irrelevant",
			authRecord("User started security info registration", ""),
			[]string{"skip irrelevant-activity=1", "records=1"}},
		{"legacy-category-audit-is-skipped",
			body(with(envelope(registered), "category", "Audit")),
			[]string{"skip legacy-schema=1", "records=1"}},
		{"legacy-properties-layout-is-skipped",
			body(with(envelope(registered), "category", "AuditLogs", "properties", obj{"targetResourceType": "UPN__TenantContextID__PUID__ObjectID__ObjectClass"})),
			[]string{"skip legacy-schema=1", "records=1"}},
		{"irrelevant-record-missing-everything-is-skipped-not-malformed",
			obj{"activityDisplayName": "Add member to group"},
			[]string{"skip irrelevant-activity=1", "records=1"}},
		{"object-without-activity-is-irrelevant", obj{},
			[]string{"skip irrelevant-activity=1", "records=1"}},
		{"failed-record-missing-its-id-is-skipped-not-malformed",
			with(registered, "id", deleteKey, "result", "failure"),
			[]string{"skip failed-operation=1", "records=1"}},
		{"relevant-record-without-user-target-is-skipped",
			with(registered, "targetResources", []any{obj{"id": "p1", "type": "Policy"}}),
			[]string{"skip no-target-user=1", "records=1"}},
		{"hardware-oath-token-created-in-inventory-is-skipped",
			with(authRecord("Create Hardware Oath Token", ""), "targetResources", []any{obj{"id": "t1", "type": "Other"}}),
			[]string{"skip no-target-user=1", "records=1"}},
		{"hardware-oath-token-assigned-to-a-user",
			with(authRecord("Assign Hardware Oath Token", ""), "targetResources", []any{obj{"id": "t1", "type": "Other"}, userTarget()}),
			[]string{selfEvent + "added:HardwareOathToken", "records=1"}},

		// Malformed records.
		{"non-object-record-is-malformed", body("text", nil, true, []any{}),
			[]string{
				"error record 0: invalid input: a string, not a JSON object",
				"error record 1: invalid input: null, not a JSON object",
				"error record 2: invalid input: a boolean, not a JSON object",
				"error record 3: invalid input: an array, not a JSON object",
				"records=4"}},
		{"properties-not-an-object-is-malformed", body(with(envelope(registered), "properties", "{}")),
			[]string{"error record 0: invalid input: properties is a string, not an object", "records=1"}},
		{"relevant-record-without-id-is-malformed", with(registered, "id", deleteKey),
			[]string{`error record 0: invalid input: "User registered security info" record: no id`, "records=1"}},
		{"relevant-record-without-time-is-malformed", with(registered, "activityDateTime", deleteKey),
			[]string{`error record 0: invalid input: "User registered security info" record: no activityDateTime or time`, "records=1"}},
		{"unparseable-time-is-malformed", with(registered, "activityDateTime", "yesterday"),
			[]string{`error record 0: invalid input: "User registered security info" record: time "yesterday" is not RFC 3339`, "records=1"}},
		{"user-target-without-id-is-malformed",
			with(registered, "targetResources", []any{obj{"type": "User", "userPrincipalName": userUPN}}),
			[]string{`error record 0: invalid input: "User registered security info" record: user target has no id`, "records=1"}},
		{"target-resources-not-an-array-is-malformed", with(registered, "targetResources", obj{"id": userID}),
			[]string{`error record 0: invalid input: "User registered security info" record: targetResources is an object, not an array`, "records=1"}},
		{"good-records-survive-a-bad-one-in-the-middle",
			body(envelope(registered), 7, envelope(with(registered, "id", "")), envelope(registered)),
			[]string{ehEvent + fido, ehEvent + fido,
				"error record 1: invalid input: a number, not a JSON object",
				`error record 2: invalid input: "User registered security info" record: no id`,
				"records=4"}},

		// Envelope fallbacks.
		{"envelope-time-used-when-activity-date-time-missing",
			body(with(envelope(registered), "properties", with(registered, "activityDateTime", deleteKey))),
			[]string{ehEvent + fido, "records=1"}},
		{"operation-name-used-when-properties-lack-the-activity",
			body(with(envelope(registered), "properties", with(registered, "activityDisplayName", deleteKey))),
			[]string{ehEvent + fido, "records=1"}},
		{"tenant-from-resource-id-when-envelope-lacks-tenant-id",
			body(with(envelope(registered), "tenantId", deleteKey)),
			[]string{ehEvent + fido, "records=1"}},
		{"tenant-from-properties-when-envelope-names-none",
			body(with(envelope(with(registered, "tenantId", tenant)), "tenantId", deleteKey, "resourceId", deleteKey)),
			[]string{ehEvent + fido, "records=1"}},

		// Initiator.
		{"self-service-by-upn-ignores-case",
			with(registered, "initiatedBy", obj{"user": obj{"id": "", "userPrincipalName": strings.ToUpper(userUPN)}}),
			[]string{selfEvent + fido, "records=1"}},
		{"admin-action-is-not-self-service",
			with(registered, "initiatedBy", obj{"user": obj{"id": adminID, "userPrincipalName": adminUPN}}),
			[]string{"event user=" + userID + " tenant= self=false result=success changes=" + fido, "records=1"}},
		{"app-initiated-is-not-self-service",
			with(registered, "initiatedBy", obj{"app": obj{"appId": "a1", "displayName": "Provisioning"}, "user": nil}),
			[]string{"event user=" + userID + " tenant= self=false result=success changes=" + fido, "records=1"}},
		{"unreadable-initiator-is-left-empty",
			with(registered, "initiatedBy", "someone"),
			[]string{"event user=" + userID + " tenant= self=false result=success changes=" + fido, "records=1"}},

		// Update user.
		{"update-user-without-strong-auth-property-is-irrelevant",
			updateUser(prop("DisplayName", enc([]string{"A"}), enc([]string{"B"}))),
			[]string{"skip irrelevant-activity=1", "records=1"}},
		{"update-user-old-value-null-means-all-added",
			updateUser(prop("StrongAuthenticationMethod", nil, sam(6, true, 7, false))),
			[]string{selfEvent + "added:PhoneAppNotification,default:PhoneAppNotification,added:PhoneAppOTP", "records=1"}},
		{"update-user-single-encoded-values-accepted",
			updateUser(prop("StrongAuthenticationMethod", []any{obj{"MethodType": 6, "Default": true}}, []any{obj{"MethodType": 6, "Default": true}, obj{"MethodType": 1, "Default": false}})),
			[]string{selfEvent + "added:TwoWaySms", "records=1"}},
		{"update-user-property-name-matched-case-insensitively",
			updateUser(prop("strongauthenticationmethod", sam(6, true), sam())),
			[]string{selfEvent + "removed:PhoneAppNotification", "records=1"}},
		{"unknown-method-type-is-named-by-number",
			updateUser(prop("StrongAuthenticationMethod", sam(), sam(12, false))),
			[]string{selfEvent + "added:MethodType12", "records=1"}},
		{"default-moved-to-an-existing-type",
			updateUser(prop("StrongAuthenticationMethod", sam(6, true, 0, false), sam(6, false, 0, true))),
			[]string{selfEvent + "default:TwoWayVoiceMobile", "records=1"}},
		{"reordered-methods-are-an-update-of-unknown-detail",
			updateUser(prop("StrongAuthenticationMethod", sam(6, true, 7, false), sam(7, false, 6, true))),
			[]string{selfEvent + "updated:StrongAuthenticationMethod", "records=1"}},
		{"unreadable-value-is-an-update-of-unknown-detail",
			updateUser(prop("StrongAuthenticationMethod", sam(6, true), `[{"MethodType":"six"}]`)),
			[]string{selfEvent + "updated:StrongAuthenticationMethod", "records=1"}},
		{"included-updated-properties-alone-still-counts",
			updateUser(prop("Included Updated Properties", nil, enc("StrongAuthenticationPhoneAppDetail"))),
			[]string{selfEvent + "updated:AuthenticatorApp", "records=1"}},
		{"phone-app-keyed-by-device-token-when-id-is-zero",
			updateUser(prop("StrongAuthenticationPhoneAppDetail",
				enc([]obj{{"Id": "00000000-0000-0000-0000-000000000000", "DeviceToken": "t1", "PhoneAppVersion": "1"}}),
				enc([]obj{{"Id": "00000000-0000-0000-0000-000000000000", "DeviceToken": "t1", "PhoneAppVersion": "2"}}))),
			[]string{selfEvent + "updated:AuthenticatorApp", "records=1"}},
		{"phone-app-keyed-by-device-name-when-no-id-or-token",
			updateUser(prop("StrongAuthenticationPhoneAppDetail",
				enc([]obj{{"DeviceName": "iPhone"}}),
				enc([]obj{{"DeviceName": "iPhone"}, {"DeviceName": "Pixel"}, {"DeviceName": "iPad"}}))),
			[]string{selfEvent + "added:AuthenticatorApp", "records=1"}},
		{"searchable-device-key-removed",
			updateUser(prop("SearchableDeviceKey", enc([]obj{{"usage": "FIDO", "keyIdentifier": "k1"}}), enc([]obj{}))),
			[]string{selfEvent + "removed:SearchableDeviceKey", "records=1"}},
		{"user-details-change-is-reported-without-its-values",
			updateUser(prop("StrongAuthenticationUserDetails", enc(obj{"PhoneNumber": "+1 5550100"}), enc(obj{"PhoneNumber": "+1 5550199"}))),
			[]string{selfEvent + "updated:StrongAuthenticationUserDetails", "records=1"}},
		{"failed-update-user-is-skipped",
			with(updateUser(prop("StrongAuthenticationMethod", nil, sam(1, true))), "result", "failure"),
			[]string{"skip failed-operation=1", "records=1"}},
		{"modified-properties-not-an-array-is-malformed",
			with(updateUser(), "targetResources", []any{with(userTarget(), "modifiedProperties", "StrongAuthenticationMethod")}),
			[]string{`error record 0: invalid input: "Update user" record: target 0: modifiedProperties is a string, not an array`, "records=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			batch, err := entralog.ParseAudit([]byte(js(tt.in)))
			got := summary(batch, err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for _, e := range splitErrors(err) {
				if !errors.Is(e, model.ErrInvalidInput) {
					t.Errorf("error %q does not wrap ErrInvalidInput", e)
				}
			}
		})
	}
}

// TestParseAuditEventFields checks the fields the summary leaves out.
func TestParseAuditEventFields(t *testing.T) {
	t.Parallel()
	r := authRecord("Admin registered security info", "Admin registered temporary access pass method for user")
	r["initiatedBy"] = obj{"user": obj{"id": adminID, "userPrincipalName": adminUPN}, "app": nil}
	batch, err := entralog.ParseAudit([]byte(js(body(envelope(r)))))
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.Events) != 1 {
		t.Fatalf("got %d events, want 1", len(batch.Events))
	}
	want := model.MethodChangeEvent{
		AuditID:           "Authentication Methods_5f0c2d1e-aaaa-4bbb-8ccc-000000000001_QX1A2_1",
		Activity:          "Admin registered security info",
		Time:              time.Date(2025, 3, 4, 9, 12, 31, 472836100, time.UTC),
		TenantID:          tenant,
		UserID:            userID,
		UserPrincipalName: userUPN,
		InitiatedBy:       model.Initiator{UserID: adminID, UserPrincipalName: adminUPN},
		SelfService:       false,
		Changes:           []model.MethodChange{{Op: model.ChangeRegistered, Method: "temporary access pass method"}},
		Result:            "success",
	}
	got := batch.Events[0]
	if got.Time.Location() != time.UTC {
		t.Errorf("time %v is not in UTC", got.Time)
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("time = %v, want %v", got.Time, want.Time)
	}
	got.Time = want.Time
	if enc(got) != enc(want) {
		t.Errorf("event\n got %s\nwant %s", enc(got), enc(want))
	}
}

// TestParseAuditCountsEveryRecord checks the batch's bookkeeping: each record
// is exactly one of event, skip or error.
func TestParseAuditCountsEveryRecord(t *testing.T) {
	t.Parallel()
	for _, in := range auditInputs(t) {
		data := readFile(t, in)
		batch, err := entralog.ParseAudit(data)
		recordErrs := 0
		for _, e := range splitErrors(err) {
			if strings.HasPrefix(e.Error(), "record ") {
				recordErrs++
			}
		}
		skipped := 0
		for _, n := range batch.Skipped {
			skipped += n
		}
		if got := len(batch.Events) + skipped + recordErrs; got != batch.Records {
			t.Errorf("%s: %d events + %d skipped + %d errors = %d, want %d records", in, len(batch.Events), skipped, recordErrs, got, batch.Records)
		}
	}
}

// TestSampleAuditEvents pins what the project's sample Event Hubs bodies in
// events/audit mean, so that the samples and the normaliser cannot drift
// apart. Every sample must parse without error.
func TestSampleAuditEvents(t *testing.T) {
	t.Parallel()
	const (
		sample = "7c1f5a2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b"
		adele  = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01"
		alex   = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a02"
		bianca = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a03"
		diego  = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a04"
	)
	event := func(user string, self bool, changes string) string {
		return fmt.Sprintf("event user=%s tenant=%s self=%t result=success changes=%s", user, sample, self, changes)
	}
	want := map[string][]string{
		"eventhub-user-registered-fido2.json": {
			event(adele, true, "registered:Fido2 Authentication Method"),
			"skip irrelevant-activity=1", "records=2"},
		"eventhub-user-deleted-authenticator-app.json": {
			event(alex, true, "deleted:Authenticator App with Notification and Code"),
			event(alex, true, "removed:AuthenticatorApp"),
			"records=2"},
		"eventhub-update-user-strongauthenticationmethod-sms.json": {
			event(bianca, true, "added:TwoWaySms,default:TwoWaySms"),
			"records=1"},
		"eventhub-admin-registered-tap.json": {
			event(diego, false, "registered:temporary access pass method"),
			"records=1"},
		"eventhub-user-reviewed-security-info.json": {
			"skip no-change-reviewed=1", "records=1"},
		"eventhub-user-registered-security-info-failure.json": {
			"skip failed-operation=1", "records=1"},
		"eventhub-unrelated-directory-changes.json": {
			"skip irrelevant-activity=3", "records=3"},
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "audit", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("found %d sample files, want %d: a new sample needs its expectation here", len(files), len(want))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			batch, err := entralog.ParseAudit(readFile(t, f))
			if err != nil {
				t.Errorf("sample does not parse cleanly: %v", err)
			}
			if got := summary(batch, err); !slices.Equal(got, want[name]) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want[name], "\n  "))
			}
		})
	}
}

// Self-service is decided by object ids, not user principal names (a public
// sample carries the target's UPN on an administrator's record), and the
// admin activities are admin-initiated whoever they name.
func TestSelfServiceComparesObjectIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		activity  string
		initiator obj
		want      bool
	}{
		{"same-upn-other-id-is-not-self-service", "User registered security info", obj{"id": adminID, "userPrincipalName": userUPN}, false},
		{"same-id-is-self-service", "User registered security info", obj{"id": userID, "userPrincipalName": userUPN}, true},
		{"ids-compare-without-case", "User registered security info", obj{"id": strings.ToUpper(userID)}, true},
		{"upn-decides-only-without-an-id", "User registered security info", obj{"userPrincipalName": strings.ToUpper(userUPN)}, true},
		{"admin-activity-is-admin-initiated", "Admin registered security info", obj{"id": userID, "userPrincipalName": userUPN}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := authRecord(tc.activity, "User registered Fido2 Authentication Method")
			r["initiatedBy"] = obj{"user": tc.initiator, "app": nil}
			batch, err := entralog.ParseAudit([]byte(js(body(envelope(r)))))
			if err != nil || len(batch.Events) != 1 {
				t.Fatalf("events %d err %v", len(batch.Events), err)
			}
			if got := batch.Events[0].SelfService; got != tc.want {
				t.Errorf("selfService %v, want %v", got, tc.want)
			}
		})
	}
}
