package report

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// A report built from the users a few at a time, as credres report reads
// a snapshot, is the report Build and AddUsage make of the whole
// directory: the same JSON and CSV, byte for byte, the usage section
// included (with sign-ins, folded as the users are added rather than by
// MergeSignIns first; with the users' usage alone; and with neither),
// whether written straight from the rows the builder kept or from the
// Report it returns.
func TestBuilderInBatchesIsBuild(t *testing.T) {
	t.Parallel()
	hybrid := synth.Tenant(500, 7)
	hybrid.Tenant.PasswordAuth, hybrid.Tenant.PHSFallback = model.PasswordPTA, false
	dirs := map[string]*model.Directory{"sample": loadSample(t), "registration": registrationSample(t), "hybrid": hybrid}
	for name, d := range usageTenants(t) {
		dirs[name] = d
	}
	withUsage := synth.Tenant(300, 9)
	MergeSignIns(withUsage, signInsFor(withUsage, 2))
	dirs["usage-only"] = withUsage
	for name, d := range dirs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var signIns = signInsFor(d, 1)
			if name != "synth-1" && name != "synth-5" {
				signIns = nil
			}
			folded := *d
			folded.Users = slices.Clone(d.Users)
			for i := range folded.Users {
				folded.Users[i].Usage = slices.Clone(d.Users[i].Usage)
			}
			MergeSignIns(&folded, signIns)
			p := rules.DefaultPolicy()
			usage := rules.New(WithProofWindow(p, DefaultProofWindow)).At(usageNow)
			whole := Build(&folded, rules.New(p).At(usageNow))
			if len(signIns) > 0 || name == "usage-only" {
				whole.AddUsage(&folded, usage, signIns, usageNow, DefaultProofWindow)
			}

			head := &model.Directory{Tenant: d.Tenant}
			b := NewBuilder(head, rules.New(p).At(usageNow))
			b.JudgeUsage(usage, signIns, usageNow, DefaultProofWindow)
			for lo := 0; lo < len(d.Users); lo += 7 {
				b.Add(d.Users[lo:min(lo+7, len(d.Users))])
			}
			head.ExportedAt = d.ExportedAt // read after the users
			generated := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			var kept [2]bytes.Buffer
			if err := b.WriteJSON(&kept[0], generated); err != nil {
				t.Fatal(err)
			}
			if err := b.WriteCSV(&kept[1], generated); err != nil {
				t.Fatal(err)
			}
			batched := b.Report()
			if (whole.Usage == nil) != (batched.Usage == nil) {
				t.Fatalf("usage section: whole %v, batched %v", whole.Usage != nil, batched.Usage != nil)
			}
			whole.GeneratedAt = generated
			for k, format := range []string{"json", "csv"} {
				a := written(t, whole, format)
				if c := written(t, batched, format); !bytes.Equal(a, c) {
					t.Errorf("%s: batched report differs from Build's (%d vs %d bytes)", format, len(c), len(a))
				}
				if c := kept[k].Bytes(); !bytes.Equal(a, c) {
					t.Errorf("%s: batched report written from the rows kept differs from Build's (%d vs %d bytes)", format, len(c), len(a))
				}
			}
		})
	}
}

func written(t *testing.T, r *Report, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	write := map[string]func(io.Writer) error{"json": r.WriteJSON, "csv": r.WriteCSV}[format]
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Users that share an id (a directory made by hand: a snapshot read
// refuses them) are named once, by the last of them, as a map from ids to
// names keeps them, whether the report is written from the rows kept or
// from the Report.
func TestBuilderNamesARepeatedIDOnce(t *testing.T) {
	t.Parallel()
	d := synth.Tenant(40, 3)
	for i := range d.Users {
		d.Users[i].Methods = nil // every user listed: without any path
	}
	d.Users[7].ID, d.Users[30].ID = d.Users[20].ID, d.Users[20].ID
	e := rules.New(rules.DefaultPolicy())
	b := NewBuilder(&model.Directory{Tenant: d.Tenant}, e)
	b.Add(d.Users[:25])
	b.Add(d.Users[25:])
	var kept bytes.Buffer
	if err := b.WriteJSON(&kept, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r := b.Report()
	if got, want := r.UserPrincipalNames[d.Users[20].ID], d.Users[30].UserPrincipalName; got != want {
		t.Errorf("name of the repeated id: %q, want the last user's %q", got, want)
	}
	if len(r.UserPrincipalNames) != len(d.Users)-2 {
		t.Errorf("%d names, want %d", len(r.UserPrincipalNames), len(d.Users)-2)
	}
	if c := written(t, r, "json"); !bytes.Equal(kept.Bytes(), c) {
		t.Errorf("written from the rows kept: %d bytes, from the Report: %d", kept.Len(), len(c))
	}
}
