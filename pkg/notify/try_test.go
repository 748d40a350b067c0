package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

func TestRenderTryNudge(t *testing.T) {
	t.Parallel()
	r, err := NewRenderer(rules.NudgePolicy{Contact: "the IT Service Desk"}, "")
	if err != nil {
		t.Fatal(err)
	}
	march := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	dm := model.DecisionMessage{
		Decision: model.Decision{Kind: model.DecisionNudge, UserID: "u", Try: []string{"key", "hello", "auth"}},
		User:     model.UserSummary{ID: "u", DisplayName: "Joni Sherman"},
		Assessment: model.Assessment{Compliant: true, RestsOnUnproven: true, Proof: []model.MethodProof{
			{ID: "phone", Kind: model.KindMobilePhone, Proof: model.ProofWorking, LastUsed: march},
			{ID: "key", Kind: model.KindFIDO2, Name: "Blue key", Proof: model.ProofStale, LastUsed: march},
			{ID: "hello", Kind: model.KindWindowsHello, Name: "CONTOSO-LT-0412", Proof: model.ProofNone},
			{ID: "auth", Kind: model.KindAuthenticator, Name: "iPhone 13", Proof: model.ProofFailing, LastUsed: march, LastFailed: march.AddDate(0, 1, 0)},
		}},
	}
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{"en", []string{
			"Check that your sign-in methods still work",
			`You have not used your security key "Blue key" since March 2026: check that it still works`,
			`You have not signed in with Windows Hello on your PC "CONTOSO-LT-0412" yet`,
			`The last time you used the Microsoft Authenticator app "iPhone 13", it did not work (it last worked in March 2026)`,
			"Contact the IT Service Desk.",
		}},
		{"de", []string{
			"Prüfen Sie, ob Ihre Anmeldemethoden noch funktionieren",
			"Ihr Sicherheitsschlüssel „Blue key“: seit 03/2026 nicht verwendet",
			"Windows Hello auf Ihrem PC „CONTOSO-LT-0412“: noch nie zur Anmeldung verwendet",
			"Die Microsoft Authenticator-App „iPhone 13“: hat bei der letzten Verwendung nicht funktioniert (zuletzt erfolgreich 03/2026)",
		}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			dm := dm
			dm.User.PreferredLanguage = tc.lang
			got, err := r.RenderNudge(dm)
			if err != nil {
				t.Fatal(err)
			}
			all := got.Subject + "\n" + got.Text
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in\n%s", w, all)
				}
			}
			if strings.Count(got.HTML, "<li>") != 3 || strings.Contains(all, "phone") && tc.lang == "en" && strings.Contains(all, "mobile phone") {
				t.Errorf("html %s", got.HTML)
			}
		})
	}
}
