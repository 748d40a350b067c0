package main

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

// The exported snapshot records when it was read, and what Graph says of
// each user beyond methods and memberships: eligible roles, devices,
// certificate user ids and the registration report's details.
func TestExportRecordsWhatGraphSays(t *testing.T) {
	srv := liveTenant(t)
	dir, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := dir.FindUser(admin)
	u.EligibleRoles = []string{"Privileged Role Administrator"}
	u.AuthorizationInfo = &model.AuthorizationInfo{CertificateUserIDs: []string{"X509:<PN>allan@contoso.example"}}
	u.Devices = []model.Device{{ID: "5e1f-pc", DisplayName: "ALLAN-PC", OperatingSystem: "Windows", TrustType: "ServerAd", Registered: true, Owned: true}}
	srv.SetUser(*u)

	out := filepath.Join(t.TempDir(), "tenant.json")
	before := time.Now().UTC().Truncate(time.Second)
	code, _, errOut := credres(t, "", "export", "--graph", "--out", out)
	after := time.Now().UTC()
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got, err := graphjson.LoadDirectory(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExportedAt.Before(before) || got.ExportedAt.After(after) {
		t.Errorf("exportedAt %v, not within the export's run [%v, %v]", got.ExportedAt, before, after)
	}
	for _, g := range got.Users {
		if g.ID == admin {
			if !slices.Equal(g.EligibleRoles, u.EligibleRoles) || !g.HasCertificate() || len(g.Devices) != 1 || !g.Devices[0].Owned || !g.Devices[0].Registered {
				t.Errorf("admin exported as %+v", g)
			}
		} else if want, ok := dir.FindUser(g.ID); !ok || !reflect.DeepEqual(g.Devices, want.Devices) {
			// What the sample tenant knows, and unknown where it does not
			// know them: the fake Graph refuses them, and they stay so.
			t.Errorf("%s: devices %v, not the sample tenant's", g.UserPrincipalName, g.Devices)
		}
		if g.Registration == nil || g.Registration.IsAdmin == nil {
			t.Errorf("%s: registration details %+v", g.UserPrincipalName, g.Registration)
		}
	}
}
