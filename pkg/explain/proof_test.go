package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

var proofNow = day("2026-12-01")

func judged(u *model.User, window time.Duration) *model.Assessment {
	p := rules.DefaultPolicy()
	for i := range p.Tiers {
		p.Tiers[i].ProofWindow = rules.Duration(window)
	}
	a := rules.New(p).At(proofNow).Evaluate(model.Tenant{PasswordAuth: model.PasswordCloud}, u)
	return &a
}

func proofUser() *model.User {
	return &model.User{ID: "u", UserPrincipalName: "u@contoso.example", Methods: []model.Method{
		{ID: "pw", Kind: model.KindPassword},
		{ID: "app", Kind: model.KindAuthenticator, DisplayName: "iPhone 15"},
		{ID: "k1", Kind: model.KindFIDO2, DisplayName: "Key A"},
		{ID: "k2", Kind: model.KindFIDO2, DisplayName: "Key B"},
		{ID: "hello", Kind: model.KindWindowsHello, DisplayName: "LT-01"},
	}}
}

func TestUsageSaysWhatIsProvenAndWhen(t *testing.T) {
	t.Parallel()
	u := proofUser()
	u.Usage = []model.MethodUsage{
		{Kind: model.KindAuthenticator, Instance: "iPhone 15", LastUsed: day("2026-11-30")},
		{Kind: model.KindFIDO2, Instance: "Key A", LastUsed: day("2026-10-01"), LastFailed: day("2026-11-02")},
		{Kind: model.KindFIDO2, LastUsed: day("2026-11-20")}, // which key, the log does not say
		{Kind: model.KindWindowsHello, Instance: "LT-01", LastUsed: day("2025-01-05")},
		{Kind: model.KindMobilePhone, Instance: "55\x1b[2J", LastUsed: day("2026-06-01")}, // no phone registered
	}
	text := strings.Join(Usage(u, judged(u, 180*24*time.Hour), true), "\n")
	for _, want := range []string{
		`Proven by the sign-in logs (worked within the proof window): Microsoft Authenticator "iPhone 15": last used on 2026-11-30.`,
		`FIDO2 security key "Key A": failed on 2026-11-02, last worked on 2026-10-01`,
		`FIDO2 security key "Key B": never used`,
		`Windows Hello for Business "LT-01": last worked on 2025-01-05, before the proof window`,
		"exist only through unproven methods",
		"belong to no registered method",
		"FIDO2 security key (the log names none): last used on 2026-11-20",
		"mobile phone ending in 55",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, text)
		}
	}
	if strings.ContainsRune(text, '\x1b') {
		t.Errorf("a control character from the logs reaches the text:\n%q", text)
	}
}

func TestUsageOfAUserTheLogsNeverShowed(t *testing.T) {
	t.Parallel()
	u := proofUser()
	a := judged(u, 180*24*time.Hour)
	if got := Usage(u, a, false); got != nil {
		t.Errorf("without any usage read, nothing is said; got %q", got)
	}
	got := strings.Join(Usage(u, a, true), "\n")
	if !strings.Contains(got, "never show this user, so their paths are not judged") {
		t.Errorf("got %q", got)
	}
}

func TestUsageWithoutAProofWindowGivesNoVerdict(t *testing.T) {
	t.Parallel()
	u := proofUser()
	u.Usage = []model.MethodUsage{{Kind: model.KindAuthenticator, Instance: "iPhone 15", LastUsed: day("2026-11-30")}}
	a := rules.New(nil).Evaluate(model.Tenant{PasswordAuth: model.PasswordCloud}, u)
	text := strings.Join(Usage(u, &a, true), "\n")
	if !strings.Contains(text, `not judged (no proof window applies to the user): Microsoft Authenticator "iPhone 15": last used on 2026-11-30; FIDO2 security key "Key A": never used`) ||
		strings.Contains(text, "Proven") || strings.Contains(text, "password") {
		t.Errorf("got:\n%s", text)
	}
}

func TestUsageWhenEveryPathIsProven(t *testing.T) {
	t.Parallel()
	u := &model.User{ID: "u", Methods: []model.Method{{ID: "pw", Kind: model.KindPassword}, {ID: "app", Kind: model.KindAuthenticator, DisplayName: "iPhone 15"}}}
	u.Usage = []model.MethodUsage{{Kind: model.KindAuthenticator, Instance: "iPhone 8", LastUsed: day("2026-11-30")}}
	text := strings.Join(Usage(u, judged(u, 90*24*time.Hour), true), "\n")
	// A use under another name belongs to the user's only Authenticator.
	if !strings.Contains(text, "last used on 2026-11-30") || strings.Contains(text, "belong to no registered method") ||
		!strings.Contains(text, "sign-in path") || strings.Contains(text, "Unproven") {
		t.Errorf("got:\n%s", text)
	}
}
