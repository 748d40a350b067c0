package graph_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

func TestReadUsersForTheEvaluateStage(t *testing.T) {
	dir := loadDir(t, "../../events/tenant.json")
	e := newEnv(t, dir, nil)
	const adele, bianca, gone = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a03", "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5aff"
	res := e.c.ReadUsers(e.ctx, []string{adele, gone, bianca})
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	if res[0].Err != nil || res[0].User.ID != adele || len(res[0].User.Methods) == 0 {
		t.Errorf("adele: %+v", res[0])
	}
	if !errors.Is(res[1].Err, model.ErrNotFound) {
		t.Errorf("deleted user: %v, want ErrNotFound", res[1].Err)
	}
	if res[2].Err != nil || res[2].User.ID != bianca {
		t.Errorf("bianca: %+v", res[2])
	}
	want, _ := dir.FindUser(adele)
	if len(res[0].User.Methods) != len(want.Methods) {
		t.Errorf("methods %d, want %d", len(res[0].User.Methods), len(want.Methods))
	}
}

func TestRegistrationsForTheSweepStage(t *testing.T) {
	dir := loadDir(t, "../../events/tenant.json")
	e := newEnv(t, dir, nil)
	var rows []model.Registration
	if err := e.c.Registrations(e.ctx, func(r model.Registration) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(dir.Users) {
		t.Errorf("%d rows, want %d", len(rows), len(dir.Users))
	}
}

func TestTokenForCallsOutsideTheSDK(t *testing.T) {
	e := newEnv(t, nil, nil)
	tok, err := e.c.Token(e.ctx)
	if err != nil || tok != testToken {
		t.Errorf("token %q, %v", tok, err)
	}
}

func TestReadUsersAnswersEachIDAsAsked(t *testing.T) {
	t.Parallel()
	dir := loadDir(t, "../../events/tenant.json")
	const adele = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01"
	want, _ := dir.FindUser(adele)
	tests := []struct {
		name string
		ids  []string
	}{
		{"object-id-in-upper-case", []string{strings.ToUpper(adele)}},
		{"user-principal-name", []string{want.UserPrincipalName}},
		{"same-user-twice-in-different-case", []string{adele, strings.ToUpper(adele)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, dir, nil)
			res := e.c.ReadUsers(e.ctx, tt.ids)
			if len(res) != len(tt.ids) {
				t.Fatalf("%d results for %d ids", len(res), len(tt.ids))
			}
			for i, r := range res {
				if r.Err != nil || r.User.ID != adele {
					t.Errorf("ids[%d] %q: user %q, err %v; want %s", i, tt.ids[i], r.User.ID, r.Err, adele)
				}
			}
		})
	}
}
