package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

const sampleTenant = "../../events/tenant.json"

func loadSample(t testing.TB) *model.Directory {
	t.Helper()
	d, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tenants are the directories the figures are checked on: the sample
// tenant, generated tenants in the mode their seed draws, and one forced to
// pass-through authentication without the fallback so that the hybrid
// figures are exercised on a large population.
func tenants(t *testing.T) map[string]*model.Directory {
	t.Helper()
	out := map[string]*model.Directory{"sample": loadSample(t)}
	for _, seed := range []int64{1, 2, 3} {
		out[fmt.Sprintf("synth-%d", seed)] = synth.Tenant(2000, seed)
	}
	pta := synth.Tenant(2000, 4)
	pta.Tenant.PasswordAuth, pta.Tenant.PHSFallback = model.PasswordPTA, false
	out["synth-4-pta"] = pta
	// Guests and disabled accounts have rows of their own.
	mixed, off := synth.Tenant(2000, 5), false
	for i := range mixed.Users {
		switch i % 7 {
		case 1:
			mixed.Users[i].UserType = "Guest"
		case 2:
			mixed.Users[i].AccountEnabled = &off
		}
	}
	out["synth-5-guests-disabled"] = mixed
	return out
}

// lockedOut is the what-if of rules.LockedOut, user by user: the reference
// the report's bit-set shortcut must agree with.
func lockedOut(t *testing.T, d *model.Directory, down ...string) (locked, withoutPath []string) {
	t.Helper()
	o, err := rules.ParseOutage(down...)
	if err != nil {
		t.Fatal(err)
	}
	locked = []string{}
	for i := range d.Users {
		l, has := rules.LockedOut(d.Tenant, &d.Users[i], o)
		switch {
		case !has:
			withoutPath = append(withoutPath, d.Users[i].ID)
		case l:
			locked = append(locked, d.Users[i].ID)
		}
	}
	return locked, withoutPath
}

func TestOutagesAgreeWithWhatif(t *testing.T) {
	t.Parallel()
	for name, d := range tenants(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := Build(d, rules.New(nil))
			var singles []string
			for _, o := range r.Outages {
				want, without := lockedOut(t, d, o.Down...)
				if !slices.Equal(o.Users, want) || o.LockedOut != len(want) {
					t.Errorf("%v: report %d users, whatif %d", o.Down, o.LockedOut, len(want))
				}
				if !slices.Equal(r.WithoutAnyPath.Users, without) && !(len(without) == 0 && r.WithoutAnyPath.Count == 0) {
					t.Errorf("%v: without any path %v, whatif %v", o.Down, r.WithoutAnyPath.Users, without)
				}
				if len(o.Down) == 1 {
					singles = append(singles, o.Down[0])
				}
			}
			want := slices.Clone(model.DependencyKinds[1:])
			slices.Sort(want)
			slices.Sort(singles)
			if !slices.Equal(singles, want) {
				t.Errorf("single outages %v, want every kind but entra-auth", singles)
			}
		})
	}
}

// Every pair of kinds is computed the slow way; the report must list
// exactly the worst ones that lock out more than either kind alone.
func TestPairsAreTheWorst(t *testing.T) {
	t.Parallel()
	for name, d := range tenants(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := Build(d, rules.New(nil))
			single := map[string]int{}
			for _, o := range r.Outages {
				if len(o.Down) == 1 {
					single[o.Down[0]] = o.LockedOut
				}
			}
			type pair struct {
				down string
				n    int
			}
			var all []pair
			kinds := model.DependencyKinds[1:]
			for i, a := range kinds {
				for _, b := range kinds[i+1:] {
					locked, _ := lockedOut(t, d, a, b)
					if n := len(locked); n > single[a] && n > single[b] {
						all = append(all, pair{a + "," + b, n})
					}
				}
			}
			slices.SortStableFunc(all, func(x, y pair) int { return y.n - x.n })
			var got []pair
			for _, o := range r.Outages[len(single):] {
				got = append(got, pair{strings.Join(o.Down, ","), o.LockedOut})
			}
			if len(got) != min(len(all), MaxPairs) {
				t.Fatalf("%d pairs reported, want %d", len(got), min(len(all), MaxPairs))
			}
			for i, p := range got {
				// Equal counts may come in any order among themselves; the
				// counts, rank by rank, may not.
				if p.n != all[i].n {
					t.Errorf("pair %d: %s locks out %d, want %s with %d", i, p.down, p.n, all[i].down, all[i].n)
				}
				if !slices.Contains(all, p) {
					t.Errorf("pair %s (%d) does not lock out more than either kind alone", p.down, p.n)
				}
			}
		})
	}
}

func TestFiguresAgreeWithAssessments(t *testing.T) {
	t.Parallel()
	for name, d := range tenants(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := rules.New(nil)
			r := Build(d, e)
			var div DiversityCounts
			tiers := map[string]*TierDiversity{}
			compliant, withPath, oneAway := 0, 0, 0
			spofs := map[string][]string{}
			recs := map[string]int{}
			var privileged []string
			for i := range d.Users {
				u := &d.Users[i]
				a := e.Evaluate(d.Tenant, u)
				div.add(a.Diversity)
				tier := cmpOr(a.Tier, NoTier)
				switch a.Excluded {
				case model.ExcludedGuest:
					tier = Guests
				case model.ExcludedDisabled:
					tier = DisabledAccounts
				}
				if tiers[tier] == nil {
					tiers[tier] = &TierDiversity{}
				}
				tiers[tier].ByDiversity.add(a.Diversity)
				tiers[tier].Users++
				if a.Compliant {
					compliant++
					tiers[tier].Compliant++
				}
				if len(a.Paths) > 0 {
					withPath++
					if lockedBySome(d.Tenant, u) {
						oneAway++
					}
				}
				seen := map[string]bool{}
				for _, dep := range a.SPOFs {
					if k := model.KindOf(dep); !seen[k] {
						seen[k] = true
						spofs[k] = append(spofs[k], u.ID)
					}
				}
				for _, rec := range a.Recommendations {
					recs[rec.Action]++
				}
				pr := e.Policy().TierFor(u)
				if (u.Admin() || (pr != nil && pr.RequirePhishingResistant)) && !a.PhishingResistant {
					privileged = append(privileged, u.ID)
				}
			}
			if r.Summary.ByDiversity != div {
				t.Errorf("diversity %+v, assessments %+v", r.Summary.ByDiversity, div)
			}
			for _, td := range r.Diversity {
				want := tiers[td.Tier]
				if want == nil {
					want = &TierDiversity{}
				}
				if td.ByDiversity != want.ByDiversity || td.Users != want.Users || td.Compliant != want.Compliant {
					t.Errorf("tier %s: %+v, assessments %+v", td.Tier, td, *want)
				}
			}
			if r.Summary.Compliant != compliant || r.Summary.Users != len(d.Users) || r.WithoutAnyPath.Count != len(d.Users)-withPath {
				t.Errorf("summary %+v; compliant %d, with a path %d", r.Summary, compliant, withPath)
			}
			if r.Summary.OneOutageAway != oneAway {
				t.Errorf("one outage away %d, want %d", r.Summary.OneOutageAway, oneAway)
			}
			for _, g := range r.SPOFs {
				if !slices.Equal(g.Users, spofs[g.Kind]) {
					t.Errorf("spofs %s: %d users, assessments %d", g.Kind, g.Count, len(spofs[g.Kind]))
				}
				delete(spofs, g.Kind)
			}
			if len(spofs) > 0 {
				t.Errorf("spof kinds missing from the report: %v", spofs)
			}
			for _, rec := range r.Recommendations {
				if rec.Users != recs[rec.Action] {
					t.Errorf("recommendation %q: %d users, assessments %d", rec.Action, rec.Users, recs[rec.Action])
				}
			}
			if !slices.Equal(r.PrivilegedWithoutPhishingResistant.Users, privileged) && len(privileged) > 0 {
				t.Errorf("privileged without phishing-resistant %v, want %v", r.PrivilegedWithoutPhishingResistant.Users, privileged)
			}
			for _, o := range r.Outages {
				if slices.Equal(o.Down, []string{model.DepPhoneCarrier}) && !slices.Equal(o.Users, r.TelephonyOnly.Users) {
					t.Errorf("telephony-only users differ from the phone-carrier outage")
				}
			}
			for _, id := range r.TelephonyOnly.Users {
				if r.UserPrincipalNames[id] == "" {
					t.Errorf("listed user %s has no name", id)
				}
			}
		})
	}
}

// lockedBySome reports whether one dependency kind alone locks the user out.
func lockedBySome(t model.Tenant, u *model.User) bool {
	for _, k := range model.DependencyKinds[1:] {
		if rules.LockedOutByKinds(rules.KindPaths(t, u, nil), rules.KindBit(k)) {
			return true
		}
	}
	return false
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// The hybrid figures are recomputed: a report of the same directory with
// the fallback on must show them as its current figures.
func TestHybridIsRecomputed(t *testing.T) {
	t.Parallel()
	for name, d := range tenants(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := rules.New(nil)
			r := Build(d, e)
			withPHS := *d
			withPHS.Tenant.PHSFallback = true
			after := Build(&withPHS, e)
			h := r.Hybrid
			if h.WithPHSFallback != after.Hybrid.Current {
				t.Errorf("with fallback %+v, recomputed %+v", h.WithPHSFallback, after.Hybrid.Current)
			}
			if h.Current.LockedOutByOnPremises != len(mustLocked(t, d, model.DepOnPremises)) {
				t.Errorf("locked out by on-premises %d", h.Current.LockedOutByOnPremises)
			}
			if h.Applicable != d.Tenant.PasswordOnPremises() {
				t.Errorf("applicable %v in a %s tenant", h.Applicable, d.Tenant.PasswordAuth)
			}
			if h.Applicable && (h.OnPremises.Count == 0 || h.Current.LockedOutByOnPremises == 0) {
				t.Errorf("a %s tenant without the fallback shows no on-premises exposure: %+v", d.Tenant.PasswordAuth, h)
			}
			if !h.Applicable && (h.OnPremises.Count != 0 || h.BecomeCompliant.Count != 0) {
				t.Errorf("the fallback changes something in a %s tenant (fallback %v): %+v", d.Tenant.PasswordAuth, d.Tenant.PHSFallback, h)
			}
			if h.WithPHSFallback.Compliant != h.Current.Compliant+h.BecomeCompliant.Count {
				t.Errorf("compliant %d -> %d, but %d become compliant", h.Current.Compliant, h.WithPHSFallback.Compliant, h.BecomeCompliant.Count)
			}
		})
	}
}

func mustLocked(t *testing.T, d *model.Directory, down string) []string {
	locked, _ := lockedOut(t, d, down)
	return locked
}

func TestBuildIsDeterministic(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(3000, 7)
	var first []byte
	for range 3 {
		var buf bytes.Buffer
		if err := Build(d, rules.New(nil)).WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatal("two reports of the same directory differ")
		}
	}
}

func TestEmptyDirectory(t *testing.T) {
	t.Parallel()
	r := Build(&model.Directory{Tenant: model.Tenant{PasswordAuth: model.PasswordCloud}}, rules.New(nil))
	if len(r.Outages) != len(model.DependencyKinds)-1 || r.Summary.Users != 0 {
		t.Errorf("outages %d, users %d", len(r.Outages), r.Summary.Users)
	}
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
}

func TestJSONListsAreArrays(t *testing.T) {
	t.Parallel()
	r := Build(&model.Directory{Tenant: model.Tenant{PasswordAuth: model.PasswordCloud}}, rules.New(nil))
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "null") {
		t.Errorf("an empty list is written as null:\n%s", buf.String())
	}
}

// WriteJSON writes by hand what encoding/json would write for Report; the
// two must say the same thing, field for field, on real and on awkward data.
func TestWriteJSONIsEncodingJSON(t *testing.T) {
	t.Parallel()
	odd := loadSample(t)
	odd.Tenant.ID = "tenant \"quoted\" \\ <&> \u2028 é \x01"
	odd.Users[0].UserPrincipalName = "o'brien+\"x\"@contoso.example"
	odd.Users[1].UserPrincipalName = "zoë@contoso.example"
	odd.Users[2].UserPrincipalName = "bad\xffutf8@contoso.example"
	exempt := rules.DefaultPolicy()
	exempt.Tiers[0].Exempt = true
	cases := map[string]*Report{
		"sample":       Build(loadSample(t), rules.New(nil)),
		"odd-strings":  Build(odd, rules.New(nil)),
		"exempt-tier":  Build(loadSample(t), rules.New(exempt)),
		"synth":        Build(synth.Tenant(2000, 3), rules.New(nil)),
		"empty-tenant": Build(&model.Directory{Tenant: model.Tenant{PasswordAuth: model.PasswordCloud}}, rules.New(nil)),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
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
				t.Fatalf("not JSON: %v\n%s", err, buf.String())
			}
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("WriteJSON differs from encoding/json:\n%s\nwant\n%s", buf.String(), want)
			}
			var back Report
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, r) && name != "odd-strings" { // invalid UTF-8 comes back as U+FFFD
				t.Errorf("the report does not survive a round trip")
			}
		})
	}
}

func TestWriteJSONLayout(t *testing.T) {
	t.Parallel()
	r := &Report{
		Outages:            []Outage{{Down: []model.Dependency{"phone-carrier"}, LockedOut: 2, Users: []string{"a", "b"}}},
		UserPrincipalNames: map[string]string{"b": "b@x", "a": "a@x"},
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"{\n  \"tenant\": {\n    \"id\": \"\",",
		"  \"outages\": [\n    {\n      \"down\": [\"phone-carrier\"],\n      \"lockedOut\": 2,\n      \"users\": [\"a\", \"b\"]\n    }\n  ],",
		"\"diversity\": [],",
		"\"users\": []\n",
		"  \"userPrincipalNames\": {\n    \"a\": \"a@x\",\n    \"b\": \"b@x\"\n  }\n}\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}
}

// FuzzAppendString holds the hand-written string encoding to encoding/json's.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quo\"te", "back\\slash", "<&>", "\u2028", "é", "\x00\x1f\x7f", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got)+"\n" != want.String() {
			t.Errorf("appendString(%q) = %s, encoding/json %s", s, got, want.String())
		}
	})
}

var barRe = regexp.MustCompile(`<rect class="bar[ "]`)

// Structure the browser test relies on, checked without a browser: one
// chart per figure with one bar per entry, no script, no external
// reference, and names escaped.
func TestHTMLStructure(t *testing.T) {
	t.Parallel()
	d := loadSample(t)
	d.Users[0].UserPrincipalName = `<script>alert(1)</script>@contoso.example`
	r := Build(d, rules.New(nil))
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", "http://", "https://", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;@contoso.example") {
		t.Errorf("a user principal name is not escaped")
	}
	for id, want := range expectedBars(r) {
		start := strings.Index(page, `id="`+id+`"`)
		if start < 0 {
			t.Errorf("chart %s missing", id)
			continue
		}
		end := start + strings.Index(page[start:], "</svg>")
		if got := len(barRe.FindAllString(page[start:end], -1)); got != want {
			t.Errorf("chart %s has %d bars, want %d", id, got, want)
		}
	}
	if got, want := strings.Count(page, "<svg"), len(expectedBars(r)); got != want {
		t.Errorf("%d charts, want %d", got, want)
	}
}

// expectedBars returns, for each chart of the HTML report, its element id
// and how many bars it must have.
func expectedBars(r *Report) map[string]int {
	want := map[string]int{}
	pairs := 0
	for _, o := range r.Outages {
		if len(o.Down) == 1 {
			want["chart-single-outages"]++
		} else {
			pairs++
		}
	}
	if pairs > 0 {
		want["chart-pair-outages"] = pairs
	}
	for i, td := range r.Diversity {
		if td.Users > 0 {
			want[fmt.Sprintf("chart-diversity-%d", i)] = 4
		}
	}
	if len(r.SPOFs) > 0 {
		want["chart-spofs"] = len(r.SPOFs)
	}
	if len(r.Recommendations) > 0 {
		want["chart-recommendations"] = len(r.Recommendations)
	}
	return want
}

func TestHTMLListsAreCapped(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(3000, 5)
	r := Build(d, rules.New(nil))
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	if r.Outages[0].LockedOut <= HTMLListLimit {
		t.Fatalf("the worst outage locks out only %d users; the test needs more than %d", r.Outages[0].LockedOut, HTMLListLimit)
	}
	more := fmt.Sprintf("… and %s more", num(r.Outages[0].LockedOut-HTMLListLimit))
	if !strings.Contains(buf.String(), more) {
		t.Errorf("the longest list does not say %q", more)
	}
}

func TestNum(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -1234: "-1,234", -100: "-100"} {
		if got := num(n); got != want {
			t.Errorf("num(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestGuestsAndDisabledAccountsHaveTheirOwnRows(t *testing.T) {
	t.Parallel()
	d := tenants(t)["synth-5-guests-disabled"]
	r := Build(d, rules.New(nil))
	rows := map[string]TierDiversity{}
	for _, td := range r.Diversity {
		rows[td.Tier] = td
	}
	guests, disabled := rows[Guests], rows[DisabledAccounts]
	if guests.Users == 0 || disabled.Users == 0 || !guests.Exempt || !disabled.Exempt {
		t.Fatalf("rows %+v", r.Diversity)
	}
	if r.Diversity[len(r.Diversity)-1].Tier != DisabledAccounts {
		t.Errorf("the disabled accounts' row is not last: %+v", r.Diversity)
	}
}
