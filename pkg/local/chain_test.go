package local

import (
	"context"
	"testing"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// TestChainReadsEachReceiverAndCommitsThem drains the sample audit events
// and sample sign-ins as one stream: every file is read once, in order, and
// both sources are checkpointed.
func TestChainReadsEachReceiverAndCommitsThem(t *testing.T) {
	audit, err := ReadAuditFiles(nil, "../../events/audit")
	if err != nil {
		t.Fatal(err)
	}
	signIns, err := ReadAuditFiles(nil, "../../events/signin")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := Chain(audit, signIns)
	var positions []string
	for {
		msgs, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			positions = append(positions, m.Position)
		}
		if err := c.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(positions) != 11 || positions[0] != "audit/eventhub-admin-registered-tap.json" || positions[10] != "signin/graph-signins-list.json" {
		t.Errorf("read %q", positions)
	}
	if !audit.Committed || !signIns.Committed {
		t.Errorf("committed: audit %v, sign-ins %v", audit.Committed, signIns.Committed)
	}
}

// TestRunReportsUsage runs the sample events through the local pipeline:
// the result lists what the sign-ins changed in the usage store, and a
// second run of the same sign-ins changes nothing.
func TestRunReportsUsage(t *testing.T) {
	dir, err := graphjson.LoadDirectory("../../events/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	at := time.Date(2025, 3, 19, 18, 0, 0, 0, time.UTC)
	run := func() *Result {
		t.Helper()
		audit, err := ReadAuditFiles(nil, "../../events/audit")
		if err != nil {
			t.Fatal(err)
		}
		signIns, err := ReadAuditFiles(nil, "../../events/signin")
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), Config{Directory: dir, StateDir: state, Engine: rules.New(nil),
			Now: func() time.Time { return at }, Events: Chain(audit, signIns)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run()
	if res.Ingest.SignInRecords != 15 || res.Ingest.SignIns != 12 {
		t.Errorf("%d sign-in records, %d sign-ins, want 15 and 12", res.Ingest.SignInRecords, res.Ingest.SignIns)
	}
	const joni = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a09"
	day := time.Date(2025, 3, 19, 0, 0, 0, 0, time.UTC)
	var changes, users int
	for _, u := range res.Usage {
		users++
		changes += len(u.Changes)
		if u.UserID != joni {
			continue
		}
		want := map[string]model.MethodUsage{
			"fido2/Joni's YubiKey":              {Kind: model.KindFIDO2, Instance: "Joni's YubiKey", LastFailed: day},
			"microsoft-authenticator/iPhone 13": {Kind: model.KindAuthenticator, Instance: "iPhone 13", LastUsed: day},
			"password/":                         {Kind: model.KindPassword, LastUsed: day},
		}
		for _, c := range u.Changes {
			if w, ok := want[c.After.Key()]; !ok || c.After != w || c.Before != (model.MethodUsage{Kind: w.Kind, Instance: w.Instance}) {
				t.Errorf("Joni: change %+v, want %+v from nothing", c, w)
			}
			delete(want, c.After.Key())
		}
		if len(want) > 0 {
			t.Errorf("Joni: no change for %v", want)
		}
	}
	if users != 9 || changes != res.Ingest.UsageWrites || changes != 18 {
		t.Errorf("%d users, %d changes, %d writes; want 9 users and 18 changes, one per write", users, changes, res.Ingest.UsageWrites)
	}
	if again := run(); len(again.Usage) != 0 || again.Ingest.UsageWrites != 18 {
		t.Errorf("second run: %d users changed, %d writes; want none changed of 18", len(again.Usage), again.Ingest.UsageWrites)
	}
}
