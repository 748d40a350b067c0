package report

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// DefaultProofWindow is the window the usage section, and explain, judge
// paths by in the tiers that set none.
const DefaultProofWindow = 180 * 24 * time.Hour

// Usage is the report's usage section (docs/REPORT.md, docs/USAGE.md):
// what the sign-in logs say about the methods users registered. Guests and
// disabled accounts the policy leaves alone are not in it, and users the
// logs never showed are only counted: credres cannot tell a method never
// used from logs it never received.
type Usage struct {
	// ProofWindow is the window of the tiers that set none, as used here.
	ProofWindow string `json:"proofWindow"`
	// Now is the time paths were judged at (RFC 3339, UTC).
	Now string `json:"now"`
	// UsersSeen counts the users the sign-in logs showed (with usage); the
	// lists below speak only of them.
	UsersSeen int `json:"usersSeen"`
	// UsersNotSeen counts the users without any usage: not judged.
	UsersNotSeen int `json:"usersNotSeen"`
	// SignIns counts the sign-in records read (report --signins), of any
	// user, in the snapshot or not.
	SignIns int `json:"signIns"`
	// MFASignIns counts those with a successful step of a method other
	// than the password.
	MFASignIns int `json:"mfaSignIns"`
	// Methods is the share of the MFA sign-ins per method kind, most used
	// first. A sign-in with two such steps counts for both kinds, so the
	// shares can add up to more than 1.
	Methods []MethodShare `json:"methods"`
	// PhoneNetworkOnly lists the users whose every MFA sign-in within their
	// tier's proof window used the phone network (a text message or a
	// call): the only methods that worked within it are phones.
	PhoneNetworkOnly Group `json:"phoneNetworkOnly"`
	// NeverUsed lists, per method kind, the users with a registered method
	// of the kind that the sign-in logs never showed working, most users
	// first.
	NeverUsed []MethodKindGroup `json:"neverUsed"`
	// BelowWithoutUnproven lists the users within policy only through
	// unproven paths: they would fall below it if unproven paths did not
	// count. In a tier with countUnproven: false they are counted
	// non-compliant already.
	BelowWithoutUnproven Group `json:"belowWithoutUnproven"`
}

// MethodShare is one method kind's part of the MFA sign-ins.
type MethodShare struct {
	Kind    model.MethodKind `json:"kind"`
	SignIns int              `json:"signIns"`
	// Share is SignIns over all MFA sign-ins, rounded to 4 decimals.
	Share float64 `json:"share"`
}

// MethodKindGroup is a counted list of users, for one method kind.
type MethodKindGroup struct {
	Kind  model.MethodKind `json:"kind"`
	Count int              `json:"count"`
	Users []string         `json:"users"`
	kept  places           // the users in the Builder's table, until filled
}

var phoneNetwork = map[model.MethodKind]bool{
	model.KindMobilePhone: true, model.KindAlternateMobilePhone: true, model.KindOfficePhone: true,
}

// WithProofWindow returns a copy of the policy in which every tier that
// sets no proofWindow has window (and counts unproven paths, the default):
// the policy the usage section and explain judge paths by. Tiers that set
// their own window keep it, and their countUnproven.
func WithProofWindow(p *rules.Policy, window time.Duration) *rules.Policy {
	c := *p
	c.Tiers = slices.Clone(p.Tiers)
	for i := range c.Tiers {
		if c.Tiers[i].ProofWindow <= 0 {
			c.Tiers[i].ProofWindow = rules.Duration(window)
		}
	}
	return &c
}

// MergeSignIns folds the method uses of the sign-ins into the usage of the
// directory's users, as the ingest function records them in the store:
// per user and method (kind and instance), the latest day it worked and
// the latest day it failed. Uses of methods credres has no kind for, and
// sign-ins of users not in the directory, are left out.
func MergeSignIns(d *model.Directory, signIns []entralog.SignIn) {
	if len(signIns) > 0 {
		NewSignInFolder(d).Add(signIns)
	}
}

// SignInFolder folds sign-ins into a directory's usage as MergeSignIns
// does, batch after batch (a page of Graph's sign-in log at a time).
type SignInFolder struct {
	d     *model.Directory
	index map[string]int
}

// NewSignInFolder indexes the directory's users.
func NewSignInFolder(d *model.Directory) *SignInFolder {
	f := &SignInFolder{d: d, index: make(map[string]int, len(d.Users))}
	for i := range d.Users {
		f.index[d.Users[i].ID] = i
	}
	return f
}

// Add folds one batch of sign-ins in and returns how many were of users
// of the directory.
func (f *SignInFolder) Add(signIns []entralog.SignIn) int {
	n := 0
	for s := range signIns {
		si := &signIns[s]
		i, ok := f.index[si.UserID]
		if !ok {
			continue
		}
		n++
		foldSignIn(&f.d.Users[i], si)
	}
	return n
}

// foldSignIn folds the method uses of one of the user's sign-ins into
// their usage.
func foldSignIn(u *model.User, si *entralog.SignIn) {
	for _, m := range si.Methods {
		if m.Kind == model.KindUnknown || m.Kind == "" {
			continue
		}
		v := model.MethodUsage{Kind: m.Kind, Instance: m.Instance}
		if m.Succeeded {
			v.LastUsed = m.Time
		} else {
			v.LastFailed = m.Time
		}
		j := slices.IndexFunc(u.Usage, func(o model.MethodUsage) bool { return o.Kind == v.Kind && o.Instance == v.Instance })
		if j < 0 {
			u.Usage = append(u.Usage, model.MethodUsage{Kind: v.Kind, Instance: v.Instance})
			j = len(u.Usage) - 1
		}
		u.Usage[j], _ = u.Usage[j].Advance(v)
	}
}

// AddUsage computes the usage section and sets r.Usage; r is the report
// Build made of d. The users' usage
// is what the directory carries (MergeSignIns folds the sign-ins read into
// it first); e judges paths by it (an engine made with At, over
// WithProofWindow's policy); window is the window of the tiers that set
// none, as reported. The sign-ins give the shares of MFA sign-ins; with
// none, the shares are empty and the lists come from the usage alone.
// Builder.JudgeUsage does the same while the users are added.
func (r *Report) AddUsage(d *model.Directory, e *rules.Engine, signIns []entralog.SignIn, now time.Time, window time.Duration) {
	ub := newUsageBuilder(e, signIns, now, window)
	js := make([]judged, len(d.Users))
	rules.Chunks(len(d.Users), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ub.judge(d.Tenant, &d.Users[i], &js[i])
		}
	})
	ub.tally(d.Users, js, 0)
	r.setUsage(ub)
}

// usageBuilder computes the usage section a batch of users at a time.
type usageBuilder struct {
	u        *Usage
	e        *rules.Engine
	p        *rules.Policy
	now      time.Time
	window   time.Duration
	windows  map[string]time.Duration // the tiers' proof windows
	otherMFA map[string]time.Time     // addShares's
	never    map[model.MethodKind]*MethodKindGroup
	// carried is true once some user added carries usage.
	carried bool
	// byUser indexes signIns by user, for fold (Builder.JudgeUsage).
	signIns []entralog.SignIn
	byUser  map[string][]int
}

// fold folds the user's sign-ins into their usage, in the order read.
func (ub *usageBuilder) fold(u *model.User) {
	for _, s := range ub.byUser[u.ID] {
		foldSignIn(u, &ub.signIns[s])
	}
}

func newUsageBuilder(e *rules.Engine, signIns []entralog.SignIn, now time.Time, window time.Duration) *usageBuilder {
	ub := &usageBuilder{e: e, p: e.Policy(), now: now, window: window,
		windows: map[string]time.Duration{}, never: map[model.MethodKind]*MethodKindGroup{}}
	ub.u = &Usage{
		ProofWindow: rules.Duration(window).String(), Now: now.UTC().Format(time.RFC3339),
		SignIns: len(signIns), Methods: []MethodShare{}, PhoneNetworkOnly: newGroup(),
		NeverUsed: []MethodKindGroup{}, BelowWithoutUnproven: newGroup(),
	}
	for _, t := range ub.p.Tiers {
		ub.windows[t.Name] = time.Duration(t.ProofWindow)
	}
	ub.otherMFA = ub.u.addShares(signIns)
	return ub
}

// setUsage orders the usage section, sets it and names its users.
func (r *Report) setUsage(ub *usageBuilder) {
	u := ub.u
	for _, g := range ub.never {
		u.NeverUsed = append(u.NeverUsed, *g)
	}
	slices.SortFunc(u.NeverUsed, func(a, b MethodKindGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind))
	})
	r.Usage = u
	if r.t != nil {
		u.lists(func(_ *[]string, kept *places) {
			kept.all(func(_ int, i *int32) bool {
				r.t.list(int(*i))
				return true
			})
		})
		return
	}
	// A report made whole: its rows are the users tallied, in order.
	var lists [][]string
	u.lists(func(ids *[]string, kept *places) {
		*ids = make([]string, kept.len())
		kept.all(func(k int, i *int32) bool {
			(*ids)[k] = r.Users[*i].ID
			return true
		})
		*kept = places{}
		lists = append(lists, *ids)
	})
	r.name(lists...)
}

// lists calls each with every list of users in the section.
func (u *Usage) lists(each func(ids *[]string, kept *places)) {
	each(&u.PhoneNetworkOnly.Users, &u.PhoneNetworkOnly.kept)
	each(&u.BelowWithoutUnproven.Users, &u.BelowWithoutUnproven.kept)
	for i := range u.NeverUsed {
		each(&u.NeverUsed[i].Users, &u.NeverUsed[i].kept)
	}
}

// addShares counts the MFA sign-ins and each method kind's share of them.
// It returns, per user, the last success of a method credres has no kind
// for (a certificate): their usage does not show it, so they are not said
// to rely on the phone network alone.
func (u *Usage) addShares(signIns []entralog.SignIn) map[string]time.Time {
	counts := map[model.MethodKind]int{}
	otherMFA := map[string]time.Time{}
	var kinds []model.MethodKind
	for s := range signIns {
		si := &signIns[s]
		kinds = kinds[:0]
		for _, m := range si.Methods {
			if !m.Succeeded || m.Kind == model.KindPassword {
				continue
			}
			if m.Kind == model.KindUnknown && m.Time.After(otherMFA[si.UserID]) {
				otherMFA[si.UserID] = m.Time
			}
			if !slices.Contains(kinds, m.Kind) {
				kinds = append(kinds, m.Kind)
				counts[m.Kind]++
			}
		}
		if len(kinds) > 0 {
			u.MFASignIns++
		}
	}
	for kind, n := range counts {
		u.Methods = append(u.Methods, MethodShare{Kind: kind, SignIns: n, Share: math.Round(float64(n)/float64(u.MFASignIns)*1e4) / 1e4})
	}
	slices.SortFunc(u.Methods, func(a, b MethodShare) int {
		return cmp.Or(cmp.Compare(b.SignIns, a.SignIns), cmp.Compare(a.Kind, b.Kind))
	})
	return otherMFA
}

// judged is what the usage section needs of one user.
type judged struct {
	counted, seen, phoneOnly, below bool
	never                           []model.MethodKind
}

// judge judges one user with usage: users the policy leaves alone are
// not counted, users without usage are counted but not seen. It runs on
// every core at once.
func (ub *usageBuilder) judge(t model.Tenant, user *model.User, j *judged) {
	if excluded(ub.p, user) {
		return
	}
	j.counted = true
	if len(user.Usage) == 0 {
		return
	}
	a := ub.e.Evaluate(t, user)
	j.seen = true
	j.below = a.RestsOnUnproven
	w, ok := ub.windows[a.Tier]
	if !ok || w <= 0 { // a user no tier matches
		w = ub.window
	}
	j.phoneOnly = phoneOnly(user.Usage, model.Day(ub.now).Add(-w), ub.otherMFA[user.ID])
	for _, mp := range a.Proof {
		if mp.LastUsed.IsZero() && !slices.Contains(j.never, mp.Kind) {
			j.never = append(j.never, mp.Kind)
		}
	}
}

// tally adds a batch of judged users to the section's groups; the first
// is the report's user base.
func (ub *usageBuilder) tally(users []model.User, js []judged, base int) {
	u := ub.u
	for i := range js {
		if len(users[i].Usage) > 0 {
			ub.carried = true
		}
		j := &js[i]
		if !j.seen {
			if j.counted {
				u.UsersNotSeen++
			}
			continue
		}
		at := int32(base + i)
		u.UsersSeen++
		if j.phoneOnly {
			u.PhoneNetworkOnly.Count++
			u.PhoneNetworkOnly.kept.add(at)
		}
		if j.below {
			u.BelowWithoutUnproven.Count++
			u.BelowWithoutUnproven.kept.add(at)
		}
		for _, k := range j.never {
			g := ub.never[k]
			if g == nil {
				g = &MethodKindGroup{Kind: k, Users: []string{}}
				ub.never[k] = g
			}
			g.Count++
			g.kept.add(at)
		}
	}
}

// excluded reports whether the policy leaves the user alone: a guest or a
// disabled account, unless it includes them (as the engine judges).
func excluded(p *rules.Policy, u *model.User) bool {
	return u.Disabled() && p.DisabledAccounts != rules.AccountsInclude ||
		u.Guest() && p.Guests != rules.AccountsInclude
}

// phoneOnly reports whether every method that worked since cutoff is a
// phone (and one did), and no sign-in since used a method credres has no
// kind for.
func phoneOnly(us []model.MethodUsage, cutoff, other time.Time) bool {
	if !other.IsZero() && !other.Before(cutoff) {
		return false
	}
	any := false
	for _, m := range us {
		if m.Kind == model.KindPassword || m.LastUsed.IsZero() || m.LastUsed.Before(cutoff) {
			continue
		}
		if !phoneNetwork[m.Kind] {
			return false
		}
		any = true
	}
	return any
}

// name adds the users listed to UserPrincipalNames, from the report's
// rows.
func (r *Report) name(lists ...[]string) {
	want := map[string]bool{}
	for _, ids := range lists {
		for _, id := range ids {
			if _, ok := r.UserPrincipalNames[id]; !ok {
				want[id] = true
			}
		}
	}
	if len(want) == 0 {
		return
	}
	if r.UserPrincipalNames == nil {
		r.UserPrincipalNames = map[string]string{}
	}
	for i := range r.Users {
		if want[r.Users[i].ID] {
			r.UserPrincipalNames[r.Users[i].ID] = r.Users[i].UserPrincipalName
		}
	}
}
