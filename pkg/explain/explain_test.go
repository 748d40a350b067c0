package explain

import (
	"strings"
	"testing"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

func TestSentencesMaskPersonalData(t *testing.T) {
	t.Parallel()
	phone, _ := graphjson.DecodeMethod([]byte(`{"@odata.type":"#microsoft.graph.phoneAuthenticationMethod","id":"p1","phoneNumber":"+1 2065550123","phoneType":"mobile"}`))
	mail, _ := graphjson.DecodeMethod([]byte(`{"@odata.type":"#microsoft.graph.emailAuthenticationMethod","id":"e1","emailAddress":"adele@fabrikam.example"}`))
	u := &model.User{ID: "u", UserPrincipalName: "u@contoso.example", Methods: []model.Method{phone, mail}}
	a := &model.Assessment{Tier: "standard", MinDiversity: 2, Diversity: 1, Paths: [][]string{{"mobile-device", "phone-carrier"}},
		SPOFs: []string{"mobile-device", "phone-carrier"}, Violations: []model.Violation{"below-min-diversity", "single-point-of-failure:phone-carrier", "telephony-only"}}
	text := strings.Join(Sentences(u, a), "\n")
	for _, secret := range []string{"2065550123", "206555", "adele@"} {
		if strings.Contains(text, secret) {
			t.Errorf("explanation leaks %q:\n%s", secret, text)
		}
	}
	for _, want := range []string{"+1 ••• ••• 0123", "a•••@fabrikam.example", "phone network", "Single point of failure: the user's primary phone."} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
}

func TestDependencyNamesEveryKind(t *testing.T) {
	t.Parallel()
	for _, kind := range model.DependencyKinds {
		if got := Dependency(nil, kind); got == kind || got == "" {
			t.Errorf("Dependency(%q) = %q: no human name", kind, got)
		}
	}
}

func TestSentencesSayWhatWasCountedOnce(t *testing.T) {
	t.Parallel()
	auth := func(id, created string) model.Method {
		m, err := graphjson.DecodeMethod([]byte(`{"@odata.type":"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod","id":"` + id +
			`","displayName":"iPhone 15","deviceTag":"SoftwareTokenActivated","createdDateTime":"` + created + `T00:00:00Z"}`))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	key, _ := graphjson.DecodeMethod([]byte(`{"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"k1","displayName":"YubiKey 5"}`))
	u := &model.User{ID: "u", UserPrincipalName: "u@contoso.example", Methods: []model.Method{auth("a1", "2022-01-01"), auth("a2", "2024-01-01"), key, key}}
	a := &model.Assessment{Tier: "standard", MinDiversity: 2, Diversity: 2, Compliant: true, Paths: [][]string{{"mobile-device"}, {"security-key/k1"}},
		Warnings: []model.MethodWarning{
			{ID: "a2", Kind: model.KindAuthenticator, SameAs: "a1", Reason: model.WarnReRegistration},
			{ID: "k1", Kind: model.KindFIDO2, SameAs: "k1", Reason: model.WarnDuplicateID},
		}}
	text := strings.Join(Sentences(u, a), "\n")
	for _, want := range []string{
		`Counted as one phone: Microsoft Authenticator "iPhone 15" (a2) has the same device name and device tag as registration a1`,
		`Counted once: FIDO2 security key "YubiKey 5" is listed twice with the same id (k1).`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
}
