package rules

import (
	"path/filepath"
	"testing"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/model"
)

// goldenUsers covers every method kind, hybrid users and the tiers of the
// default policy. Their assessments are checked against
// testdata/golden/<tenant>.json; run `go test ./pkg/rules -update` (or
// `make golden`) after an intended change and review the diff.
var goldenUsers = []struct {
	name   string
	roles  []string
	synced bool
	specs  []string
}{
	{"sms-and-voice", nil, false, []string{"password", "mobile", "office"}},
	{"authenticator-and-sms", nil, false, []string{"password", "auth:a1@2022-01-01", "mobile"}},
	{"authenticator-and-office-phone", nil, false, []string{"password", "auth:a1@2022-01-01", "office"}},
	{"authenticator-and-key", nil, false, []string{"password", "auth:a1@2022-01-01", "fido2:k1"}},
	{"two-authenticators", nil, false, []string{"password", "auth:a2@2024-03-01", "auth:a1@2021-06-01"}},
	{"passwordless-phone-sign-in", nil, false, []string{"password", "auth:a1@2022-01-01"}},
	{"software-and-hardware-oath", nil, false, []string{"password", "soft", "hw:h1"}},
	{"alternate-mobile", nil, false, []string{"password", "mobile", "alt"}},
	{"passkey-and-windows-hello", nil, false, []string{"passkey", "whfb:w1"}},
	{"mac-and-keys", nil, false, []string{"mac:m1", "fido2:k1", "fido2:k2"}},
	{"password-only", nil, false, []string{"password", "email"}},
	{"tap-and-unknown-only", nil, false, []string{"password", "tap", "unknown"}},
	{"synced-authenticator-and-token", nil, true, []string{"password", "auth:a1@2022-01-01", "hw:h1"}},
	{"synced-sms", nil, true, []string{"password", "mobile"}},
	{"synced-with-key", nil, true, []string{"password", "auth:a1@2022-01-01", "fido2:k1"}},
	{"admin-phone-only", []string{"Global Administrator"}, false, []string{"password", "mobile"}},
	{"admin-authenticator-only", []string{"User Administrator"}, false, []string{"password", "auth:a1@2022-01-01"}},
	{"admin-compliant", []string{"Privileged Role Administrator"}, false, []string{"password", "whfb:w1", "fido2:k1"}},
	{"synced-admin-authenticator-and-key", []string{"Security Administrator"}, true, []string{"password", "auth:a1@2022-01-01", "fido2:k1"}},
}

func TestGoldenAssessments(t *testing.T) {
	t.Parallel()
	e := New(nil)
	for name, tenant := range map[string]model.Tenant{"cloud": cloud, "federated": federated} {
		var got []model.Assessment
		for _, gu := range goldenUsers {
			u := user(t, gu.name, gu.specs...)
			u.Roles, u.OnPremisesSyncEnabled = gu.roles, gu.synced
			if gu.name == "passwordless-phone-sign-in" {
				u.MethodsRegistered = []string{"microsoftAuthenticatorPasswordless"}
			}
			got = append(got, e.Evaluate(tenant, u))
		}
		golden.AssertJSON(t, filepath.Join("testdata", "golden", name+".json"), got)
	}
}
