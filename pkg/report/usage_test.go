package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

var usageNow = time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)

// kindsWithPaths are the method kinds whose use proves a path
// (docs/POLICY.md, Proven and unproven paths).
var kindsWithPaths = []model.MethodKind{
	model.KindMobilePhone, model.KindAlternateMobilePhone, model.KindOfficePhone,
	model.KindAuthenticator, model.KindSoftwareOath, model.KindHardwareOath,
	model.KindFIDO2, model.KindPasskeyAuthenticator, model.KindWindowsHello, model.KindPlatformCredential,
}

// signInsFor draws sign-ins over the last 400 days for a generated tenant
// with guests and disabled accounts: a quarter of the users never sign in;
// the others use some of their methods, named as the logs name them or not
// at all, sometimes failing; some steps use a method credres has no kind
// for; a few sign-ins are of users not in the directory.
func signInsFor(d *model.Directory, seed uint64) []entralog.SignIn {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []entralog.SignIn
	day := func() time.Time { return usageNow.Add(-time.Duration(rng.IntN(400*24)) * time.Hour) }
	for i := range d.Users {
		u := &d.Users[i]
		if rng.IntN(4) == 0 {
			continue
		}
		for range 1 + rng.IntN(6) {
			at := day()
			si := entralog.SignIn{UserID: u.ID, Time: at, Methods: []entralog.MethodUse{{Kind: model.KindPassword, Succeeded: true, Time: at}}}
			for _, m := range u.Methods {
				if m.Kind == model.KindPassword || rng.IntN(3) > 0 {
					continue
				}
				use := entralog.MethodUse{Kind: m.Kind, Succeeded: rng.IntN(5) > 0, Time: at}
				switch {
				case rng.IntN(4) == 0: // the log names no instance
				case m.PhoneNumber != "":
					use.Instance = model.PhoneDigits(m.PhoneNumber)
				default:
					use.Instance = m.DisplayName
				}
				if m.Kind == model.KindAuthenticator && rng.IntN(6) == 0 {
					use.Kind = model.KindSoftwareOath // a code, not a notification
				}
				si.Methods = append(si.Methods, use)
			}
			if rng.IntN(20) == 0 {
				si.Methods = append(si.Methods, entralog.MethodUse{Kind: model.KindUnknown, Method: "X.509 Certificate", Succeeded: true, Time: at})
			}
			out = append(out, si)
		}
	}
	for range 50 {
		at := day()
		out = append(out, entralog.SignIn{UserID: "not-in-the-directory", Time: at, Methods: []entralog.MethodUse{
			{Kind: model.KindPassword, Succeeded: true, Time: at}, {Kind: model.KindMobilePhone, Instance: "11", Succeeded: true, Time: at}}})
	}
	return out
}

func usageTenants(t *testing.T) map[string]*model.Directory {
	t.Helper()
	out := map[string]*model.Directory{}
	for _, seed := range []int64{1, 5} {
		d, off := synth.Tenant(2000, seed), false
		for i := range d.Users {
			switch i % 11 {
			case 1:
				d.Users[i].UserType = "Guest"
			case 2:
				d.Users[i].AccountEnabled = &off
			}
		}
		out[map[int64]string{1: "synth-1", 5: "synth-5"}[seed]] = d
	}
	return out
}

func usageReport(d *model.Directory, signIns []entralog.SignIn, p *rules.Policy) *Report {
	MergeSignIns(d, signIns)
	r := Build(d, rules.New(p).At(usageNow))
	r.AddUsage(d, rules.New(WithProofWindow(p, DefaultProofWindow)).At(usageNow), signIns, usageNow, DefaultProofWindow)
	return r
}

// The usage section is recounted here from the sign-ins and the users'
// methods, without the engine's judgement of proof: shares from the
// records, phone-network users from the steps within the window, methods
// never used from model.MatchUsage, and the users within policy only
// through unproven paths by evaluating them without those methods.
func TestUsageAgreesWithARecount(t *testing.T) {
	t.Parallel()
	for name, d := range usageTenants(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			signIns := signInsFor(d, 1)
			r := usageReport(d, signIns, rules.DefaultPolicy())
			u := r.Usage

			mfa, counts := 0, map[model.MethodKind]int{}
			for _, si := range signIns {
				seen := map[model.MethodKind]bool{}
				for _, m := range si.Methods {
					if m.Succeeded && m.Kind != model.KindPassword {
						seen[m.Kind] = true
					}
				}
				for k := range seen {
					counts[k]++
				}
				if len(seen) > 0 {
					mfa++
				}
			}
			if u.SignIns != len(signIns) || u.MFASignIns != mfa {
				t.Errorf("sign-ins %d, MFA %d; recount %d, %d", u.SignIns, u.MFASignIns, len(signIns), mfa)
			}
			got := map[model.MethodKind]int{}
			total := 0.0
			for i, m := range u.Methods {
				got[m.Kind] = m.SignIns
				total += m.Share
				if i > 0 && u.Methods[i-1].SignIns < m.SignIns {
					t.Errorf("methods not most used first: %v", u.Methods)
				}
			}
			if !reflect.DeepEqual(got, counts) || total < 1 {
				t.Errorf("per method %v, recount %v (shares add to %v)", got, counts, total)
			}

			cutoff := model.Day(usageNow).Add(-DefaultProofWindow)
			steps := map[string][]entralog.MethodUse{}
			for _, si := range signIns {
				steps[si.UserID] = append(steps[si.UserID], si.Methods...)
			}
			plain := rules.New(nil)
			var seen, notSeen, excluded int
			var wantPhone, wantBelow []string
			wantNever := map[model.MethodKind][]string{}
			for i := range d.Users {
				user := &d.Users[i]
				if user.Guest() || user.Disabled() {
					excluded++
					continue
				}
				if len(user.Usage) == 0 {
					notSeen++
					continue
				}
				seen++
				phone, other := false, false
				for _, m := range steps[user.ID] {
					if !m.Succeeded || m.Kind == model.KindPassword || m.Time.Before(cutoff) {
						continue
					}
					if m.Kind == model.KindMobilePhone || m.Kind == model.KindAlternateMobilePhone || m.Kind == model.KindOfficePhone {
						phone = true
					} else {
						other = true
					}
				}
				if phone && !other {
					wantPhone = append(wantPhone, user.ID)
				}
				unproven := map[string]bool{}
				never := map[model.MethodKind]bool{}
				for j := range user.Methods {
					m := &user.Methods[j]
					if !slices.Contains(kindsWithPaths, m.Kind) {
						continue
					}
					used, failed := model.LastUse(model.MatchUsage(user, m))
					if used.IsZero() {
						never[m.Kind] = true
					}
					if used.IsZero() || failed.After(used) || used.Before(cutoff) {
						unproven[m.ID] = true
					}
				}
				for k := range never {
					wantNever[k] = append(wantNever[k], user.ID)
				}
				without := *user
				without.Methods = slices.DeleteFunc(slices.Clone(user.Methods), func(m model.Method) bool { return unproven[m.ID] })
				if plain.Evaluate(d.Tenant, user).Compliant && !plain.Evaluate(d.Tenant, &without).Compliant {
					wantBelow = append(wantBelow, user.ID)
				}
			}
			if u.UsersSeen != seen || u.UsersNotSeen != notSeen || seen+notSeen+excluded != len(d.Users) {
				t.Errorf("seen %d, not seen %d; recount %d, %d (%d excluded of %d)", u.UsersSeen, u.UsersNotSeen, seen, notSeen, excluded, len(d.Users))
			}
			if !slices.Equal(u.PhoneNetworkOnly.Users, wantPhone) || u.PhoneNetworkOnly.Count != len(wantPhone) {
				t.Errorf("phone network only: %d users, recount %d", len(u.PhoneNetworkOnly.Users), len(wantPhone))
			}
			if len(wantPhone) == 0 || len(wantBelow) == 0 || len(wantNever) < 3 {
				t.Errorf("the sign-ins drawn exercise too little: %d phone only, %d below, %d kinds never used", len(wantPhone), len(wantBelow), len(wantNever))
			}
			if !slices.Equal(u.BelowWithoutUnproven.Users, wantBelow) || u.BelowWithoutUnproven.Count != len(wantBelow) {
				t.Errorf("within policy only through unproven paths: %d users, recount %d", len(u.BelowWithoutUnproven.Users), len(wantBelow))
			}
			gotNever := map[model.MethodKind][]string{}
			for i, g := range u.NeverUsed {
				gotNever[g.Kind] = g.Users
				if g.Count != len(g.Users) || i > 0 && u.NeverUsed[i-1].Count < g.Count {
					t.Errorf("never used: %s counts %d for %d users, or not most users first", g.Kind, g.Count, len(g.Users))
				}
			}
			if !reflect.DeepEqual(gotNever, wantNever) {
				t.Errorf("never used by kind differs from the recount")
			}
			for _, id := range append(slices.Clone(wantPhone), wantBelow...) {
				if r.UserPrincipalNames[id] == "" {
					t.Errorf("%s listed without its user principal name", id)
				}
			}
		})
	}
}

// MergeSignIns leaves each user with the usage the store keeps after
// recording the same sign-ins (docs/STATE.md), on top of what the snapshot
// carried.
func TestMergeSignInsIsWhatTheStoreRecords(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(300, 2)
	signIns := signInsFor(d, 2)
	// Some users start with usage, as a snapshot exported from a store.
	for i := range d.Users {
		if i%3 == 0 {
			d.Users[i].Usage = []model.MethodUsage{{Kind: model.KindFIDO2, Instance: "Old key", LastUsed: model.Day(usageNow.AddDate(-1, 0, 0))}}
		}
	}
	st, err := store.OpenFileStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range d.Users {
		if len(d.Users[i].Usage) > 0 {
			if _, err := st.RecordUsage(ctx, d.Users[i].ID, d.Users[i].Usage); err != nil {
				t.Fatal(err)
			}
		}
	}
	index := map[string]bool{}
	for i := range d.Users {
		index[d.Users[i].ID] = true
	}
	for _, si := range signIns {
		if !index[si.UserID] {
			continue
		}
		var updates []model.MethodUsage
		for _, m := range si.Methods {
			if m.Kind == model.KindUnknown {
				continue
			}
			v := model.MethodUsage{Kind: m.Kind, Instance: m.Instance}
			if m.Succeeded {
				v.LastUsed = m.Time
			} else {
				v.LastFailed = m.Time
			}
			updates = append(updates, v)
		}
		if _, err := st.RecordUsage(ctx, si.UserID, updates); err != nil {
			t.Fatal(err)
		}
	}
	MergeSignIns(d, signIns)
	byKey := func(a, b model.MethodUsage) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Instance, b.Instance))
	}
	for i := range d.Users {
		want, err := st.LoadUsage(ctx, d.Users[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.SortedFunc(slices.Values(d.Users[i].Usage), byKey)
		if len(got)+len(want) > 0 && !reflect.DeepEqual(got, slices.SortedFunc(slices.Values(want), byKey)) {
			t.Errorf("user %s: merged %v, store %v", d.Users[i].ID, got, want)
		}
	}
}

// Without sign-ins, the section comes from the snapshot's usage alone.
func TestUsageWithoutSignIns(t *testing.T) {
	t.Parallel()
	d := loadSample(t)
	d.Users[0].Usage = []model.MethodUsage{{Kind: model.KindAuthenticator, LastUsed: model.Day(usageNow)}}
	d.Users[1].Usage = []model.MethodUsage{{Kind: model.KindMobilePhone, LastUsed: model.Day(usageNow)}}
	r := usageReport(d, nil, rules.DefaultPolicy())
	u := r.Usage
	if u.SignIns != 0 || u.MFASignIns != 0 || len(u.Methods) != 0 || u.UsersSeen != 2 {
		t.Errorf("%+v", u)
	}
	if u.Now != "2026-12-01T15:04:05Z" || u.ProofWindow != "180d" {
		t.Errorf("now %q, window %q", u.Now, u.ProofWindow)
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "No sign-in records were read") {
		t.Error("the page does not say that no sign-in records were read")
	}
}

// WriteJSON writes the usage section as encoding/json does.
func TestWriteJSONWritesUsage(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(500, 3)
	r := usageReport(d, signInsFor(d, 3), rules.DefaultPolicy())
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
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
		t.Error("WriteJSON differs from encoding/json for a report with usage")
	}
	if !strings.Contains(buf.String(), `"usage": {`) {
		t.Error("no usage member")
	}
}
