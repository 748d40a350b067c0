package rules

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/credres/credres/pkg/model"
)

// An external authentication method (a third-party MFA provider) is a
// second factor with its own dependency, the provider's configuration.
func TestExternalMFA(t *testing.T) {
	t.Parallel()
	e := New(strictPolicy(t))
	u := user(t, "u", "password", "external:x1@cfg-1")
	a := e.Evaluate(cloud, u)
	if a.HasViolation(model.ViolationNoMFAPath) || pathsString(a.Paths) != "{external-mfa/cfg-1}" || len(a.Ignored) != 0 {
		t.Fatalf("paths %s violations %v ignored %v", pathsString(a.Paths), a.Violations, a.Ignored)
	}
	// Two registrations of one provider fail together.
	two := e.Evaluate(cloud, user(t, "u", "password", "external:x1@cfg-1", "external:x2@cfg-1"))
	if two.Diversity != 1 {
		t.Errorf("one provider twice: diversity %d", two.Diversity)
	}
	// With Authenticator, the provider is an independent way in.
	both := e.Evaluate(cloud, user(t, "u", "password", "external:x1@cfg-1", "auth:a1"))
	if both.Diversity != 2 {
		t.Errorf("provider and Authenticator: diversity %d, want 2 (paths %s)", both.Diversity, pathsString(both.Paths))
	}
	o, _ := ParseOutage("external-mfa")
	if locked, _ := LockedOut(cloud, u, o); !locked {
		t.Error("an outage of the provider does not lock its only user out")
	}
}

func x509Tenant(t *testing.T, mode string) model.Tenant {
	t.Helper()
	doc := `{"policyMigrationState":"migrationComplete","authenticationMethodConfigurations":[
	 {"@odata.type":"#microsoft.graph.x509CertificateAuthenticationMethodConfiguration","id":"X509Certificate","state":"enabled",
	  "includeTargets":[{"targetType":"group","id":"all_users"}],
	  "authenticationModeConfiguration":{"x509CertificateAuthenticationDefaultMode":"` + mode + `","rules":[]}},
	 {"@odata.type":"#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration","id":"MicrosoftAuthenticator","state":"enabled",
	  "includeTargets":[{"targetType":"group","id":"all_users","authenticationMode":"any"}]}]}`
	var p model.AuthMethodsPolicy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	return model.Tenant{ID: "t", PasswordAuth: model.PasswordCloud, AuthMethodsPolicy: &p}
}

// Certificate-based authentication, as Microsoft documents its bindings: a
// multifactor certificate is a phishing-resistant path on its own (the
// smart card and the tenant's PKI); a single-factor one is a first factor
// that needs a second (after the password, or with passwordless phone
// sign-in).
func TestCertificateBasedAuthentication(t *testing.T) {
	t.Parallel()
	e := New(strictPolicy(t))
	cert := func(specs ...string) *model.User {
		u := user(t, "u", specs...)
		u.AuthorizationInfo = &model.AuthorizationInfo{CertificateUserIDs: []string{"X509:<PN>u@contoso.example"}}
		return u
	}
	tests := []struct {
		name     string
		tenant   model.Tenant
		user     *model.User
		paths    string
		phishing bool
	}{
		{"multifactor-binding-is-a-path-alone", x509Tenant(t, "x509CertificateMultiFactor"), cert(), "{pki,smart-card}", true},
		{"unknown-policy-assumes-single-factor", cloud, cert("password"), "{pki,smart-card}", false},
		{"single-factor-needs-the-password", x509Tenant(t, "x509CertificateSingleFactor"), cert(), "", false},
		{"single-factor-after-the-password", x509Tenant(t, "x509CertificateSingleFactor"), cert("password"), "{pki,smart-card}", false},
		{"no-certificate-user-ids-no-path", x509Tenant(t, "x509CertificateMultiFactor"), user(t, "u"), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := e.Evaluate(tc.tenant, tc.user)
			if got := pathsString(a.Paths); got != tc.paths || a.PhishingResistant != tc.phishing {
				t.Errorf("paths %s phishing-resistant %v, want %s %v", got, a.PhishingResistant, tc.paths, tc.phishing)
			}
		})
	}
	// Single-factor with passwordless phone sign-in: the card and the phone.
	u := cert("auth:a1")
	u.MethodsRegistered = []string{"microsoftAuthenticatorPasswordless"}
	a := e.Evaluate(x509Tenant(t, "x509CertificateSingleFactor"), u)
	if !slices.ContainsFunc(a.Paths, func(p []model.Dependency) bool {
		return slices.Equal(p, []model.Dependency{"mobile-device", "pki", "push-service", "smart-card"})
	}) {
		t.Errorf("paths %s lack the certificate with passwordless phone sign-in", pathsString(a.Paths))
	}
	// A PKI outage locks out a user whose only way in is the card.
	o, _ := ParseOutage("pki")
	if locked, _ := LockedOut(x509Tenant(t, "x509CertificateMultiFactor"), cert(), o); !locked {
		t.Error("a PKI outage leaves the card working")
	}
}
