package main

import (
	"os"
	"strings"
	"testing"
)

// Wording a new user trips over: explain never says only the tenant can
// fix what a user-side method also fixes; one dependency does not "fail
// together"; the report does not say "verified by federated"; explain and
// whatif do not suggest a --graph flag they do not have.
func TestWordingAsANewUserReadsIt(t *testing.T) {
	// Johanna: synchronised, federated without PHS, on-premises in every path.
	_, out, _ := credres(t, "", "explain", "--directory", sampleTenant, "--user", "johanna.lorenz@contoso.example")
	if strings.Contains(out, "Only the tenant can fix this") {
		t.Errorf("explain says only the tenant can fix what a FIDO2 key would also fix:\n%s", out)
	}
	if !strings.Contains(out, "FIDO2 security key") || !strings.Contains(out, "password hash sync") {
		t.Errorf("explain does not name both remedies:\n%s", out)
	}
	_, out, _ = credres(t, "", "whatif", "--directory", sampleTenant, "--down", "phone-carrier")
	if strings.Contains(out, "failed together") || !strings.Contains(out, "If phone-carrier failed,") {
		t.Errorf("whatif of one dependency:\n%s", out)
	}
	_, out, _ = credres(t, "", "whatif", "--directory", sampleTenant, "--down", "phone-carrier,mobile-device")
	if !strings.Contains(out, "failed together") {
		t.Errorf("whatif of two dependencies:\n%s", out)
	}
	for _, cmd := range []string{"explain", "whatif"} {
		_, _, errOut := credres(t, "", cmd, "--user", "x")
		if cmd == "whatif" {
			_, _, errOut = credres(t, "", cmd, "--down", "phone-carrier")
		}
		if strings.Contains(errOut, "or --graph") {
			t.Errorf("%s suggests --graph, which it does not have: %s", cmd, errOut)
		}
	}
	html := t.TempDir() + "/report.html"
	credres(t, "", "report", "--directory", sampleTenant, "--out", html)
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "verified by <strong>federated") || !strings.Contains(string(page), "verified by <strong>the federation service") {
		t.Error("the report says passwords are verified by federated")
	}
}
