package synth_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

func signInBodies(t *testing.T, d *model.Directory, s synth.SignInStream) [][]byte {
	t.Helper()
	g, err := synth.NewSignIns(d, s)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		body, err := g.Body()
		if err != nil {
			t.Fatal(err)
		}
		if body == nil {
			return out
		}
		out = append(out, body)
	}
}

// A generated sign-in stream reads as Entra's: every record parses without
// error, the shares of the mix hold, every sign-in names a user of the
// tenant within the stream's span, every method it proves belongs to one
// of the user's registered methods (or is the one unknown value the
// tenant's QR code users log), and the same seed gives the same stream.
func TestSignInBodiesParse(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(2_000, 5)
	s := synth.SignInStream{Records: 20_000, PerBody: 50, Users: 1_000, Seed: 7, Span: 6 * time.Hour}
	bodies := signInBodies(t, d, s)
	if want := s.Records / s.PerBody; len(bodies) != want {
		t.Fatalf("%d bodies, want %d", len(bodies), want)
	}
	users := map[string]*model.User{}
	for i := range d.Users[:s.Users] {
		users[d.Users[i].ID] = &d.Users[i]
	}
	var records, signInRecords, interactive, failed, proven int
	skipped, unknown := map[string]int{}, map[string]int{}
	kinds := map[model.MethodKind]int{}
	for i, body := range bodies {
		b, err := entralog.Parse(body)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		records += b.Records
		signInRecords += b.SignInRecords
		for r, n := range b.Skipped {
			skipped[r] += n
		}
		for m, n := range b.Unknown {
			unknown[m] += n
		}
		if len(b.Audit) > 0 {
			t.Fatalf("body %d: %d audit events", i, len(b.Audit))
		}
		for _, si := range b.SignIns {
			u := users[si.UserID]
			if u == nil {
				t.Fatalf("sign-in of %s, not one of the first %d users", si.UserID, s.Users)
			}
			if si.Time.Before(synth.AsOf) || !si.Time.Before(synth.AsOf.Add(s.Span)) {
				t.Errorf("sign-in at %v, outside the span", si.Time)
			}
			if si.Interactive {
				interactive++
			}
			proven++
			for _, m := range si.Methods {
				kinds[m.Kind]++
				if !m.Succeeded {
					failed++
				}
				if m.Kind == model.KindUnknown || m.Kind == model.KindPassword {
					continue
				}
				// A named instance names one of the user's methods; an
				// unnamed one (an OATH code) is of a kind the user holds.
				withUse := *u
				withUse.Usage = []model.MethodUsage{{Kind: m.Kind, Instance: m.Instance, LastUsed: si.Time}}
				found := false
				for j := range u.Methods {
					if m.Instance == "" && model.UsageCovers(m.Kind, u.Methods[j].Kind) || len(model.MatchUsage(&withUse, &u.Methods[j])) > 0 {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: %s %q belongs to none of the user's methods", u.UserPrincipalName, m.Kind, m.Instance)
				}
			}
		}
	}
	if records != s.Records || signInRecords != s.Records {
		t.Fatalf("%d records, %d of them sign-ins, want %d", records, signInRecords, s.Records)
	}
	share := func(n int) float64 { return float64(n) / float64(s.Records) }
	noUser, noProof := share(skipped[entralog.SkipSignInNoUser]), share(skipped[entralog.SkipSignInNoProof])
	if noUser < 0.06 || noUser > 0.08 || noProof < 0.6 || noProof > 0.8 || share(interactive) < 0.17 || share(interactive) > 0.21 {
		t.Errorf("shares: no user %.3f, no proof %.3f, interactive %.3f", noUser, noProof, share(interactive))
	}
	if failed == 0 || kinds[model.KindAuthenticator] == 0 || kinds[model.KindMobilePhone] == 0 || kinds[model.KindFIDO2] == 0 ||
		kinds[model.KindWindowsHello] == 0 || kinds[model.KindSoftwareOath] == 0 || kinds[model.KindPassword] == 0 {
		t.Errorf("%d failed steps; kinds %v", failed, kinds)
	}
	for m := range unknown {
		if m != "QR code" {
			t.Errorf("unknown method %q", m)
		}
	}
	for i, body := range bodies {
		if bytes.Contains(body, []byte("+1 ")) {
			t.Fatalf("body %d holds a phone number", i)
		}
	}
	again := signInBodies(t, d, s)
	for i := range bodies {
		if !bytes.Equal(again[i], bodies[i]) {
			t.Fatalf("the same seed gave another body %d", i)
		}
	}
	other := signInBodies(t, d, synth.SignInStream{Records: 50, PerBody: 50, Users: 1_000, Seed: 8, Span: 6 * time.Hour})
	if bytes.Equal(other[0], bodies[0]) {
		t.Error("another seed gave the same stream")
	}
}
