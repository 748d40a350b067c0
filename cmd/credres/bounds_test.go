package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/local"
)

// endlessJSON is standard input that never ends: an array opened and never
// closed, then white space for ever.
type endlessJSON struct{ started bool }

func (r *endlessJSON) Read(p []byte) (int, error) {
	n := 0
	if !r.started {
		p[0], n, r.started = '[', 1, true
	}
	for ; n < len(p); n++ {
		p[n] = ' '
	}
	return n, nil
}

// zeros is /dev/zero.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func runWith(stdin any, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	e := env{stdout: &out, stderr: &errOut}
	switch in := stdin.(type) {
	case string:
		e.stdin = strings.NewReader(in)
	case *endlessJSON:
		e.stdin = in
	case zeros:
		e.stdin = in
	}
	code := run(e, args)
	return code, out.String(), errOut.String()
}

// Input that never ends is bad input (exit 1) with an error that says so,
// not a process out of memory (exit 2).
func TestParseEndlessInput(t *testing.T) {
	saved := maxDocumentBytes
	maxDocumentBytes = 1 << 20
	defer func() { maxDocumentBytes = saved }()

	code, _, errOut := runWith(&endlessJSON{}, "parse")
	if code != exitBadInput || !strings.Contains(errOut, "credres: standard input: document 0: invalid input: document larger than 1048576 bytes (1 MiB)") {
		t.Errorf("endless JSON: exit %d, %s", code, errOut)
	}
	code, _, errOut = runWith(zeros{}, "parse")
	if code != exitBadInput || !strings.Contains(errOut, `credres: standard input: document 0: invalid input: invalid character '\x00'`) {
		t.Errorf("zeros: exit %d, %s", code, errOut)
	}
}

func TestParseNullTrailingAndDuplicates(t *testing.T) {
	t.Parallel()
	rec := `{"activityDisplayName":"Add member to group"}`
	for _, tc := range []struct{ in, want string }{
		{`null`, "credres: standard input: record 0: invalid input: null, not a JSON object"},
		{`{"records":[` + rec + `]} garbage`, "credres: standard input: document 1: invalid input: invalid character 'g'"},
		{`{"records":[{"activityDisplayName":"a","activityDisplayName":"b"}]}`, `credres: standard input: record 0: invalid input: duplicate key "activityDisplayName"`},
		{``, "credres: standard input: invalid input: no JSON document"},
	} {
		code, _, errOut := credres(t, tc.in, "parse")
		if code != exitBadInput || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %s, want %s", tc.in, code, errOut, tc.want)
		}
	}
}

// demo --events reads each file whole, up to a limit: /dev/zero is an error
// naming the limit.
func TestDemoEventsLimit(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	saved := local.MaxAuditFileBytes
	local.MaxAuditFileBytes = 1 << 20
	defer func() { local.MaxAuditFileBytes = saved }()
	code, _, errOut := credres(t, "", "demo", "--events", "/dev/zero", "--state", t.TempDir())
	if code != exitBadInput || strings.TrimSpace(errOut) != "credres: events: /dev/zero: input larger than 1048576 bytes (1 MiB)" {
		t.Errorf("exit %d, %s", code, errOut)
	}
}

// badMethodSnapshot is the sample tenant with user 29's second method
// spoiled.
func badMethodSnapshot(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	users := doc["users"].([]any)
	methods := users[29].(map[string]any)["methods"].([]any)
	methods[1].(map[string]any)["createdDateTime"] = "yesterday"
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tenant.json")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// One bad method in user 29 names the user and the method; the other users
// are assessed and printed, and the exit status is 1.
func TestAssessBadMethodInOneUser(t *testing.T) {
	t.Parallel()
	file := badMethodSnapshot(t)
	const want = `credres: ` + "%s" + `: decode directory: user 29 (id "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a30", userPrincipalName "delia.dennis@contoso.example"): invalid input: method 1 (@odata.type "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", id "ac7260d7-094d-4f1b-8d56-a959c53abe07"): created time "yesterday"`
	code, out, errOut := credres(t, "", "assess", "--directory", file, "--format", "json")
	if code != exitBadInput || strings.TrimSpace(errOut) != strings.Replace(want, "%s", file, 1) {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, strings.Replace(want, "%s", file, 1))
	}
	var got assessOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != 45 || got.Summary.Users != 45 {
		t.Errorf("%d users assessed, want the other 45", len(got.Users))
	}
	for _, a := range got.Users {
		if a.UserID == "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a30" {
			t.Errorf("the user with the bad method was assessed")
		}
	}
	// The table and the other commands that read a snapshot go on too.
	for _, args := range [][]string{
		{"assess", "--directory", file},
		{"report", "--directory", file},
		{"whatif", "--directory", file, "--down", "phone-carrier"},
		{"explain", "--directory", file, "--user", "adele.vance@contoso.example"},
		{"demo", "--directory", file, "--events", "none", "--sweep", "--state", t.TempDir(), "--quiet"},
	} {
		code, out, errOut := credres(t, "", args...)
		if code != exitBadInput || !strings.Contains(errOut, "user 29 (id") || out == "" {
			t.Errorf("%s: exit %d, stderr %s, %d bytes out", args[0], code, errOut, len(out))
		}
	}
}

// A snapshot that is null, has data after it, gives a key twice or never
// ends is bad input (exit 1), named.
func TestAssessSnapshotIsWhole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample, err := os.ReadFile(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ data, want string }{
		"null":     {"null\n", "invalid input: the snapshot is null, not an object"},
		"trailing": {string(sample) + "\n{}", "invalid input: invalid JSON: data after the top-level value"},
		"dup":      {`{"users":[],"users":[]}`, `invalid input: duplicate key "users"`},
		"dup-user": {`{"users":[{"id":"u","id":"v"}]}`, `user 0 (id "v"): invalid input: duplicate key "id"`},
	} {
		file := filepath.Join(dir, name+".json")
		if err := os.WriteFile(file, []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := credres(t, "", "assess", "--directory", file)
		if code != exitBadInput || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, %s, want %s", name, code, errOut, tc.want)
		}
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		code, _, errOut := credres(t, "", "assess", "--directory", "/dev/zero")
		if code != exitBadInput || !strings.Contains(errOut, `/dev/zero: decode directory: invalid input: invalid JSON: '\x00' where '{' was expected at offset 0`) {
			t.Errorf("/dev/zero: exit %d, %s", code, errOut)
		}
	}
}

// Sign-in files are read one document at a time too: /dev/zero is bad input.
func TestSignInsFromDevZero(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	code, _, errOut := credres(t, "", "explain", "--directory", sampleTenant, "--user", "adele.vance@contoso.example", "--signins", "/dev/zero")
	if code != exitBadInput || !strings.Contains(errOut, `sign-ins /dev/zero: document 0: invalid input: invalid character '\x00'`) {
		t.Errorf("exit %d, %s", code, errOut)
	}
}
