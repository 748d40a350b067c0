package graph_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
)

const (
	alexID  = "86462606-fde0-4fc4-9e0c-a20eb73e54c6"
	allanID = "c6ad1942-4afa-47f8-8d48-afb5d8d69d2f"
)

func TestUserIsOneBatchOfSevenReads(t *testing.T) {
	t.Parallel()
	dir := loadDir(t, "testdata/directory.json")
	e := newEnv(t, dir, nil)
	u, err := e.c.User(e.ctx, alexID)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := dir.FindUser(alexID)
	if !reflect.DeepEqual(u.Methods, want.Methods) {
		t.Errorf("methods differ from the snapshot's:\n got %+v\nwant %+v", u.Methods, want.Methods)
	}
	if !reflect.DeepEqual(u.Roles, want.Roles) || !reflect.DeepEqual(u.Groups, want.Groups) {
		t.Errorf("roles %v groups %v, want %v %v", u.Roles, u.Groups, want.Roles, want.Groups)
	}
	if !u.PasswordlessPhoneSignIn() {
		t.Error("the registration row's microsoftAuthenticatorPasswordless was lost")
	}
	if u.UserPrincipalName != want.UserPrincipalName || u.DisplayName != want.DisplayName || u.Mail != want.Mail || u.PreferredLanguage != "en-US" {
		t.Errorf("profile %+v", u)
	}
	if u.AccountEnabled == nil || !*u.AccountEnabled {
		t.Error("accountEnabled not read")
	}

	reqs := e.srv.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/$batch" {
		t.Fatalf("requests = %+v, want one $batch", reqs)
	}
	var paths []string
	units := 0
	for _, it := range reqs[0].Items {
		paths = append(paths, strings.SplitN(it.URL, "?", 2)[0])
		if it.Class == graphtest.ClassAuthReports {
			units++
		}
	}
	wantPaths := []string{
		"/users/" + alexID,
		"/users/" + alexID + "/authentication/methods",
		"/users/" + alexID + "/transitiveMemberOf",
		"/roleManagement/directory/roleEligibilityScheduleInstances",
		"/users/" + alexID + "/registeredDevices",
		"/users/" + alexID + "/ownedDevices",
		"/reports/authenticationMethods/userRegistrationDetails/" + alexID,
	}
	if !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("batch items %v, want %v", paths, wantPaths)
	}
	if units != 2 {
		t.Errorf("%d reports-budget units, want 2 (methods and registration row)", units)
	}
}

func TestUserByPrincipalNameFiltersTheReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil)
	u, err := e.c.User(e.ctx, "alexw@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != alexID || !u.PasswordlessPhoneSignIn() {
		t.Errorf("got %s, passwordless %v", u.ID, u.PasswordlessPhoneSignIn())
	}
	found := false
	for _, it := range e.srv.Items() {
		if strings.Contains(it.URL, "userRegistrationDetails?%24filter=userPrincipalName%20eq%20%27alexw%40contoso.com%27") {
			found = true
		}
	}
	if !found {
		t.Errorf("registration row not read by $filter: %+v", e.srv.Items())
	}
}

func TestSkipRegistrationDetailsHalvesTheReportsBudget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), func(c *graph.Config) { c.SkipRegistrationDetails = true })
	u, err := e.c.User(e.ctx, alexID)
	if err != nil {
		t.Fatal(err)
	}
	if u.MethodsRegistered != nil {
		t.Errorf("MethodsRegistered = %v, want unknown", u.MethodsRegistered)
	}
	if items := e.srv.Items(); len(items) != 6 {
		t.Errorf("%d items, want profile, methods, memberships, eligible roles, registered and owned devices", len(items))
	}
}

func TestUnknownUserIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil)
	_, err := e.c.User(e.ctx, "00000000-0000-0000-0000-000000000000")
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	users, err := e.c.Users(e.ctx, []string{alexID, "00000000-0000-0000-0000-000000000000", allanID})
	if len(users) != 2 || users[0].ID != alexID || users[1].ID != allanID {
		t.Errorf("users = %d, want Alex and Allan in order", len(users))
	}
	var ue *graph.UserError
	if !errors.Is(err, model.ErrNotFound) || !errors.As(err, &ue) || ue.ID != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("err = %v, want one not-found UserError", err)
	}
	if !strings.HasPrefix(err.Error(), "graph: read user 00000000-0000-0000-0000-000000000000: ") {
		t.Errorf("error text %q", err)
	}
}

func TestUsersAreBatchedWithinTheBudget(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(12, 7)
	e := newEnv(t, dir, func(c *graph.Config) { c.SkipRegistrationDetails = true })
	var ids []string
	for _, u := range dir.Users {
		ids = append(ids, u.ID, strings.ToUpper(u.ID)) // duplicates are read once
	}
	users, err := e.c.Users(e.ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 12 {
		t.Fatalf("%d users, want 12", len(users))
	}
	// 72 items, at most 20 per $batch and at most 5 method reads per
	// batch (the budget): 5 batches, the directory reads riding along.
	if n := batchCount(e.srv); n != 5 {
		t.Errorf("%d $batch requests, want 5", n)
	}
	if n := len(e.srv.Items()); n != 72 {
		t.Errorf("%d items, want 72 (6 per user, none twice)", n)
	}
	if over := e.srv.OverBudget(); len(over) > 0 {
		t.Errorf("server refused %d items over budget", len(over))
	}
	if m := e.srv.MaxInWindow(graphtest.ClassAuthReports, 10*time.Second); m > 5 {
		t.Errorf("%d reports-budget requests within 10 s, budget is 5", m)
	}
	if !strings.Contains(e.logs.String(), `"reason":"budget"`) {
		t.Errorf("pacing waits were not logged: %s", e.logs)
	}
}

func TestThrottledItemWaitsOutFractionalRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil)
	e.srv.Throttle(1, 2128*time.Millisecond)
	if _, err := e.c.User(e.ctx, alexID); err != nil {
		t.Fatal(err)
	}
	reqs := e.srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want the batch and one retry", len(reqs))
	}
	var throttled graphtest.Item
	for _, it := range reqs[0].Items {
		if it.Status == 429 {
			throttled = it
		}
	}
	if throttled.URL == "" {
		t.Fatal("no item was throttled")
	}
	if len(reqs[1].Items) != 1 || reqs[1].Items[0].URL != throttled.URL {
		t.Errorf("retry carried %+v, want only the throttled item %s", reqs[1].Items, throttled.URL)
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < 2128*time.Millisecond {
		t.Errorf("retried after %s, Retry-After was 2.128 s", gap)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"reason":"429 Retry-After"`) || !strings.Contains(logs, `"wait":2128`) {
		t.Errorf("retry not logged with its reason and wait: %s", logs)
	}
}

func TestUnavailableBatchBacksOffExponentially(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil)
	e.srv.Fail(2, 503, 0)
	if _, err := e.c.User(e.ctx, alexID); err != nil {
		t.Fatal(err)
	}
	// The failed tries count against the budget (Graph may have counted
	// them), so the last item may need a batch of its own.
	reqs := e.srv.Requests()
	if len(reqs) < 3 || reqs[0].Status != 503 || reqs[1].Status != 503 || reqs[2].Status != 200 {
		t.Fatalf("requests %+v, want 503, 503, 200", reqs)
	}
	// Back-off before try n+1 lies in [2^(n-1)/2, 2^(n-1)] seconds.
	g1, g2 := reqs[1].Time.Sub(reqs[0].Time), reqs[2].Time.Sub(reqs[1].Time)
	if g1 < 500*time.Millisecond || g1 > time.Second || g2 < time.Second || g2 > 2*time.Second {
		t.Errorf("back-off gaps %s, %s", g1, g2)
	}
	if n := strings.Count(e.logs.String(), `"reason":"503 back-off"`); n < 2 {
		t.Errorf("%d logged 503 retries, want one per item per try", n)
	}
}

func TestUnauthorizedFailsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil)
	e.srv.Fail(1, 401, 0)
	_, err := e.c.User(e.ctx, alexID)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized (InvalidAuthenticationToken)") {
		t.Fatalf("err = %v, want the 401", err)
	}
	if n := len(e.srv.Requests()); n != 1 {
		t.Errorf("%d requests, want no retry of a 401", n)
	}
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), func(c *graph.Config) { c.Token = "stale" })
	if _, err := e.c.User(e.ctx, alexID); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want 401", err)
	}
}

func TestRetryNeverOutlastsTheDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil)
	e.srv.Throttle(4, 30*time.Second)
	ctx, cancel := context.WithDeadline(e.ctx, e.clk.Now().Add(5*time.Second))
	defer cancel()
	start := e.clk.Now()
	_, err := e.c.User(ctx, alexID)
	if !errors.Is(err, model.ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
	if n := len(e.srv.Requests()); n != 1 {
		t.Errorf("%d requests, want none after the 429", n)
	}
	if waited := e.clk.Now().Sub(start); waited > 0 {
		t.Errorf("waited %s although the wait could not finish in time", waited)
	}
}

func TestMembershipsAndMethodsFollowNextLink(t *testing.T) {
	t.Parallel()
	dir := loadDir(t, "testdata/directory.json")
	e := newEnv(t, dir, nil, graphtest.WithListPageSize(1))
	u, err := e.c.User(e.ctx, "0cadbf92-5f1e-4d0c-9a2f-3a6e2b7c1d01")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := dir.FindUser(u.ID)
	if !reflect.DeepEqual(u.Methods, want.Methods) || !reflect.DeepEqual(u.Roles, want.Roles) {
		t.Errorf("paged reads lost data: %v %v", u.Roles, len(u.Methods))
	}
	if n := batchCount(e.srv); n != 2 {
		t.Errorf("%d batches, want 2 (second pages ride together)", n)
	}
}

func TestMissingRolePermissionFailsLoudly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil, graphtest.WithLimitedRoleInfo())
	_, err := e.c.User(e.ctx, alexID)
	if err == nil || !strings.Contains(err.Error(), "RoleManagement.Read.Directory") {
		t.Fatalf("err = %v, want advice to grant RoleManagement.Read.Directory", err)
	}
}

func TestRegistrationDetailsFollowsNextLinkWhole(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(7, 3)
	e := newEnv(t, dir, nil, graphtest.WithReportPageSize(3))
	var got []string
	err := e.c.RegistrationDetails(e.ctx, func(d graph.RegistrationDetail) error {
		got = append(got, d.ID)
		if d.LastUpdated.IsZero() || d.UserPrincipalName == "" {
			t.Errorf("row %+v lacks fields", d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range dir.Users {
		want = append(want, u.ID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	reqs := e.srv.Requests()
	if len(reqs) != 3 || !strings.HasSuffix(reqs[2].Items[0].URL, "?$skiptoken=6") {
		t.Errorf("requests %+v, want 3 pages, the last from the nextLink", reqs)
	}
	stop := errors.New("stop")
	if err := e.c.RegistrationDetails(e.ctx, func(graph.RegistrationDetail) error { return stop }); err != stop {
		t.Errorf("callback error %v not returned as is", err)
	}
}

func TestSweepReadsOnlyChangedUsers(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(60, 11)
	e := newEnv(t, dir, nil, graphtest.WithReportPageSize(25))
	first, err := e.c.Sweep(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Changed) != 60 || first.Unchanged != 0 {
		t.Fatalf("first sweep changed %d, want all 60", len(first.Changed))
	}
	e.clk.Advance(time.Hour)
	changed := dir.Users[5]
	changed.Methods = changed.Methods[:len(changed.Methods)-1]
	e.srv.SetUser(changed)
	gone := dir.Users[9].ID
	e.srv.DeleteUser(gone)
	before := len(e.srv.Requests())

	second, err := e.c.Sweep(e.ctx, first.View)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Changed) != 1 || second.Changed[0].ID != changed.ID || len(second.Changed[0].Methods) != len(changed.Methods) {
		t.Errorf("changed = %+v, want only user 5, re-read", second.Changed)
	}
	if !reflect.DeepEqual(second.Removed, []string{gone}) || second.Unchanged != 58 {
		t.Errorf("removed %v unchanged %d", second.Removed, second.Unchanged)
	}
	if n := len(e.srv.Requests()) - before; n != 4 {
		t.Errorf("second sweep sent %d requests, want 3 report pages and 1 batch", n)
	}
}

func TestSendMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), func(c *graph.Config) { c.Sender = "AllanD@Contoso.com" })
	e.srv.Throttle(1, time.Second)
	err := e.c.SendMail(e.ctx, "", graph.Mail{To: []string{"AlexW@Contoso.com"}, Subject: "Add a second way to sign in", Text: "plain", HTML: "<p>rich</p>"})
	if err != nil {
		t.Fatal(err)
	}
	mail := e.srv.Mail()
	if len(mail) != 1 || mail[0].From != "AllanD@Contoso.com" || !mail[0].HTML() || mail[0].Content != "<p>rich</p>" || mail[0].To[0] != "AlexW@Contoso.com" {
		t.Errorf("mail = %+v", mail)
	}
	if n := len(e.srv.Requests()); n != 2 {
		t.Errorf("%d requests, want the 429 and the retry", n)
	}
	if err := e.c.SendMail(e.ctx, "", graph.Mail{Subject: "x", Text: "y"}); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("no recipient: err = %v", err)
	}
	e.srv.Fail(1, 504, 0)
	if err := e.c.SendMail(e.ctx, "", graph.Mail{To: []string{"a@b.c"}, Text: "y"}); err == nil || !strings.Contains(err.Error(), "504") {
		t.Errorf("504: err = %v, want it reported, not retried", err)
	}
	if strings.Contains(e.logs.String(), "@") {
		t.Errorf("an address reached the logs: %s", e.logs)
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, loadDir(t, "testdata/directory.json"), nil)
	e.srv.Throttle(2, time.Second)
	e.srv.Fail(1, 503, 0)
	if _, err := e.c.Users(e.ctx, []string{"AlexW@Contoso.com", allanID}); err != nil {
		t.Fatal(err)
	}
	logs := e.logs.String()
	for _, pii := range []string{"@", "+1 206", "Contoso", "Kim", testToken} {
		if strings.Contains(logs, pii) {
			t.Errorf("logs contain %q: %s", pii, logs)
		}
	}
	if !strings.Contains(logs, "graph: retrying") {
		t.Errorf("retries were not logged: %s", logs)
	}
}

func TestSendMailErrorsCarryNoAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		baseURL string
	}{
		// Nothing listens on port 1: the request fails before any response.
		{"connection-refused-names-no-sender", "http://127.0.0.1:1/v1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil, func(c *graph.Config) { c.BaseURL, c.Sender = tt.baseURL, "AllanD@Contoso.com" })
			err := e.c.SendMail(e.ctx, "", graph.Mail{To: []string{"AlexW@Contoso.com"}, Text: "y"})
			if err == nil {
				t.Fatal("no error")
			}
			if msg := strings.ToLower(err.Error()); strings.Contains(msg, "allan") || strings.Contains(msg, "alexw") {
				t.Errorf("the error carries an address: %v", err)
			}
		})
	}
}

// The profile read says who is a guest and whose account is disabled: the
// policy leaves them alone unless it includes them.
func TestUserTypeAndAccountEnabledAreRead(t *testing.T) {
	t.Parallel()
	dir := loadDir(t, "testdata/directory.json")
	u, _ := dir.FindUser(alexID)
	off := false
	u.UserType, u.AccountEnabled = "Guest", &off
	e := newEnv(t, dir, nil)
	got, err := e.c.User(e.ctx, alexID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserType != "Guest" || !got.Guest() || !got.Disabled() {
		t.Errorf("userType %q accountEnabled %v, want a disabled guest", got.UserType, got.AccountEnabled)
	}
	other, err := e.c.User(e.ctx, allanID)
	if err != nil {
		t.Fatal(err)
	}
	if other.UserType != "Member" || other.Guest() || other.Disabled() {
		t.Errorf("userType %q accountEnabled %v, want an enabled member", other.UserType, other.AccountEnabled)
	}
}
