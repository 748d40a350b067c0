package notify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// method builds a Graph method object from a short spec.
func method(t *testing.T, spec string) model.Method {
	t.Helper()
	kind, id, _ := strings.Cut(spec, ":")
	if id == "" {
		id = kind
	}
	obj := map[string]any{"id": id}
	switch kind {
	case "password":
		obj["@odata.type"] = model.GraphPassword
	case "mobile", "office":
		obj["@odata.type"] = model.GraphPhone
		obj["phoneType"] = kind
		obj["phoneNumber"] = "+1 2065550147"
	case "auth":
		obj["@odata.type"] = model.GraphAuthenticator
		obj["displayName"] = "iPhone"
	case "fido2":
		obj["@odata.type"] = model.GraphFIDO2
		obj["displayName"] = "Blue key"
	case "whfb":
		obj["@odata.type"] = model.GraphWindowsHello
		obj["displayName"] = "LAPTOP-7"
	case "mac":
		obj["@odata.type"] = model.GraphPlatformCredential
		obj["displayName"] = "MacBook"
	case "hw":
		obj["@odata.type"] = model.GraphHardwareOath
		obj["device"] = map[string]any{"serialNumber": "TOTP000147"}
	default:
		t.Fatalf("spec %q", spec)
	}
	raw, _ := json.Marshal(obj)
	m, err := graphjson.DecodeMethod(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type scenario struct {
	name     string
	roles    []string
	synced   bool
	specs    []string
	reminder bool
	devices  []model.Device // nil: not known
	// passkeysOff: the tenant's authentication methods policy turns
	// passkeys (FIDO2) off.
	passkeysOff bool
}

// Every violation kind a user can be nudged about.
var nudgeScenarios = []scenario{
	{"spof-mobile-device", nil, false, []string{"password", "auth", "mobile"}, false, nil, false},
	{"telephony-only", nil, false, []string{"password", "mobile", "office"}, false, nil, false},
	{"spof-security-key", nil, false, []string{"fido2:k1"}, false, nil, false},
	{"spof-windows-device", nil, false, []string{"whfb:w1"}, false, nil, false},
	{"spof-mac-device", nil, false, []string{"mac:m1"}, false, nil, false},
	{"spof-hardware-token", nil, false, []string{"password", "hw:h1"}, false, nil, false},
	{"no-phishing-resistant-method", []string{"Global Administrator"}, false, []string{"password", "auth", "office"}, false, nil, false},
	{"reminder", nil, false, []string{"password", "auth", "mobile"}, true, nil, false},
	{"hybrid-user-side-only", nil, true, []string{"password", "mobile"}, false, nil, false},
	// What advice does with the user's devices (docs/POLICY.md,
	// "Recommendations and devices"); spof-mobile-device is the user
	// whose devices are not known.
	{"windows-pc-without-windows-hello", nil, false, []string{"password", "auth", "mobile"}, false, []model.Device{iPhone, laptop}, false},
	{"only-windows-pc-has-windows-hello", []string{"Global Administrator"}, false, []string{"password", "whfb:w1"}, false, []model.Device{laptop, iPhone}, false},
	{"mac", nil, false, []string{"password", "auth", "mobile"}, false, []model.Device{macBook, iPhone}, false},
	{"no-windows-pc", nil, false, []string{"password", "auth", "mobile"}, false, []model.Device{iPhone}, false},
	{"devices-unknown-windows-hello-on-one-pc", []string{"Global Administrator"}, false, []string{"password", "whfb:w1"}, false, nil, false},
	{"devices-unknown-tenant-turns-passkeys-off", nil, false, []string{"password", "auth", "mobile"}, false, nil, true},
}

// The devices of the device scenarios; Windows Hello "whfb" is on LAPTOP-7.
var (
	laptop  = model.Device{ID: "d1", DisplayName: "LAPTOP-7", OperatingSystem: "Windows", TrustType: "AzureAd", Registered: true}
	macBook = model.Device{ID: "d2", DisplayName: "Pat's MacBook Air", OperatingSystem: "MacMDM", TrustType: "Workplace", Registered: true}
	iPhone  = model.Device{ID: "d3", DisplayName: "iPhone", OperatingSystem: "iOS", TrustType: "Workplace", Registered: true}
)

var nudgePolicy = []byte(`
tiers:
  - name: privileged
    match: {roles: [Global Administrator]}
    minDiversity: 2
    requirePhishingResistant: true
    onViolation: nudge
  - name: standard
    match: {all: true}
    minDiversity: 2
    accept: [entra-mfa]
    requireNonTelephony: true
nudges:
  contact: the IT Service Desk (extension 4357)
`)

func decisionFor(t *testing.T, e *rules.Engine, sc scenario, lang string) model.DecisionMessage {
	t.Helper()
	u := &model.User{ID: "u-" + sc.name, UserPrincipalName: "pat.doe@contoso.example", DisplayName: "Pat Doe",
		Mail: "pat.doe@contoso.example", PreferredLanguage: lang, Roles: sc.roles, OnPremisesSyncEnabled: sc.synced, Devices: sc.devices}
	for _, s := range sc.specs {
		u.Methods = append(u.Methods, method(t, s))
	}
	tenant := model.Tenant{ID: "t", PasswordAuth: model.PasswordFederated}
	if sc.passkeysOff {
		tenant.AuthMethodsPolicy = &model.AuthMethodsPolicy{}
		err := json.Unmarshal([]byte(`{"policyMigrationState":"migrationComplete","authenticationMethodConfigurations":[
			{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","id":"Fido2","state":"disabled"}]}`), tenant.AuthMethodsPolicy)
		if err != nil {
			t.Fatal(err)
		}
	}
	a := e.Evaluate(tenant, u)
	d := model.Decision{Kind: model.DecisionNudge, UserID: u.ID, Violations: a.Violations, Reminder: sc.reminder, Channel: "email"}
	var methods []model.MethodNote
	for _, m := range u.Methods {
		methods = append(methods, model.NoteOf(m))
	}
	return model.DecisionMessage{ID: "d-" + sc.name, Decision: d, Assessment: a, Time: time.Unix(0, 0).UTC(),
		User: model.UserSummary{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName, Mail: u.Mail, PreferredLanguage: lang, Methods: methods}}
}

func TestNudgeGolden(t *testing.T) {
	p, err := rules.ParsePolicy(nudgePolicy)
	if err != nil {
		t.Fatal(err)
	}
	e := rules.New(p)
	r, err := NewRenderer(p.Nudges, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Languages(), ","); got != "de,en" {
		t.Errorf("languages = %s", got)
	}
	for _, lang := range []string{"en-US", "de-DE"} {
		for _, sc := range nudgeScenarios {
			t.Run(lang+"/"+sc.name, func(t *testing.T) {
				n, err := r.RenderNudge(decisionFor(t, e, sc, lang))
				if err != nil {
					t.Fatal(err)
				}
				for _, leak := range []string{"2065550147", "pat.doe@", "on-premises", "sign-in servers", "Anmeldeserver"} {
					if strings.Contains(n.Text+n.HTML, leak) {
						t.Errorf("nudge mentions %q", leak)
					}
				}
				if !strings.Contains(n.Text, "https://mysignins.microsoft.com/security-info") || !strings.Contains(n.HTML, `href="https://mysignins.microsoft.com/security-info"`) {
					t.Errorf("no security-info link")
				}
				golden.Assert(t, filepath.Join("testdata", fmt.Sprintf("nudge/%s.%s.txt", sc.name, n.Language)), "Subject: "+n.Subject+"\n\n"+n.Text)
				golden.Assert(t, filepath.Join("testdata", fmt.Sprintf("nudge/%s.%s.html", sc.name, n.Language)), n.HTML)
			})
		}
	}
}

func TestLanguageChoice(t *testing.T) {
	r, err := NewRenderer(rules.NudgePolicy{Language: "de"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"en-GB": "en", "de-AT": "de", "fr-FR": "de", "": "de", "EN": "en"} {
		if got := r.Language(in); got != want {
			t.Errorf("Language(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := NewRenderer(rules.NudgePolicy{Language: "xx"}, ""); err == nil {
		t.Errorf("a policy language without templates was accepted")
	}
}

func TestTemplateOverrides(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nudge.fr.txt"), []byte(`{{define "subject"}}Ajoutez une méthode{{end}}{{define "text"}}Bonjour {{.Name}} : {{.Action}}. {{.Link}}{{end}}{{define "risk-sentence"}}{{join .Risks ", "}}{{end}}{{define "action.windows-hello"}}configurez Windows Hello{{end}}{{define "and"}} et {{end}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "nudge.fr.html"), []byte(`<p>{{.Name}}</p>`), 0o644)
	r, err := NewRenderer(rules.NudgePolicy{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	e := rules.New(nil)
	n, err := r.RenderNudge(decisionFor(t, e, nudgeScenarios[0], "fr-CA"))
	if err != nil {
		t.Fatal(err)
	}
	if n.Language != "fr" || !strings.Contains(n.Text, "Bonjour Pat : configurez Windows Hello.") {
		t.Errorf("override not used: %+v", n)
	}
	os.WriteFile(filepath.Join(dir, "nudge.fr.html"), []byte(`{{.Broken`), 0o644)
	if _, err := NewRenderer(rules.NudgePolicy{}, dir); err == nil || !strings.Contains(err.Error(), "nudge.fr.html") {
		t.Errorf("broken template: %v", err)
	}
}

func TestTicketGolden(t *testing.T) {
	e := rules.New(nil)
	r, err := NewRenderer(rules.NudgePolicy{}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		sc     scenario
		status string
		flags  func(*model.TicketRecord, *model.Decision)
	}{
		{"privileged-policy", scenario{"admin", []string{"Global Administrator"}, false, []string{"password", "mobile"}, false, nil, false}, "open", nil},
		{"no-mfa-path", scenario{"none", nil, false, []string{"password"}, false, nil, false}, "open", nil},
		{"escalated", scenario{"esc", nil, false, []string{"password", "auth", "mobile"}, false, nil, false}, "open", func(r *model.TicketRecord, d *model.Decision) {
			r.Escalated, d.Escalated, d.NudgesIgnored = true, true, 3
		}},
		{"tenant-side", scenario{"hybrid", nil, true, []string{"password", "auth", "hw:h1"}, false, nil, false}, "open", func(r *model.TicketRecord, d *model.Decision) {
			r.AdminOnly, d.AdminOnly = true, true
		}},
		{"resolved", scenario{"fixed", nil, false, []string{"password", "auth", "fido2:k1"}, false, nil, false}, "resolved", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dm := decisionFor(t, e, tc.sc, "en")
			dm.Decision.Kind = model.DecisionTicket
			rec := model.TicketRecord{TicketID: "CR-0123456789", Status: tc.status, Violations: dm.Assessment.Violations,
				Reasons: []string{"newly below policy"}}
			if tc.flags != nil {
				tc.flags(&rec, &dm.Decision)
			}
			out, err := r.RenderTicket(dm, rec)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.Description, "2065550147") {
				t.Errorf("phone number leaked")
			}
			golden.Assert(t, filepath.Join("testdata", "ticket", tc.name+".txt"), out.Title+"\n\n"+out.Description+"\n")
		})
	}
}

func TestDefaultContactSpeaksTheNudgesLanguage(t *testing.T) {
	p := rules.DefaultPolicy()
	r, err := NewRenderer(p.Nudges, "")
	if err != nil {
		t.Fatal(err)
	}
	e := rules.New(p)
	for _, tc := range []struct {
		name, lang, want, never string
	}{
		{"english-nudge-names-the-helpdesk-in-english", "en", "Contact your IT helpdesk.", "Ihren IT-Helpdesk"},
		{"german-nudge-names-the-helpdesk-in-german", "de", "Wenden Sie sich an Ihren IT-Helpdesk.", "your IT helpdesk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A key or token recommendation names the contact a second time.
			n, err := r.RenderNudge(decisionFor(t, e, scenario{"hybrid", nil, true, []string{"password", "mobile"}, false, nil, false}, tc.lang))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(n.Text, tc.want) {
				t.Errorf("text lacks %q:\n%s", tc.want, n.Text)
			}
			if strings.Contains(n.Text+n.HTML, tc.never) {
				t.Errorf("nudge in %s says %q:\n%s", tc.lang, tc.never, n.Text)
			}
		})
	}
}

func TestReminderSaysWhyForPhishingOnly(t *testing.T) {
	r, err := NewRenderer(rules.NudgePolicy{}, "")
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"en": "no phishing-resistant method", "de": "keine phishing-resistente Methode"} {
		dm := model.DecisionMessage{ID: "d", Decision: model.Decision{Kind: model.DecisionNudge, UserID: "u", Reminder: true},
			User:       model.UserSummary{ID: "u", DisplayName: "Pat Doe", PreferredLanguage: lang},
			Assessment: model.Assessment{Tier: "privileged", Diversity: 2, MinDiversity: 2, Violations: []model.Violation{model.ViolationNoPhishingResist}}}
		n, err := r.RenderNudge(dm)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(n.Text, want) || !strings.Contains(n.HTML, want) || strings.Contains(n.Text, "single") {
			t.Errorf("%s reminder:\n%s", lang, n.Text)
		}
	}
}

func TestFixedPhrasesAreTheTemplatesOwnWords(t *testing.T) {
	r, err := NewRenderer(rules.NudgePolicy{}, "")
	if err != nil {
		t.Fatal(err)
	}
	data := phraseData{nudgeData: nudgeData{Name: "Pat", Reminder: true, Phishing: true, Risks: []string{"x"}}, Device: "PC-1", Second: true}
	for lang, nt := range r.nudges {
		if len(nt.fixed) == 0 {
			t.Errorf("%s: no phrase is text alone", lang)
		}
		for name, want := range nt.fixed {
			var b strings.Builder
			if err := nt.text.ExecuteTemplate(&b, name, data); err != nil || b.String() != want {
				t.Errorf("%s %s: kept %q, executes to %q (%v)", lang, name, want, b.String(), err)
			}
		}
		for _, name := range []string{"subject", "text", "if"} {
			if _, ok := nt.fixed[name]; ok {
				t.Errorf("%s %s: a template with actions is kept as fixed", lang, name)
			}
		}
	}
}

func TestPhraseWithDataIsExecutedPerNudge(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nudge.fr.txt"), []byte(`{{define "subject"}}Ajoutez une méthode{{end}}{{define "text"}}{{.Action}}{{end}}{{define "risk-sentence"}}{{end}}{{define "action.windows-hello"}}{{.Name}}, configurez Windows Hello{{end}}{{define "and"}} et {{end}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "nudge.fr.html"), []byte(`<p>{{.Name}}</p>`), 0o644)
	r, err := NewRenderer(rules.NudgePolicy{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	e := rules.New(nil)
	for _, name := range []string{"Pat Doe", "Alex Roe"} {
		dm := decisionFor(t, e, nudgeScenarios[0], "fr")
		dm.User.DisplayName = name
		n, err := r.RenderNudge(dm)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(name, " ")
		if want := first + ", configurez Windows Hello"; n.Text != want {
			t.Errorf("text = %q, want %q", n.Text, want)
		}
	}
}
