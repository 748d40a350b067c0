package wiring

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestTenantAndEngine(t *testing.T) {
	e := NewSettings(env(map[string]string{
		EnvTenantID: "t1", EnvPasswordAuth: "federated", EnvPHSFallback: "true",
		EnvPolicy: "tiers:\n  - name: all\n    match: {all: true}\n    minDiversity: 1\n",
	}))
	tn := e.Tenant()
	eng := e.Engine()
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if tn.ID != "t1" || tn.PasswordAuth != model.PasswordFederated || !tn.PHSFallback {
		t.Errorf("tenant %+v", tn)
	}
	if eng.Policy().Tiers[0].Name != "all" {
		t.Errorf("policy not loaded")
	}
	if NewSettings(env(nil)).Engine().Policy().Tiers[0].Name != "emergency-access" {
		t.Errorf("default policy not embedded")
	}
}

func TestEveryProblemIsNamed(t *testing.T) {
	e := NewSettings(env(map[string]string{EnvPasswordAuth: "ldap", EnvPHSFallback: "maybe", EnvIngestBudget: "soon", EnvPolicy: "tiers: ["}))
	e.Tenant()
	e.Duration(EnvIngestBudget, time.Minute)
	e.Required(EnvStateTable)
	e.Engine()
	err := e.Err()
	for _, name := range []string{EnvTenantID, EnvPasswordAuth, EnvPHSFallback, EnvIngestBudget, EnvStateTable, EnvPolicy} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("not ErrInvalidInput: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	e := NewSettings(env(map[string]string{EnvSweepMaxAge: "7d"}))
	if d := e.Duration(EnvSweepMaxAge, time.Hour); d != 7*24*time.Hour {
		t.Errorf("max age %v", d)
	}
	if d := e.Duration(EnvIngestBudget, 50*time.Second); d != 50*time.Second {
		t.Errorf("budget %v", d)
	}
	if e.Bool(EnvPHSFallback, false) || e.Int("X", 3) != 3 || e.Optional("X", "d") != "d" || e.Err() != nil {
		t.Errorf("defaults wrong: %v", e.Err())
	}
}
