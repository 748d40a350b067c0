package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/credres/credres/internal/golden"
)

func outboxLines(t *testing.T, state, file string) []map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join(state, "outbox", file))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, m)
	}
	return out
}

func TestDemoRunsTheWholeCycle(t *testing.T) {
	state := t.TempDir()
	const now = "2026-11-26T09:00:00Z"

	code, out, errOut := credres(t, "", "demo", "--state", state, "--now", now)
	if code != exitOK {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
	}
	nudges, tickets := outboxLines(t, state, "nudges.jsonl"), outboxLines(t, state, "tickets.jsonl")
	if len(nudges) != 2 || len(tickets) != 1 || tickets[0]["status"] != "open" {
		t.Fatalf("first run: %d nudges, %d tickets\n%s", len(nudges), len(tickets), out)
	}
	for _, line := range append(nudges, tickets...) {
		for _, key := range []string{"userId", "decision", "violations", "reasons", "time"} {
			if _, ok := line[key]; !ok {
				t.Errorf("outbox line lacks %q: %v", key, line)
			}
		}
	}
	if tickets[0]["ticketId"] == "" {
		t.Errorf("ticket without ticketId: %v", tickets[0])
	}

	code, out, _ = credres(t, "", "demo", "--state", state, "--now", "2026-11-27T09:00:00Z")
	if code != exitOK || !strings.Contains(out, "nothing new to send") {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if n, m := len(outboxLines(t, state, "nudges.jsonl")), len(outboxLines(t, state, "tickets.jsonl")); n != 2 || m != 1 {
		t.Fatalf("second run sent more: %d nudges, %d tickets", n, m)
	}

	code, out, _ = credres(t, "", "demo", "--state", state, "--now", "2026-11-28T09:00:00Z", "--directory", "../../events/tenant-after.json")
	if code != exitOK {
		t.Fatalf("third run: exit %d\n%s", code, out)
	}
	nudges, tickets = outboxLines(t, state, "nudges.jsonl"), outboxLines(t, state, "tickets.jsonl")
	if len(nudges) != 3 || len(tickets) != 2 {
		t.Fatalf("third run: %d nudges, %d tickets\n%s", len(nudges), len(tickets), out)
	}
	if tickets[1]["status"] != "resolved" || tickets[1]["ticketId"] != tickets[0]["ticketId"] {
		t.Errorf("the fix must resolve the same ticket: %v then %v", tickets[0]["ticketId"], tickets[1])
	}
	if nudges[2]["userId"] != "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a02" {
		t.Errorf("alex, who deleted Authenticator, must be nudged: %v", nudges[2])
	}

	// A week later a sweep re-evaluates everyone assessed more than 7 days
	// ago and the cooldown has passed: the still non-compliant get reminders.
	code, out, _ = credres(t, "", "demo", "--state", state, "--events", "none", "--sweep", "--max-age", "7d", "--now", "2026-12-06T09:00:00Z")
	if code != exitOK || !strings.Contains(out, "reminder") {
		t.Fatalf("sweep: exit %d\n%s", code, out)
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--baseline"},
		{"demo", "--sweep", "--baseline", "--campaign"},
		{"demo", "--now", "yesterday"},
	} {
		if code, _, _ := credres(t, "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"records":[42]}`), 0o644)
	code, out, _ := credres(t, "", "demo", "--state", dir, "--events", bad)
	if code != exitBadInput || !strings.Contains(out, "malformed") {
		t.Errorf("malformed events: exit %d\n%s", code, out)
	}
}

// TestDemoGolden pins what the demo prints (messages aside) on the sample
// tenant, audit events and sign-ins: with the default policy, which records
// the sign-ins' usage and judges nothing by it, and with the tiers'
// proofWindow of events/policy-proof.yaml at the day of the sample
// sign-ins, where users compliant only through methods the logs do not
// prove are nudged to try them. A second run of the same events records
// nothing new.
func TestDemoGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"demo-sample.txt", []string{"--now", "2026-11-26T09:00:00Z"}},
		{"demo-proof.txt", []string{"--policy", "../../events/policy-proof.yaml", "--now", "2025-03-19T18:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			var all strings.Builder
			for run := 1; run <= 2; run++ {
				code, out, errOut := credres(t, "", append([]string{"demo", "--quiet", "--state", state}, tc.args...)...)
				if code != exitOK {
					t.Fatalf("run %d: exit %d\n%s%s", run, code, out, errOut)
				}
				fmt.Fprintf(&all, "== run %d\n%s", run, strings.ReplaceAll(out, state, "<state>"))
			}
			golden.Assert(t, filepath.Join("testdata", tc.name), all.String())
		})
	}
}

// TestDemoProofNudgesJoniToTryHerKey checks the sign-ins' effect beyond the
// printed lines: Joni's security key failed at her last sign-in, so her
// compliance rests on it and she is asked to check it, once.
func TestDemoProofNudgesJoniToTryHerKey(t *testing.T) {
	state := t.TempDir()
	args := []string{"demo", "--quiet", "--state", state, "--policy", "../../events/policy-proof.yaml", "--now", "2025-03-19T18:00:00Z"}
	if code, out, errOut := credres(t, "", args...); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	const joni = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a09"
	var found int
	for _, n := range outboxLines(t, state, "nudges.jsonl") {
		if n["userId"] != joni {
			continue
		}
		found++
		if s, _ := n["text"].(string); !strings.Contains(s, `"Joni's YubiKey"`) {
			t.Errorf("Joni's nudge does not name her key: %v", n)
		}
	}
	if found != 1 {
		t.Fatalf("%d nudges to Joni, want 1", found)
	}
	if code, out, _ := credres(t, "", append(args[:len(args)-1], "2025-03-20T18:00:00Z")...); code != exitOK || !strings.Contains(out, "nothing new to send") {
		t.Fatalf("second day: exit %d\n%s", code, out)
	}
}

// TestDemoPolicyChange plays make demo's policy change: the sample tenant
// recorded, then the sample Conditional Access change with the tenant as it
// is after it, then the end of the grace period.
func TestDemoPolicyChange(t *testing.T) {
	state := t.TempDir()
	policy := []string{"--state", state, "--policy", "../../events/policy-example.yaml"}
	after := append(slices.Clone(policy), "--directory", "../../events/tenant-policy-change.json")
	code, out, errOut := credres(t, "", append([]string{"demo"}, append(slices.Clone(policy), "--events", "none", "--sweep", "--baseline", "--now", "2026-11-30T09:00:00Z", "--quiet")...)...)
	if code != 0 {
		t.Fatalf("baseline: exit %d\n%s%s", code, out, errOut)
	}
	change := "../../events/policy-changes/eventhub-update-conditional-access-policy.json"
	code, out, errOut = credres(t, "", append([]string{"demo"}, append(slices.Clone(after), "--events", change, "--now", "2026-12-01T10:00:00Z", "--quiet")...)...)
	if code != 0 {
		t.Fatalf("change: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"ingest: 1 changes of the tenant's own policy recorded for the sweep (0 repeated)",
		"every user of 46 -> 46 evaluation requests",
		"nudge: 0 delivered",
		"ticket: one tenant-side ticket CR-",
		"6 users dropped, the first nudges of 5 held until 2026-12-04T09:14:22Z",
		"(the tenant changed its own policy: the first nudge waits until 2026-12-04 09:14 UTC",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the change's run lacks %q:\n%s", want, out)
		}
	}
	// The same record again: nothing.
	code, out, _ = credres(t, "", append([]string{"demo"}, append(slices.Clone(after), "--events", change, "--now", "2026-12-01T11:00:00Z", "--quiet")...)...)
	if code != 0 || !strings.Contains(out, "(1 repeated)") || strings.Contains(out, "tenant-side ticket") || !strings.Contains(out, "nudge: 0 delivered") {
		t.Errorf("the record again:\n%s", out)
	}
	code, out, _ = credres(t, "", append([]string{"demo"}, append(slices.Clone(after), "--events", "none", "--now", "2026-12-05T10:00:00Z", "--quiet")...)...)
	if code != 0 || !strings.Contains(out, "a policy change's grace period ended") || !strings.Contains(out, "nudge: 5 delivered") {
		t.Errorf("after the grace period:\n%s", out)
	}
}
