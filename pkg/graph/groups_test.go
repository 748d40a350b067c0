package graph_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
)

// A group's users are read page by page, each page one directory request;
// an unknown group is not found.
func TestGroupUsers(t *testing.T) {
	t.Parallel()
	dir := loadDir(t, "../../events/tenant.json")
	const group = "5e1f0000-0000-4000-8000-00000000ea01"
	var want []string
	for i := range dir.Users {
		if strings.HasPrefix(dir.Users[i].UserPrincipalName, "breakglass") || i == 3 {
			dir.Users[i].Groups = append(dir.Users[i].Groups, group)
			want = append(want, dir.Users[i].ID)
		}
	}
	e := newEnv(t, dir, nil, graphtest.WithListPageSize(2))
	got, err := e.c.GroupUsers(e.ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	pages := 0
	for _, r := range e.srv.Requests() {
		for _, it := range r.Items {
			if strings.HasPrefix(it.URL, "/groups/"+group+"/transitiveMembers/microsoft.graph.user") {
				pages++
				if it.Class != string(graph.ClassDirectory) {
					t.Errorf("%s: class %s, want the directory budget", it.URL, it.Class)
				}
			}
		}
	}
	if pages != 2 {
		t.Errorf("%d pages read for 3 members two a page, want 2", pages)
	}
	if _, err := e.c.GroupUsers(e.ctx, "5e1f0000-0000-4000-8000-0000000000ff"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("an unknown group: %v, want not found", err)
	}
	if _, err := e.c.GroupUsers(e.ctx, ""); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("no group id: %v, want invalid input", err)
	}
}
