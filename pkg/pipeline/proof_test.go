package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// oneUser reads the same user, whatever the ids.
type oneUser struct{ u model.User }

func (r oneUser) ReadUsers(_ context.Context, ids []string) []model.UserResult {
	out := make([]model.UserResult, len(ids))
	for i := range ids {
		out[i] = model.UserResult{User: r.u}
	}
	return out
}

// textSender keeps what reached the user.
type textSender struct{ texts []string }

func (s *textSender) SendNudge(_ context.Context, _ model.DecisionMessage, rec model.NudgeRecord) error {
	s.texts = append(s.texts, rec.Text)
	return nil
}

// A user compliant only through a security key the sign-in logs never
// showed is asked, once, to check that it works; the request stands while
// nothing changes, and ends when the key is used.
func TestUnprovenKeyIsNudgedOnceAndTheNudgeStopsWhenItIsUsed(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	policy, err := rules.ParsePolicy([]byte(`
tiers:
  - name: standard
    match: {all: true}
    minDiversity: 2
    accept: [entra-mfa]
    requireNonTelephony: true
    proofWindow: 180d
`))
	if err != nil {
		t.Fatal(err)
	}
	engine := rules.New(policy)
	st, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	const user = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a30"
	reader := oneUser{model.User{
		ID: user, UserPrincipalName: "joni.sherman@contoso.example", DisplayName: "Joni Sherman", Mail: "joni.sherman@contoso.example",
		Methods: []model.Method{
			{ID: "28c10230-6103-485e-b985-444c60001490", Kind: model.KindPassword},
			{ID: "3179e48a-750b-4051-897c-87b9720928f7", Kind: model.KindMobilePhone, PhoneNumber: "+1 2065550134"},
			{ID: "key-1", Kind: model.KindFIDO2, DisplayName: "Joni's YubiKey"},
		},
	}}
	requests, nudges, tickets := queue.NewMemory(), queue.NewMemory(), queue.NewMemory()
	ingest := &pipeline.Ingest{Queue: requests, Usage: st, ProofWindow: engine.Policy().ShortestProofWindow()}
	eval := &pipeline.Evaluate{Users: reader, Store: st, Engine: engine, Tenant: model.Tenant{PasswordAuth: model.PasswordCloud},
		Nudges: nudges, Tickets: tickets, Now: c.Now, Usage: st}
	render, err := notify.NewRenderer(policy.Nudges, "")
	if err != nil {
		t.Fatal(err)
	}
	sender := &textSender{}
	nudge := &pipeline.NudgeStage{Store: st, Sender: sender, Render: render, Now: c.Now}

	signIn := func(method, detail string) {
		t.Helper()
		day := c.t.Format(time.RFC3339)
		body := `{"records":[{"time":"` + day + `","category":"SignInLogs","properties":{"id":"s-` + day + `","createdDateTime":"` + day +
			`","userId":"` + user + `","authenticationDetails":[{"authenticationMethod":"Password","succeeded":true},` +
			`{"authenticationMethod":"` + method + `","authenticationMethodDetail":"` + detail + `","succeeded":true}]}}]}`
		r := &recordingReceiver{batches: [][]model.AuditMessage{{{Body: []byte(body)}}}}
		if _, err := ingest.Drain(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// run evaluates what ingest requested (and a sweep's request when
	// sweep is set) and delivers the nudges; it returns the decisions.
	run := func(sweep bool) []model.DecisionKind {
		t.Helper()
		if sweep {
			if err := requests.SendRequests(ctx, []model.EvaluationRequest{{UserID: user, Reason: model.ReasonSweep, Time: c.Now()}}); err != nil {
				t.Fatal(err)
			}
		}
		var kinds []model.DecisionKind
		for msgs := requests.Receive(10); len(msgs) > 0; msgs = requests.Receive(10) {
			outcomes, failures := eval.Handle(ctx, msgs)
			if len(failures) > 0 {
				t.Fatalf("evaluate: %v", failures)
			}
			for _, o := range outcomes {
				kinds = append(kinds, o.Decision.Kind)
			}
		}
		for msgs := nudges.Receive(10); len(msgs) > 0; msgs = nudges.Receive(10) {
			if f := nudge.Handle(ctx, msgs); len(f) > 0 {
				t.Fatalf("nudge: %v", f)
			}
		}
		return kinds
	}

	// The phone is used: the logs know Joni now, and her key was never
	// used. Her compliance rests on it: one nudge, naming the key.
	signIn("Text message", "+X XXXXXXXX34")
	if got := run(false); len(got) != 1 || got[0] != model.DecisionNudge {
		t.Fatalf("after the first sign-in: %v", got)
	}
	if len(sender.texts) != 1 || !strings.Contains(sender.texts[0], `security key "Joni's YubiKey"`) {
		t.Fatalf("nudges %q", sender.texts)
	}
	// The phone again the next day, and a sweep a week later: no change
	// of proof, no second nudge.
	c.t = c.t.Add(24 * time.Hour)
	signIn("Text message", "+X XXXXXXXX34")
	if got := run(false); len(got) != 0 {
		t.Fatalf("a working phone used again requested %v", got)
	}
	c.t = c.t.Add(7 * 24 * time.Hour)
	if got := run(true); len(got) != 1 || got[0] != model.DecisionNone || len(sender.texts) != 1 {
		t.Fatalf("sweep: %v, %d nudges", got, len(sender.texts))
	}
	// Joni signs in with her key: the nudge is resolved, its history
	// cleared, and nothing more is sent.
	signIn("FIDO2 security key", "Joni's YubiKey - cb69481e-8ff7-4039-93ec-0a2729a154a8")
	if got := run(false); len(got) != 1 || got[0] != model.DecisionResolve {
		t.Fatalf("after the key was used: %v", got)
	}
	if s, _ := st.LoadUser(ctx, user); len(s.History.Nudges) != 0 || s.Assessment.RestsOnUnproven {
		t.Fatalf("state after the key was used: %+v", s)
	}
	c.t = c.t.Add(7 * 24 * time.Hour)
	if got := run(true); len(got) != 1 || got[0] != model.DecisionNone || len(sender.texts) != 1 {
		t.Fatalf("sweep after: %v, %d nudges", got, len(sender.texts))
	}
	// Half a year without the key: unproven again, a new nudge.
	c.t = c.t.Add(200 * 24 * time.Hour)
	signIn("Text message", "+X XXXXXXXX34")
	if got := run(true); len(sender.texts) != 2 || !strings.Contains(sender.texts[1], "since December 2026") {
		t.Fatalf("half a year later: %v, nudges %q", got, sender.texts)
	}
}
