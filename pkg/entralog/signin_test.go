package entralog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/entralog"
	"github.com/credres/credres/pkg/model"
)

// signInInputs are the sample sign-ins of events/signin and the test-only
// inputs of testdata/signin.
func signInInputs(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../../events/signin/*.json", "testdata/signin/*.json"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("only %d sign-in inputs", len(files))
	}
	return files
}

// TestParseGolden pins what every sample and test input normalises to: a
// summary line (records, sign-in records, skips, unknown methods), one line
// per sign-in (with each step's time), one per audit event, one per error.
// Run with -update to rewrite; review the diff like code.
func TestParseGolden(t *testing.T) {
	t.Parallel()
	for _, in := range signInInputs(t) {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			b, perr := entralog.Parse(data)
			got := signInGoldenLines(t, b, perr)
			golden.Assert(t, filepath.Join("testdata", "signin", name+".golden.jsonl"), got)
		})
	}
}

func signInGoldenLines(t *testing.T, b entralog.Batch, perr error) []byte {
	t.Helper()
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	must := func(v any) {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	must(map[string]any{"records": b.Records, "signInRecords": b.SignInRecords, "skipped": b.Skipped, "unknown": b.Unknown})
	for _, si := range b.SignIns {
		type step struct {
			entralog.MethodUse
			Time time.Time `json:"time"`
		}
		steps := make([]step, len(si.Methods))
		for i, m := range si.Methods {
			steps[i] = step{m, m.Time}
		}
		must(map[string]any{"signin": si, "steps": steps})
	}
	for _, ev := range b.Audit {
		must(map[string]any{"audit": ev})
	}
	if perr != nil {
		var joined interface{ Unwrap() []error }
		errs := []error{perr}
		if errors.As(perr, &joined) {
			errs = joined.Unwrap()
		}
		for _, e := range errs {
			if !errors.Is(e, model.ErrInvalidInput) {
				t.Errorf("error %v does not wrap ErrInvalidInput", e)
			}
			must(map[string]string{"error": e.Error()})
		}
	}
	return out.Bytes()
}

// TestMappingTable pins the documented table: every value the code maps is
// in docs/USAGE.md with the same kind, and the table lists no other value.
func TestMappingTable(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/USAGE.md")
	if err != nil {
		t.Fatal(err)
	}
	// Only the rows of "## The mapping table": other sections have tables
	// of their own (flags, fields).
	_, section, _ := strings.Cut(string(doc), "\n## The mapping table\n")
	section, _, _ = strings.Cut(section, "\n## ")
	documented := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		value := strings.ToLower(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		kind := strings.Trim(strings.TrimSpace(cells[2]), "`")
		if kind == "(skipped)" {
			kind = ""
		}
		documented[value] = kind
	}
	var missing []string
	for _, m := range entralog.MappedMethods() {
		kind, ok := documented[m[0]]
		switch {
		case !ok:
			missing = append(missing, m[0])
		case kind != m[1]:
			t.Errorf("%q maps to %q, docs/USAGE.md says %q", m[0], m[1], kind)
		}
		delete(documented, m[0])
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("values missing from docs/USAGE.md: %q", missing)
	}
	for v := range documented {
		t.Errorf("docs/USAGE.md lists %q, which the code does not map", v)
	}
}

func TestStepMapping(t *testing.T) {
	t.Parallel()
	rec := func(steps string) []byte {
		return []byte(fmt.Sprintf(`{"id":"s1","createdDateTime":"2025-03-19T08:00:00Z","appId":"a","userId":"u1","authenticationDetails":%s}`, steps))
	}
	for _, tc := range []struct {
		name  string
		steps string
		want  []entralog.MethodUse
		skip  string
	}{
		{"key-name-without-aaguid", `[{"authenticationMethod":"FIDO2 security key","authenticationMethodDetail":"My Security Key - ee882879-721c-4913-9775-3dfcce97072a","succeeded":true}]`,
			[]entralog.MethodUse{{Kind: model.KindFIDO2, Instance: "My Security Key", Succeeded: true, Method: "FIDO2 security key"}}, ""},
		{"phone-last-digits", `[{"authenticationMethod":"Text message","authenticationMethodDetail":"+X XXXXXXXX55","succeeded":true}]`,
			[]entralog.MethodUse{{Kind: model.KindMobilePhone, Instance: "55", Succeeded: true, Method: "Text message"}}, ""},
		{"office-phone-call", `[{"authenticationMethod":"Phone call approval (Office phone)","authenticationMethodDetail":"+X XXXXXXXX07","succeeded":false}]`,
			[]entralog.MethodUse{{Kind: model.KindOfficePhone, Instance: "07", Method: "Phone call approval (Office phone)"}}, ""},
		{"generic-authenticator-detail", `[{"authenticationMethod":"Mobile app notification","authenticationMethodDetail":"Microsoft Authenticator app","succeeded":true}]`,
			[]entralog.MethodUse{{Kind: model.KindAuthenticator, Succeeded: true, Method: "Mobile app notification"}}, ""},
		{"case-insensitive", `[{"authenticationMethod":"FIDO2 Security Key","succeeded":"true"}]`,
			[]entralog.MethodUse{{Kind: model.KindFIDO2, Succeeded: true, Method: "FIDO2 Security Key"}}, ""},
		{"previously-satisfied-proves-nothing", `[{"authenticationMethod":"Previously satisfied","succeeded":true}]`, nil, entralog.SkipSignInNoProof},
		{"claim-in-token-proves-nothing", `[{"authenticationMethod":"Mobile app notification","succeeded":true,"authenticationStepResultDetail":"MFA requirement satisfied by claim in the token"}]`, nil, entralog.SkipSignInNoProof},
		{"unknown-kept", `[{"authenticationMethod":"Carrier pigeon","succeeded":true}]`,
			[]entralog.MethodUse{{Kind: model.KindUnknown, Succeeded: true, Method: "Carrier pigeon"}}, ""},
		{"no-steps", `[]`, nil, entralog.SkipSignInNoProof},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := entralog.Parse(rec(tc.steps))
			if err != nil {
				t.Fatal(err)
			}
			if tc.skip != "" {
				if b.Skipped[tc.skip] != 1 || len(b.SignIns) != 0 {
					t.Fatalf("want skipped %s, got %+v", tc.skip, b)
				}
				return
			}
			if len(b.SignIns) != 1 {
				t.Fatalf("got %d sign-ins, skipped %v", len(b.SignIns), b.Skipped)
			}
			got := b.SignIns[0].Methods
			for i := range got {
				got[i].Time = time.Time{}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"../../events/signin/*.json", "testdata/signin/*.json", "../../events/audit/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := entralog.Parse(data)
		if err != nil && !errors.Is(err, model.ErrInvalidInput) {
			t.Fatalf("error %v does not wrap ErrInvalidInput", err)
		}
		if len(b.SignIns)+len(b.Audit) > b.Records {
			t.Fatalf("%d sign-ins and %d events from %d records", len(b.SignIns), len(b.Audit), b.Records)
		}
		for _, si := range b.SignIns {
			if si.UserID == "" || si.Time.IsZero() || len(si.Methods) == 0 {
				t.Fatalf("incomplete sign-in %+v", si)
			}
		}
	})
}
