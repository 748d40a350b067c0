package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

type userRef struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
}

type whatifOutput struct {
	Down           []string  `json:"down"`
	LockedOut      []userRef `json:"lockedOut"`
	WithoutAnyPath []userRef `json:"withoutAnyPath"`
	// Total is the number of users in the snapshot.
	Total int `json:"total"`
}

func runWhatif(e env, args []string) int {
	synopsis, about := helpText("whatif")
	fs := flagSet(e, "whatif", synopsis, about+" "+strings.Join(model.DependencyKinds[1:], ", "))
	directory := fs.String("directory", "", "directory snapshot `file`")
	var down stringList
	fs.Var(&down, "down", "failing dependency `ids`, comma-separated or repeated")
	format := fs.String("format", "table", "output `format`: table or json")
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	if len(down) == 0 {
		return usageError(e, fs, "--down DEP is required")
	}
	if *format != "table" && *format != "json" {
		return usageError(e, fs, "--format must be table or json, not %q", *format)
	}
	outage, err := rules.ParseOutage(down...)
	if err != nil {
		return usageError(e, fs, "%v", err)
	}
	dir, code := loadDirectory(e, fs, *directory)
	if code >= 0 {
		return code
	}
	out := whatif(dir, outage)
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	if *format == "json" {
		if err := writeJSON(w, out); err != nil {
			return inputError(e, err)
		}
		return exitOK
	}
	together := " together"
	if len(out.Down) == 1 {
		together = ""
	}
	fmt.Fprintf(w, "If %s failed%s, %d of %d users would be locked out.\n", strings.Join(out.Down, " and "), together, len(out.LockedOut), out.Total)
	for _, u := range out.LockedOut {
		fmt.Fprintf(w, "  %s\t%s\n", u.UserPrincipalName, u.ID)
	}
	if len(out.WithoutAnyPath) > 0 {
		fmt.Fprintf(w, "%d users have no multifactor sign-in path even without an outage:\n", len(out.WithoutAnyPath))
		for _, u := range out.WithoutAnyPath {
			fmt.Fprintf(w, "  %s\t%s\n", u.UserPrincipalName, u.ID)
		}
	}
	return exitOK
}

func whatif(dir *model.Directory, o rules.Outage) whatifOutput {
	out := whatifOutput{Down: o.Down(), LockedOut: []userRef{}, WithoutAnyPath: []userRef{}, Total: len(dir.Users)}
	for i := range dir.Users {
		u := &dir.Users[i]
		locked, hasPath := rules.LockedOut(dir.Tenant, u, o)
		ref := userRef{u.ID, u.UserPrincipalName}
		switch {
		case !hasPath:
			out.WithoutAnyPath = append(out.WithoutAnyPath, ref)
		case locked:
			out.LockedOut = append(out.LockedOut, ref)
		}
	}
	return out
}
