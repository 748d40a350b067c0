package rules

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

// methods builds Graph method objects from short specs and decodes them the
// way a snapshot is decoded:
//
//	password mobile office alt soft email tap unknown passkey
//	auth:ID[@YYYY-MM-DD]  fido2:ID  whfb:ID  mac:ID  hw:ID  external:ID@CONFIG
func methods(t testing.TB, specs ...string) []model.Method {
	t.Helper()
	var out []model.Method
	for _, spec := range specs {
		kind, id, _ := strings.Cut(spec, ":")
		id, created, _ := strings.Cut(id, "@")
		if id == "" {
			id = kind + "-id"
		}
		obj := map[string]any{"id": id}
		switch kind {
		case "password":
			obj["@odata.type"] = model.GraphPassword
			obj["id"] = "28c10230-6103-485e-b985-444c60001490"
		case "mobile", "office", "alt":
			obj["@odata.type"] = model.GraphPhone
			obj["phoneType"] = map[string]string{"mobile": "mobile", "office": "office", "alt": "alternateMobile"}[kind]
			obj["phoneNumber"] = "+1 2065550100"
		case "auth":
			obj["@odata.type"] = model.GraphAuthenticator
			obj["displayName"] = "Phone " + id
			if created != "" {
				obj["createdDateTime"] = created + "T00:00:00Z"
			}
		case "soft":
			obj["@odata.type"] = model.GraphSoftwareOath
		case "hw":
			obj["@odata.type"] = model.GraphHardwareOath
			obj["device"] = map[string]any{"id": id, "serialNumber": "TOTP" + id}
		case "fido2":
			obj["@odata.type"] = model.GraphFIDO2
			obj["aaGuid"] = "2fc0579f-8113-47ea-b116-555a8db9202a"
		case "passkey":
			obj["@odata.type"] = model.GraphFIDO2
			obj["aaGuid"] = "90a3ccdf-635c-4729-a248-9b709135078f"
		case "whfb":
			obj["@odata.type"] = model.GraphWindowsHello
		case "mac":
			obj["@odata.type"] = model.GraphPlatformCredential
			obj["platform"] = "macOS"
		case "email":
			obj["@odata.type"] = model.GraphEmail
			obj["emailAddress"] = "someone@fabrikam.example"
		case "tap":
			obj["@odata.type"] = model.GraphTemporaryAccess
			obj["lifetimeInMinutes"] = 60
		case "external":
			obj["@odata.type"] = model.GraphExternal
			obj["configurationId"] = created // external:ID@CONFIG
			obj["displayName"] = "Contoso MFA"
		case "unknown":
			obj["@odata.type"] = "#microsoft.graph.qrCodePinAuthenticationMethod"
		default:
			t.Fatalf("unknown method spec %q", spec)
		}
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		m, err := graphjson.DecodeMethod(raw)
		if err != nil {
			t.Fatalf("decode %s: %v", spec, err)
		}
		out = append(out, m)
	}
	return out
}

func user(t testing.TB, id string, specs ...string) *model.User {
	return &model.User{ID: id, UserPrincipalName: id + "@contoso.example", Methods: methods(t, specs...)}
}

var (
	cloud     = model.Tenant{ID: "t", PasswordAuth: model.PasswordCloud}
	federated = model.Tenant{ID: "t", PasswordAuth: model.PasswordFederated}
	ptaPHS    = model.Tenant{ID: "t", PasswordAuth: model.PasswordPTA, PHSFallback: true}
)

// strictPolicy is the setting of docs/DESIGN.md's examples: nothing accepted but entra-auth.
func strictPolicy(t testing.TB) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(`
tiers:
  - name: strict
    match: {all: true}
    minDiversity: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func pathsString(ps [][]model.Dependency) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, "{"+strings.Join(p, ",")+"}")
	}
	return strings.Join(parts, " ")
}

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return string(b)
}
