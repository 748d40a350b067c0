package rules

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

const proofPolicy = `
tiers:
  - name: strict
    match: {users: [strict-user]}
    minDiversity: 2
    accept: [entra-mfa]
    requireNonTelephony: true
    proofWindow: 90d
    countUnproven: false
  - name: standard
    match: {all: true}
    minDiversity: 2
    accept: [entra-mfa]
    requireNonTelephony: true
    proofWindow: 90d
`

func TestEvaluateAtJudgesPathsByTheSignInLogs(t *testing.T) {
	t.Parallel()
	p, err := ParsePolicy([]byte(proofPolicy))
	if err != nil {
		t.Fatal(err)
	}
	e := New(p)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	day := func(daysAgo int) time.Time { return model.Day(now).AddDate(0, 0, -daysAgo) }
	// A phone (SMS) and a security key: compliant only with the key.
	ms := methods(t, "password", "mobile", "fido2:key1")
	ms[2].DisplayName = "Blue key"
	phoneUsed := model.MethodUsage{Kind: model.KindMobilePhone, Instance: "00", LastUsed: day(1)}
	for _, tc := range []struct {
		name       string
		user       string
		usage      []model.MethodUsage
		judged     bool
		keyProof   model.Proof
		rests      bool
		compliant  bool
		unprovenIn int
	}{
		{"no-sign-ins-known-is-not-judged", "u", nil, false, "", false, true, 0},
		{"key-never-used-rests-on-it", "u", []model.MethodUsage{phoneUsed}, true, model.ProofNone, true, true, 1},
		{"key-used-last-month-is-proven", "u", []model.MethodUsage{phoneUsed, {Kind: model.KindFIDO2, Instance: "Blue key", LastUsed: day(30)}}, true, model.ProofWorking, false, true, 0},
		{"key-used-before-the-window-is-stale", "u", []model.MethodUsage{phoneUsed, {Kind: model.KindFIDO2, LastUsed: day(120)}}, true, model.ProofStale, true, true, 1},
		{"key-failed-after-it-worked", "u", []model.MethodUsage{phoneUsed, {Kind: model.KindFIDO2, LastUsed: day(10), LastFailed: day(2)}}, true, model.ProofFailing, true, true, 1},
		{"a-use-naming-no-registered-key-belongs-to-the-only-key", "u", []model.MethodUsage{phoneUsed, {Kind: model.KindFIDO2, Instance: "Red key", LastUsed: day(1)}}, true, model.ProofWorking, false, true, 0},
		{"count-unproven-false-leaves-the-key-out", "strict-user", []model.MethodUsage{phoneUsed}, true, model.ProofNone, true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := model.User{ID: tc.user, UserPrincipalName: tc.user, Methods: ms, Usage: tc.usage}
			a := e.EvaluateAt(model.Tenant{PasswordAuth: model.PasswordCloud}, &u, now)
			if got := len(a.Proof) > 0; got != tc.judged {
				t.Fatalf("judged %v, want %v: %+v", got, tc.judged, a.Proof)
			}
			if a.RestsOnUnproven != tc.rests || a.Compliant != tc.compliant || len(a.UnprovenPaths) != tc.unprovenIn {
				t.Errorf("rests %v compliant %v unproven paths %v; want %v %v %d", a.RestsOnUnproven, a.Compliant, a.UnprovenPaths, tc.rests, tc.compliant, tc.unprovenIn)
			}
			if !tc.judged {
				return
			}
			i := slices.IndexFunc(a.Proof, func(p model.MethodProof) bool { return p.ID == "key1" })
			if i < 0 || a.Proof[i].Proof != tc.keyProof || a.Proof[i].Name != "Blue key" {
				t.Errorf("key proof %+v, want %s", a.Proof, tc.keyProof)
			}
			if tc.user == "strict-user" {
				if !slices.ContainsFunc(a.Ignored, func(ig model.IgnoredMethod) bool { return ig.ID == "key1" && ig.Reason == IgnoredUnproven }) {
					t.Errorf("ignored %+v", a.Ignored)
				}
			}
		})
	}
	// "a-use-naming-no-registered-key-belongs-to-the-only-key": with one key registered, a use
	// naming another key still belongs to it (docs/USAGE.md), so it counts.
}

func TestDecideAsksOnceToTryAnUnprovenMethod(t *testing.T) {
	t.Parallel()
	e := New(nil)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	resting := model.Assessment{UserID: "u", Tier: "standard", Compliant: true, Diversity: 2, MinDiversity: 2, RestsOnUnproven: true,
		Proof: []model.MethodProof{{ID: "phone", Kind: model.KindMobilePhone, Proof: model.ProofWorking}, {ID: "key1", Kind: model.KindFIDO2, Proof: model.ProofNone}}}
	proven := resting
	proven.RestsOnUnproven = false
	proven.Proof = []model.MethodProof{{ID: "key1", Kind: model.KindFIDO2, Proof: model.ProofWorking}}
	nudged := model.NudgeHistory{Nudges: []time.Time{now.Add(-time.Hour)}}
	below := resting
	below.Compliant, below.Diversity = false, 1
	below.Violations = []model.Violation{model.ViolationBelowMinDiversity}
	belowOther := below
	belowOther.RestsOnUnproven = false
	for _, tc := range []struct {
		name     string
		prev     *model.Assessment
		cur      model.Assessment
		h        model.NudgeHistory
		baseline bool
		want     model.DecisionKind
		try      []string
	}{
		{"newly-resting-is-nudged", &proven, resting, model.NudgeHistory{}, false, model.DecisionNudge, []string{"key1"}},
		{"first-assessment-resting-is-nudged", nil, resting, model.NudgeHistory{}, false, model.DecisionNudge, []string{"key1"}},
		{"still-resting-is-not-nudged-again", &resting, resting, nudged, false, model.DecisionNone, nil},
		{"baseline-records-only", nil, resting, model.NudgeHistory{}, true, model.DecisionNone, nil},
		{"key-used-resolves-the-nudge", &resting, proven, nudged, false, model.DecisionResolve, nil},
		{"proven-and-never-nudged-is-quiet", &proven, proven, model.NudgeHistory{}, false, model.DecisionNone, nil},
		// countUnproven: false: below policy only without the unproven key.
		{"below-policy-without-the-unproven-key-is-asked-to-try-it", &proven, below, model.NudgeHistory{}, false, model.DecisionNudge, []string{"key1"}},
		{"a-reminder-asks-again", &below, below, model.NudgeHistory{Nudges: []time.Time{now.AddDate(0, 0, -9)}}, false, model.DecisionNudge, []string{"key1"}},
		{"below-policy-for-another-reason-is-not-asked-to-try", &proven, belowOther, model.NudgeHistory{}, false, model.DecisionNudge, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Decide(DecisionInput{Previous: tc.prev, Current: tc.cur, History: tc.h, Now: now, Baseline: tc.baseline})
			if d.Kind != tc.want || !slices.Equal(d.Try, tc.try) {
				t.Errorf("decision %s try %v, want %s %v; reasons %v", d.Kind, d.Try, tc.want, tc.try, d.Reasons)
			}
		})
	}
}

func TestProofPolicyKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, tier, wantErr string }{
		{"negative-window", "proofWindow: -1d", "proofWindow"},
		{"count-unproven-without-window", "countUnproven: false", "countUnproven needs a proofWindow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte("tiers:\n  - name: t\n    match: {all: true}\n    " + tc.tier + "\n"))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
	p, err := ParsePolicy([]byte(proofPolicy))
	if err != nil || p.ShortestProofWindow() != 90*24*time.Hour || DefaultPolicy().ShortestProofWindow() != 0 {
		t.Errorf("shortest window: %v", err)
	}
}
