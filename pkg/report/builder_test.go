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
// MergeSignIns first; with the users' usage alone; and with neither).
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
			batched := b.Report()
			if (whole.Usage == nil) != (batched.Usage == nil) {
				t.Fatalf("usage section: whole %v, batched %v", whole.Usage != nil, batched.Usage != nil)
			}
			whole.GeneratedAt = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			batched.GeneratedAt = whole.GeneratedAt
			for _, format := range []string{"json", "csv"} {
				if a, c := written(t, whole, format), written(t, batched, format); !bytes.Equal(a, c) {
					t.Errorf("%s: batched report differs from Build's (%d vs %d bytes)", format, len(c), len(a))
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
