package rules

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

func TestDefaultPolicyIsSpec(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	if len(p.Tiers) != 3 || p.Tiers[0].Name != "emergency-access" || p.Tiers[1].Name != "privileged" || p.Tiers[2].Name != "standard" {
		t.Fatalf("tiers = %+v", p.Tiers)
	}
	if ea := p.Tiers[0]; !ea.EmergencyAccess || ea.MinDiversity != 2 || len(ea.Accept) != 0 || len(p.EmergencyAccessGroups) != 0 {
		t.Errorf("emergency-access = %+v, groups %v", ea, p.EmergencyAccessGroups)
	}
	priv, std := p.Tiers[1], p.Tiers[2]
	if priv.MinDiversity != 2 || len(priv.Accept) != 0 || !priv.RequirePhishingResistant || priv.OnViolation != "ticket" {
		t.Errorf("privileged = %+v", priv)
	}
	if std.MinDiversity != 2 || len(std.Accept) != 1 || std.Accept[0] != "entra-mfa" || !std.RequireNonTelephony || std.OnViolation != "nudge" || !std.Match.All {
		t.Errorf("standard = %+v", std)
	}
	if time.Duration(p.Nudges.Cooldown) != 7*24*time.Hour || p.Nudges.EscalateAfter != 3 {
		t.Errorf("nudges = %+v", p.Nudges)
	}
	for _, role := range priv.Match.Roles {
		if roleTemplateIDs[strings.ToLower(role)] == "" {
			t.Errorf("role %q has no template id", role)
		}
	}
}

func TestParsePolicyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, yaml, want string }{
		{"unknown-key-is-an-error", "tiers:\n  - name: a\n    match: {all: true}\n    minDiversty: 2\n", "minDiversty"},
		{"no-tiers", "nudges: {cooldown: 7d}\n", "no tiers"},
		{"accepting-a-device-is-refused", "tiers:\n  - name: a\n    match: {all: true}\n    accept: [mobile-device]\n", "only shared services"},
		{"bad-on-violation", "tiers:\n  - name: a\n    match: {all: true}\n    onViolation: email\n", "not nudge or ticket"},
		{"empty-match", "tiers:\n  - name: a\n    minDiversity: 1\n", "selects nobody"},
		{"duplicate-name", "tiers:\n  - name: a\n    match: {all: true}\n  - name: a\n    match: {all: true}\n", "repeats"},
		{"bad-duration", "tiers:\n  - name: a\n    match: {all: true}\nnudges: {cooldown: soon}\n", "duration"},
		{"not-yaml", "tiers: [", "policy"},
		{"null", "null\n", "policy: invalid input: the policy is null"},
		{"empty", "# nothing\n", "policy: invalid input: the policy is empty"},
		{"second-document", "tiers:\n  - name: a\n    match: {all: true}\n---\ntiers: []\n", "a second YAML document at line 4"},
		{"trailing-garbage", "tiers:\n  - name: a\n    match: {all: true}\n}}}\n", "policy: invalid input: yaml: line 3: did not find expected key"},
		{"duplicate-key", "tiers:\n  - name: a\n    match: {all: true}\ntiers: []\n", `mapping key "tiers" already defined`},
		{"duplicate-key-in-a-tier", "tiers:\n  - name: a\n    name: b\n    match: {all: true}\n", `mapping key "name" already defined`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePolicy([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
			if err != nil && !errors.Is(err, model.ErrInvalidInput) {
				t.Errorf("err %v is not ErrInvalidInput", err)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "3600": time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// The policy shown in docs/POLICY.md is a valid policy, and so is the
// example shipped in events/.
func TestDocumentedPoliciesParse(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/POLICY.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/POLICY.md has no yaml block")
	}
	if _, err := ParsePolicy([]byte(block)); err != nil {
		t.Errorf("docs/POLICY.md: %v", err)
	}
	if _, err := LoadPolicy("../../events/policy-example.yaml"); err != nil {
		t.Errorf("events/policy-example.yaml: %v", err)
	}
}
