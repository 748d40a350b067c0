package graph_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// sampleTenant is the project's sample tenant, the demo's input.
const sampleTenant = "../../events/tenant.json"

// TestDirectoryEqualsSnapshot reads a tenant through Graph (the fake one,
// serving the snapshot's users in Graph's shapes) and checks that every
// user, and every assessment, equals the snapshot's: assess --graph and
// assess --directory agree.
func TestDirectoryEqualsSnapshot(t *testing.T) {
	t.Parallel()
	files := []string{"testdata/directory.json"}
	if _, err := os.Stat(sampleTenant); err == nil {
		files = append(files, sampleTenant)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			snap := loadDir(t, file)
			e := newEnv(t, snap, nil)
			var calls, last int
			got, err := e.c.Directory(e.ctx, nil, func(done, total int) {
				calls++
				if done != last+1 || total != len(snap.Users) {
					t.Errorf("progress %d/%d after %d", done, total, last)
				}
				last = done
			})
			if err != nil {
				t.Fatal(err)
			}
			if calls != len(snap.Users) {
				t.Errorf("progress called %d times for %d users", calls, len(snap.Users))
			}
			compareDirectories(t, got, snap)
			if over := e.srv.OverBudget(); len(over) > 0 {
				t.Errorf("%d requests over budget", len(over))
			}

			// Named users read their registration rows one by one.
			ids := []string{snap.Users[0].ID, snap.Users[len(snap.Users)-1].UserPrincipalName}
			some, err := e.c.Directory(e.ctx, ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			compareDirectories(t, some, &model.Directory{Tenant: snap.Tenant, Users: []model.User{snap.Users[0], snap.Users[len(snap.Users)-1]}})
		})
	}
}

func compareDirectories(t *testing.T, got, want *model.Directory) {
	t.Helper()
	gt, wt := got.Tenant, want.Tenant
	if gt.ID != wt.ID || gt.PasswordAuth != wt.PasswordAuth || gt.PHSFallback != wt.PHSFallback {
		t.Errorf("tenant %+v, want %+v", gt, wt)
	}
	// The tenant's own policy is read live, verbatim: the same JSON.
	for _, part := range []struct {
		name      string
		got, want any
	}{
		{"authenticationMethodsPolicy", gt.AuthMethodsPolicy, wt.AuthMethodsPolicy},
		{"authenticationStrengthPolicies", gt.StrengthPolicies, wt.StrengthPolicies},
		{"conditionalAccessPolicies", gt.CAPolicies, wt.CAPolicies},
	} {
		g, _ := json.Marshal(part.got)
		w, _ := json.Marshal(part.want)
		if !bytes.Equal(g, w) {
			t.Errorf("tenant.%s read live differs from the snapshot's:\n got %.300s\nwant %.300s", part.name, g, w)
		}
	}
	if len(got.Users) != len(want.Users) {
		t.Fatalf("%d users, want %d", len(got.Users), len(want.Users))
	}
	engine := rules.New(rules.DefaultPolicy())
	for i := range want.Users {
		g, w := &got.Users[i], &want.Users[i]
		if g.ID != w.ID || g.UserPrincipalName != w.UserPrincipalName || g.DisplayName != w.DisplayName ||
			g.OnPremisesSyncEnabled != w.OnPremisesSyncEnabled {
			t.Errorf("user %d: %s %s %s sync=%v, want %s %s %s sync=%v", i,
				g.ID, g.UserPrincipalName, g.DisplayName, g.OnPremisesSyncEnabled, w.ID, w.UserPrincipalName, w.DisplayName, w.OnPremisesSyncEnabled)
		}
		if !slices.Equal(g.Roles, w.Roles) || !slices.Equal(g.Groups, w.Groups) || !slices.Equal(g.EligibleRoles, w.EligibleRoles) {
			t.Errorf("user %s: roles %v groups %v eligible %v, want %v %v %v", w.ID, g.Roles, g.Groups, g.EligibleRoles, w.Roles, w.Groups, w.EligibleRoles)
		}
		if !reflect.DeepEqual(g.AuthorizationInfo, w.AuthorizationInfo) {
			t.Errorf("user %s: authorizationInfo %+v, want %+v", w.ID, g.AuthorizationInfo, w.AuthorizationInfo)
		}
		if !reflect.DeepEqual(g.Devices, w.Devices) {
			t.Errorf("user %s: devices %+v, want %+v", w.ID, g.Devices, w.Devices)
		}
		if g.Registration == nil {
			t.Errorf("user %s: the registration report's details were not read", w.ID)
		}
		if !slices.Equal(g.MethodsRegistered, w.MethodsRegistered) && !(w.MethodsRegistered == nil && !slices.Contains(g.MethodsRegistered, "microsoftAuthenticatorPasswordless")) {
			t.Errorf("user %s: methodsRegistered %v, want %v", w.ID, g.MethodsRegistered, w.MethodsRegistered)
		}
		// Methods are equal to the byte: decoded by the same code from
		// the same Graph objects.
		if !reflect.DeepEqual(g.Methods, w.Methods) {
			t.Errorf("user %s: methods differ\n got %+v\nwant %+v", w.ID, g.Methods, w.Methods)
		}
		// Graph always answers userType and accountEnabled; the fake one
		// serves a member with an enabled account where the snapshot
		// leaves them out.
		wu, on := *w, true
		if wu.UserType == "" {
			wu.UserType = "Member"
		}
		if wu.AccountEnabled == nil {
			wu.AccountEnabled = &on
		}
		if g.UserType != wu.UserType || g.AccountEnabled == nil || *g.AccountEnabled != *wu.AccountEnabled {
			t.Errorf("user %s: userType %q accountEnabled %v, want %q %v", w.ID, g.UserType, g.AccountEnabled, wu.UserType, *wu.AccountEnabled)
		}
		if ga, wa := engine.Evaluate(got.Tenant, g), engine.Evaluate(want.Tenant, &wu); !reflect.DeepEqual(ga, wa) {
			t.Errorf("user %s: assessment differs\n got %+v\nwant %+v", w.ID, ga, wa)
		}
	}
}
