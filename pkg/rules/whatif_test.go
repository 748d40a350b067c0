package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

func TestLockedOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tenant  model.Tenant
		synced  bool
		methods []string
		down    string
		locked  bool
		hasPath bool
	}{
		{"carrier-outage-locks-out-phone-only-users", cloud, false, []string{"password", "mobile", "office"}, "phone-carrier", true, true},
		{"carrier-outage-spares-authenticator", cloud, false, []string{"password", "mobile", "auth:a1"}, "phone-carrier", false, true},
		{"push-outage-spares-codes", cloud, false, []string{"password", "auth:a1"}, "push-service", false, true},
		{"mfa-outage-spares-passwordless", cloud, false, []string{"password", "auth:a1", "whfb:w1"}, "entra-mfa", false, true},
		{"mfa-outage-ignores-accept-lists", cloud, false, []string{"password", "auth:a1"}, "entra-mfa", true, true},
		{"kind-means-every-instance", cloud, false, []string{"fido2:k1", "fido2:k2"}, "security-key", true, true},
		{"one-instance-only", cloud, false, []string{"fido2:k1", "fido2:k2"}, "security-key/k1", false, true},
		{"second-authenticator-device-counts-as-mobile-device-kind", cloud, false, []string{"password", "auth:a@2020-01-01", "auth:b@2022-01-01"}, "mobile-device", true, true},
		{"federation-outage-locks-out-synced-password-users", federated, true, []string{"password", "auth:a1"}, "on-premises", true, true},
		{"federation-outage-spares-cloud-users", federated, false, []string{"password", "auth:a1"}, "on-premises", false, true},
		{"together-they-lock-out", cloud, false, []string{"password", "auth:a1", "office"}, "mobile-device,office-phone", true, true},
		{"no-path-is-reported-apart", cloud, false, []string{"password"}, "phone-carrier", false, false},
		{"entra-auth-is-ignored-in-a-list", cloud, false, []string{"password", "mobile"}, "entra-auth,office-phone", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := ParseOutage(tc.down)
			if err != nil {
				t.Fatal(err)
			}
			u := user(t, "u", tc.methods...)
			u.OnPremisesSyncEnabled = tc.synced
			locked, hasPath := LockedOut(tc.tenant, u, o)
			if locked != tc.locked || hasPath != tc.hasPath {
				t.Errorf("locked %v hasPath %v, want %v %v", locked, hasPath, tc.locked, tc.hasPath)
			}
			// The kind-level shortcut used by reports must agree wherever the
			// outage is given by kinds.
			if o.kinds != 0 && len(o.ids) == len(o.kinds.Kinds()) {
				if got := LockedOutByKinds(KindPaths(tc.tenant, u, nil), o.kinds); got != tc.locked {
					t.Errorf("LockedOutByKinds = %v, want %v", got, tc.locked)
				}
			}
		})
	}
}

func TestParseOutage(t *testing.T) {
	t.Parallel()
	if _, err := ParseOutage("phone-carier"); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("typo accepted: %v", err)
	}
	if _, err := ParseOutage("entra-auth"); err == nil {
		t.Errorf("entra-auth alone accepted: nothing is down")
	}
	o, err := ParseOutage("phone-carrier, push-service", "phone-carrier", "security-key/k1")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Down(); len(got) != 3 {
		t.Errorf("down = %v, want 3 distinct entries", got)
	}
}

// email-provider is no dependency of any path: whatif says so rather than
// listing it as an outage that locks nobody out.
func TestEmailProviderIsNoOutage(t *testing.T) {
	t.Parallel()
	if _, err := ParseOutage("email-provider"); err == nil || !strings.Contains(err.Error(), "only reset passwords") {
		t.Errorf("err %v", err)
	}
	if slices.Contains(model.DependencyKinds, model.DepEmailProvider) {
		t.Error("email-provider is listed among the dependency kinds")
	}
	if _, err := ParsePolicy([]byte("tiers:\n  - name: a\n    match: {all: true}\n    accept: [email-provider]\n")); err != nil {
		t.Errorf("a policy accepting email-provider no longer parses: %v", err)
	}
}
