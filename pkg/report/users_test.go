package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// registrationSample is the sample tenant with the registration report's
// fields on a few users, each of them told or not, and an export time.
func registrationSample(t testing.TB) *model.Directory {
	t.Helper()
	d := loadSample(t)
	yes, no := true, false
	d.ExportedAt = time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)
	d.Users[0].UserType = "Member"
	d.Users[0].Registration = &model.RegistrationDetails{IsSsprRegistered: &yes,
		UserPreferredMethodForSecondaryAuthentication: "push", SystemPreferredAuthenticationMethods: []string{"push"},
		IsSystemPreferredAuthenticationMethodEnabled: &yes}
	d.Users[1].UserType = "guest"
	d.Users[1].Registration = &model.RegistrationDetails{IsSsprRegistered: &no,
		UserPreferredMethodForSecondaryAuthentication: "none", SystemPreferredAuthenticationMethods: []string{},
		IsSystemPreferredAuthenticationMethodEnabled: &no}
	// Told about SSPR only: the rest stays unknown.
	d.Users[2].Registration = &model.RegistrationDetails{IsSsprRegistered: &no}
	d.Users[3].EligibleRoles = []string{"Global Administrator"}
	return d
}

func TestUserRows(t *testing.T) {
	t.Parallel()
	d := registrationSample(t)
	r := Build(d, rules.New(nil))
	if len(r.Users) != len(d.Users) || !r.ExportedAt.Equal(d.ExportedAt) {
		t.Fatalf("%d rows for %d users, exportedAt %v", len(r.Users), len(d.Users), r.ExportedAt)
	}
	u0, u1, u2, u3 := r.Users[0], r.Users[1], r.Users[2], r.Users[3]
	if u0.ID != d.Users[0].ID || u0.UserType != "member" || u0.DefaultMethod != "push" || !*u0.SSPRRegistered || !*u0.SystemPreferredEnabled {
		t.Errorf("row 0 %+v", u0)
	}
	if u1.UserType != "guest" || u1.Excluded != model.ExcludedGuest || *u1.SSPRRegistered || u1.SystemPreferredMethods == nil {
		t.Errorf("row 1 %+v", u1)
	}
	if u2.UserType != "" || u2.SSPRRegistered == nil || *u2.SSPRRegistered || u2.DefaultMethod != "" || u2.SystemPreferredMethods != nil || u2.SystemPreferredEnabled != nil {
		t.Errorf("row 2 %+v", u2)
	}
	if !u3.Admin || u3.SSPRRegistered != nil {
		t.Errorf("row 3: a PIM-eligible administrator is an admin, and SSPR unknown: %+v", u3)
	}
	// The rows agree with the assessments.
	e := rules.New(nil)
	for i := range d.Users {
		as := e.Evaluate(d.Tenant, &d.Users[i])
		row := r.Users[i]
		if row.Tier != as.Tier || row.Diversity != as.Diversity || row.Compliant != as.Compliant ||
			row.Passwordless != as.Passwordless || row.PhishingResistant != as.PhishingResistant || row.Admin != d.Users[i].Admin() {
			t.Errorf("%s: row %+v, assessment %+v", row.UserPrincipalName, row, as)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	t.Parallel()
	d := registrationSample(t)
	d.Users[4].DisplayName = "=HYPERLINK(\"http://evil.example\",\"x\")"
	d.Users[5].DisplayName = "+1, \"the\" boss\nsecond line"
	d.Users[6].DisplayName = "@SUM(A1)"
	d.Users[7].DisplayName = "-2"
	r := Build(d, rules.New(nil))
	r.GeneratedAt = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, strings.Join(CSVColumns, ",")+"\r\n") || strings.Count(out, "\r\n") < len(d.Users)+1 {
		t.Errorf("not a header and CRLF lines:\n%.300q", out)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(d.Users)+1 {
		t.Fatalf("%d records for %d users", len(recs), len(d.Users))
	}
	col := map[string]int{}
	for i, c := range recs[0] {
		col[c] = i
	}
	get := func(i int, c string) string { return recs[i+1][col[c]] }
	for i, want := range map[int]string{
		4: "'=HYPERLINK(\"http://evil.example\",\"x\")",
		5: "'+1, \"the\" boss\nsecond line",
		6: "'@SUM(A1)",
		7: "'-2",
	} {
		if got := get(i, "displayName"); got != want {
			t.Errorf("displayName of row %d: %q, want %q", i, got, want)
		}
	}
	for _, c := range []struct {
		row       int
		col, want string
	}{
		{0, "userType", "member"}, {0, "ssprRegistered", "true"}, {0, "defaultMethod", "push"},
		{0, "systemPreferredMethods", "push"}, {0, "systemPreferredEnabled", "true"},
		{1, "userType", "guest"}, {1, "ssprRegistered", "false"}, {1, "excluded", "guest"},
		{1, "defaultMethod", "none"}, {1, "systemPreferredMethods", ""},
		{2, "ssprRegistered", "false"}, {2, "defaultMethod", Unknown}, {2, "systemPreferredEnabled", Unknown},
		{2, "userType", Unknown}, {3, "ssprRegistered", Unknown}, {3, "admin", "true"},
		{0, "exportedAt", "2026-12-01T08:30:00Z"}, {0, "generatedAt", "2026-12-07T12:00:00Z"},
		{0, "methods", "password;microsoft-authenticator;mobile-phone"}, {0, "id", d.Users[0].ID},
	} {
		if got := get(c.row, c.col); got != c.want {
			t.Errorf("row %d %s: %q, want %q", c.row, c.col, got, c.want)
		}
	}
}

func TestDefuse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "a=b": "a=b", "=1": "'=1", "+1": "'+1", "-1": "'-1", "@x": "'@x",
		"\tx": "'\tx", "\rx": "'\rx", "'x": "'x", "é=": "é="} {
		if got := defuse(in); got != want {
			t.Errorf("defuse(%q) = %q, want %q", in, got, want)
		}
	}
}

// The JSON report carries the times and the rows, unknowns as null, and
// says the same as encoding/json.
func TestWriteJSONRegistration(t *testing.T) {
	t.Parallel()
	r := Build(registrationSample(t), rules.New(nil))
	r.GeneratedAt = time.Date(2026, 12, 7, 12, 0, 0, 5, time.UTC)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"{\n  \"generatedAt\": \"2026-12-07T12:00:00.000000005Z\",\n  \"exportedAt\": \"2026-12-01T08:30:00Z\",\n  \"tenant\"",
		`"userType": "", "accountEnabled": null, "admin": true`,
		`"defaultMethod": "", "systemPreferredMethods": null, "systemPreferredEnabled": null, "ssprRegistered": false}`,
		`"systemPreferredMethods": [], "systemPreferredEnabled": false, "ssprRegistered": false}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(out, "\n    {\"id\": "); n != len(r.Users) {
		t.Errorf("%d one-line rows for %d users", n, len(r.Users))
	}
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got, exp any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("WriteJSON differs from encoding/json")
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("the report does not survive a round trip")
	}
}

func TestHTMLRegistrationAndTimes(t *testing.T) {
	t.Parallel()
	d := registrationSample(t)
	r := Build(d, rules.New(nil))
	r.GeneratedAt = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	others := len(d.Users) - 3
	for _, want := range []string{
		`Snapshot exported <time datetime="2026-12-01T08:30:00Z">2026-12-01T08:30:00Z</time> · report generated <time datetime="2026-12-07T12:00:00Z">`,
		`<tr><th scope="row">Registered for self-service password reset</th><td class="n">1</td><td class="n">2</td><td class="n">` + num(others) + `</td></tr>`,
		`<tr><td>push</td><td class="n">1</td></tr>`,
		`1 members · 1 guests · ` + num(len(d.Users)-2) + ` of unknown user type`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	d.ExportedAt = time.Time{}
	buf.Reset()
	if err := Build(d, rules.New(nil)).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Snapshot exported <time>at an unknown time") {
		t.Errorf("an unknown export time is not said")
	}
}
