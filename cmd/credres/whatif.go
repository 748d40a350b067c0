package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/credres/credres/pkg/graphjson"
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
	if *directory == "" {
		_, code := loadDirectory(e, fs, *directory)
		return code
	}
	run := newWhatif(outage)
	invalid, err := streamFile(*directory, graphjson.Stream{Head: run.head, Users: run.users})
	if err != nil {
		return inputError(e, err)
	}
	if invalid != nil {
		partialInput(e, invalid)
	}
	out := run.out
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

// whatifRun judges users a batch at a time, as the snapshot is read.
type whatifRun struct {
	outage rules.Outage
	tenant model.Tenant
	out    whatifOutput
}

func newWhatif(o rules.Outage) *whatifRun {
	return &whatifRun{outage: o, out: whatifOutput{Down: o.Down(), LockedOut: []userRef{}, WithoutAnyPath: []userRef{}}}
}

func (r *whatifRun) head(d *model.Directory) error {
	r.tenant = d.Tenant
	return nil
}

// users judges a batch on every core and lists its users in order.
func (r *whatifRun) users(us []model.User) error {
	const (
		fine = iota
		locked
		noPath
	)
	verdict := make([]uint8, len(us))
	rules.Chunks(len(us), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			switch isLocked, hasPath := rules.LockedOut(r.tenant, &us[i], r.outage); {
			case !hasPath:
				verdict[i] = noPath
			case isLocked:
				verdict[i] = locked
			}
		}
	})
	for i, v := range verdict {
		ref := userRef{us[i].ID, us[i].UserPrincipalName}
		switch v {
		case noPath:
			r.out.WithoutAnyPath = append(r.out.WithoutAnyPath, ref)
		case locked:
			r.out.LockedOut = append(r.out.LockedOut, ref)
		}
	}
	r.out.Total += len(us)
	return nil
}
