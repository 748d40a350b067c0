package graph_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
)

// liveDir is the test directory with Alex given what the newer reads
// return: PIM-eligible roles (a built-in and a custom one), certificate
// user ids, three devices (a Windows PC he registered, a Mac he registered
// and owns, an iPhone he owns) and the registration report's preferences.
func liveDir(t *testing.T) *model.Directory {
	t.Helper()
	dir := loadDir(t, "testdata/directory.json")
	yes, no := true, false
	for i := range dir.Users {
		u := &dir.Users[i]
		if u.ID != alexID {
			continue
		}
		u.EligibleRoles = []string{"Global Administrator", "Contoso Helpdesk Lead"}
		u.AuthorizationInfo = &model.AuthorizationInfo{CertificateUserIDs: []string{"X509:<PN>alexw@contoso.com"}}
		u.Devices = []model.Device{
			{ID: "0b7a-win", DisplayName: "ALEX-LAPTOP", OperatingSystem: "Windows", OperatingSystemVersion: "10.0.26100.2314", TrustType: "AzureAd", Registered: true},
			{ID: "1c8b-mac", DisplayName: "Alex's MacBook", OperatingSystem: "MacMDM", TrustType: "Workplace", Registered: true, Owned: true},
			{ID: "2d9c-iph", DisplayName: "Alex's iPhone", OperatingSystem: "iOS", TrustType: "Workplace", Owned: true},
		}
		u.Registration = &model.RegistrationDetails{IsSsprRegistered: &yes, UserPreferredMethodForSecondaryAuthentication: "push",
			SystemPreferredAuthenticationMethods: []string{"push"}, IsSystemPreferredAuthenticationMethodEnabled: &no}
	}
	return dir
}

func TestUserReadsEligibleRolesDevicesAndCertificates(t *testing.T) {
	t.Parallel()
	dir := liveDir(t)
	want, _ := dir.FindUser(alexID)
	// One object per page: every list is followed through its nextLinks.
	e := newEnv(t, dir, nil, graphtest.WithListPageSize(1))
	u, err := e.c.User(e.ctx, alexID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.EligibleRoles, want.EligibleRoles) {
		t.Errorf("eligible roles %v, want %v", u.EligibleRoles, want.EligibleRoles)
	}
	if !reflect.DeepEqual(u.AuthorizationInfo, want.AuthorizationInfo) {
		t.Errorf("authorizationInfo %+v, want %+v", u.AuthorizationInfo, want.AuthorizationInfo)
	}
	byID := func(ds []model.Device) []model.Device {
		ds = slices.Clone(ds)
		slices.SortFunc(ds, func(a, b model.Device) int { return strings.Compare(a.ID, b.ID) })
		return ds
	}
	if got := byID(u.Devices); !reflect.DeepEqual(got, want.Devices) {
		t.Errorf("devices, merged by id:\n got %+v\nwant %+v", got, want.Devices)
	}
	r := u.Registration
	if r == nil || r.IsSsprRegistered == nil || !*r.IsSsprRegistered || r.UserPreferredMethodForSecondaryAuthentication != "push" ||
		!slices.Equal(r.SystemPreferredAuthenticationMethods, []string{"push"}) || r.IsSystemPreferredAuthenticationMethodEnabled == nil ||
		*r.IsSystemPreferredAuthenticationMethodEnabled || r.IsAdmin == nil || !*r.IsAdmin {
		t.Errorf("registration details %+v", r)
	}
	pages := map[string]int{}
	for _, it := range e.srv.Items() {
		path, query, _ := strings.Cut(it.URL, "?")
		switch {
		case strings.HasSuffix(path, "/roleEligibilityScheduleInstances"):
			pages["eligible"]++
			if !strings.Contains(query, "principalId") || !strings.Contains(query, "roleDefinition") {
				t.Errorf("eligible roles page without its filter and expansion: %s", it.URL)
			}
		case strings.HasSuffix(path, "/registeredDevices"):
			pages["registered"]++
		case strings.HasSuffix(path, "/ownedDevices"):
			pages["owned"]++
		}
		if it.Class == graphtest.ClassAuthReports && strings.HasSuffix(path, "Devices") {
			t.Errorf("%s counted against the reports budget", it.URL)
		}
	}
	// Two objects are two pages, and an empty third page never comes.
	if pages["eligible"] != 2 || pages["registered"] != 2 || pages["owned"] != 2 {
		t.Errorf("pages read %v, want 2 of each list", pages)
	}
}

func TestUserByPrincipalNameReadsEligibleRolesByObjectID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, liveDir(t), nil)
	u, err := e.c.User(e.ctx, "alexw@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.EligibleRoles) != 2 {
		t.Errorf("eligible roles %v", u.EligibleRoles)
	}
	reqs := e.srv.Requests()
	if len(reqs) != 2 || len(reqs[1].Items) != 1 || !strings.Contains(reqs[1].Items[0].URL, "principalId%20eq%20%27"+alexID+"%27") {
		t.Fatalf("requests %+v, want one batch, then the eligible roles filtered by the profile's object id", reqs)
	}
}

func TestUserWithoutDevicesHasAnEmptyList(t *testing.T) {
	t.Parallel()
	dir := loadDir(t, "testdata/directory.json")
	for i := range dir.Users {
		dir.Users[i].Devices = []model.Device{} // known: none
	}
	e := newEnv(t, dir, nil)
	u, err := e.c.User(e.ctx, allanID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Devices == nil || len(u.Devices) != 0 || !u.DevicesKnown() {
		t.Fatalf("devices %#v, want known and none", u.Devices)
	}
	b, _ := json.Marshal(u)
	if !strings.Contains(string(b), `"devices":[]`) {
		t.Errorf("the snapshot does not say the user has no devices: %s", b)
	}
}

// A 429 on every read of the user, the newer ones included, is retried
// after its Retry-After, and the user comes back whole.
func TestEveryReadIsRetriedAfterThrottling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, liveDir(t), nil)
	e.srv.Throttle(7, 2*time.Second)
	u, err := e.c.User(e.ctx, alexID)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.EligibleRoles) != 2 || len(u.Devices) != 3 || u.AuthorizationInfo == nil || u.Registration == nil || len(u.Methods) == 0 {
		t.Errorf("user after throttling %+v", u)
	}
	status := map[string][]int{}
	for _, it := range e.srv.Items() {
		path, _, _ := strings.Cut(it.URL, "?")
		path = strings.TrimPrefix(path, "/users/"+alexID)
		status[path] = append(status[path], it.Status)
	}
	for path, st := range status {
		if !slices.Equal(st, []int{429, 200}) {
			t.Errorf("%s answered %v, want 429 then 200", path, st)
		}
	}
	if len(status) != 7 {
		t.Errorf("%d reads, want 7: %v", len(status), status)
	}
}

// Directory records when it read the tenant, and each user's registration
// report details come from the report it enumerated them with.
func TestDirectoryRecordsExportedAtAndRegistrationDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, liveDir(t), nil)
	start := e.clk.Now().UTC().Truncate(time.Second)
	got, err := e.c.Directory(e.ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExportedAt.Equal(start) {
		t.Errorf("exportedAt %v, want %v", got.ExportedAt, start)
	}
	alex, _ := got.FindUser(alexID)
	if r := alex.Registration; r == nil || r.UserPreferredMethodForSecondaryAuthentication != "push" || r.IsSsprRegistered == nil || !*r.IsSsprRegistered {
		t.Errorf("registration details %+v", r)
	}
	for _, u := range got.Users {
		if u.Registration == nil || u.Registration.IsAdmin == nil || *u.Registration.IsAdmin != (len(u.Roles) > 0) {
			t.Errorf("user %s: registration details %+v, roles %v", u.ID, u.Registration, u.Roles)
		}
	}
}

// TestRequestsPerUser measures the reads of one user, and of every user of
// an export, by throttling class (docs/GRAPH.md, "What credres asks Graph
// for"). Run with -v to print the figures.
func TestRequestsPerUser(t *testing.T) {
	t.Parallel()
	dir := loadDir(t, "testdata/directory.json")
	count := func(items []graphtest.Item) (directory, reports int) {
		for _, it := range items {
			if it.Class == graphtest.ClassAuthReports {
				reports++
			} else {
				directory++
			}
		}
		return directory, reports
	}
	e := newEnv(t, dir, nil)
	if _, err := e.c.User(e.ctx, alexID); err != nil {
		t.Fatal(err)
	}
	d, r := count(e.srv.Items())
	t.Logf("one user by object id: %d HTTP request, %d directory items, %d reports-budget items", len(e.srv.Requests()), d, r)
	if len(e.srv.Requests()) != 1 || d != 5 || r != 2 {
		t.Errorf("one user: %d requests, %d directory and %d reports items; want 1, 5, 2", len(e.srv.Requests()), d, r)
	}

	e = newEnv(t, dir, nil)
	got, err := e.c.Directory(e.ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var users []graphtest.Item
	for _, it := range e.srv.Items() {
		if strings.HasPrefix(it.URL, "/users/") || strings.HasPrefix(it.URL, "/roleManagement/") {
			users = append(users, it)
		}
	}
	d, r = count(users)
	n := len(got.Users)
	t.Logf("export of %d users: per user %d directory items, %d reports-budget items", n, d/n, r/n)
	if d != 5*n || r != n {
		t.Errorf("export: %d directory and %d reports items for %d users; want 5 and 1 per user", d, r, n)
	}
}

// The client's errors name the permission a refused read needs.
func TestRefusedReadNamesThePermission(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ without, want string }{
		{"UserAuthenticationMethod.Read.All", "methods: 403 Forbidden (Authorization_RequestDenied)"},
		{"AuditLog.Read.All", "registration details: 403 Forbidden (Authorization_RequestDenied)"},
		{"User.Read.All", "profile: 403 Forbidden (Authorization_RequestDenied)"},
		{"RoleManagement.Read.Directory", "RoleManagement.Read.Directory"},
	} {
		t.Run(tc.without, func(t *testing.T) {
			t.Parallel()
			token := graphtest.AppToken(graphtest.Without(tc.without)...)
			e := newEnv(t, liveDir(t), func(c *graph.Config) { c.Token = token }, graphtest.WithToken(token))
			_, err := e.c.User(e.ctx, alexID)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.without) {
				t.Fatalf("without %s: err = %v, want one saying %q and naming the permission", tc.without, err, tc.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
}

// Devices only shape advice: without Device.Read.All (Graph then lists
// them without their properties) or when Graph refuses the lists to an
// application, the user is read with devices unknown, and a warning names
// the permissions.
func TestDevicesWithoutPermissionAreUnknown(t *testing.T) {
	t.Parallel()
	for _, refused := range []bool{false, true} {
		t.Run(map[bool]string{false: "without Device.Read.All", true: "lists refused"}[refused], func(t *testing.T) {
			t.Parallel()
			token, opts := graphtest.AppToken(graphtest.Without("Device.Read.All")...), []graphtest.Option(nil)
			if refused {
				token, opts = graphtest.DeploymentToken(), []graphtest.Option{graphtest.WithDeviceListsRefused()}
			}
			e := newEnv(t, liveDir(t), func(c *graph.Config) { c.Token = token }, append(opts, graphtest.WithToken(token))...)
			u, err := e.c.User(e.ctx, alexID)
			if err != nil {
				t.Fatal(err)
			}
			if u.Devices != nil || u.DevicesKnown() {
				t.Errorf("devices %+v, want unknown", u.Devices)
			}
			if len(u.EligibleRoles) != 2 || len(u.Methods) == 0 {
				t.Errorf("the rest of the user was not read: %+v", u)
			}
			if !strings.Contains(e.logs.String(), "Device.Read.All") {
				t.Errorf("no warning names the permission: %s", e.logs)
			}
		})
	}
}

// The report's list takes AuditLog.Read.All or
// UserAuthenticationMethod.Read.All; with neither, an export fails naming
// the first.
func TestRefusedReportNamesThePermission(t *testing.T) {
	t.Parallel()
	token := graphtest.AppToken(graphtest.Without("AuditLog.Read.All", "UserAuthenticationMethod.Read.All")...)
	e := newEnv(t, liveDir(t), func(c *graph.Config) { c.Token = token }, graphtest.WithToken(token))
	_, err := e.c.Directory(e.ctx, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "AuditLog.Read.All") {
		t.Fatalf("err = %v, want a 403 naming AuditLog.Read.All", err)
	}
	// With UserAuthenticationMethod.Read.All alone the list is allowed: an
	// export enumerates users without AuditLog.Read.All, but a named
	// user's row is refused.
	token = graphtest.AppToken(graphtest.Without("AuditLog.Read.All")...)
	e = newEnv(t, liveDir(t), func(c *graph.Config) { c.Token = token }, graphtest.WithToken(token))
	if _, err := e.c.Directory(e.ctx, nil, nil); err != nil {
		t.Errorf("export without AuditLog.Read.All: %v", err)
	}
	if _, err := e.c.Directory(e.ctx, []string{alexID}, nil); err == nil || !strings.Contains(err.Error(), "AuditLog.Read.All") {
		t.Errorf("named user without AuditLog.Read.All: %v", err)
	}
}
