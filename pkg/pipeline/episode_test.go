package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// saveAnswerLost stores the next n assessments, then fails as if the
// store's answer had been lost: the write landed, the caller does not know.
type saveAnswerLost struct {
	*store.FileStore
	n int
}

func (s *saveAnswerLost) SaveAssessment(ctx context.Context, userID string, a model.Assessment, at, since time.Time) error {
	if err := s.FileStore.SaveAssessment(ctx, userID, a, at, since); err != nil {
		return err
	}
	if s.n > 0 {
		s.n--
		return errors.New("connection reset (the write landed)")
	}
	return nil
}

// campaignRequest is a campaign's evaluation request for user.
func campaignRequest(t *testing.T, id, user string, at time.Time) pipeline.Message {
	t.Helper()
	body, err := json.Marshal(model.EvaluationRequest{UserID: user, Reason: model.ReasonCampaign, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Message{ID: id, GroupID: user, Body: body}
}

// A campaign's first nudge is one finding, however many evaluations find
// it before its entry is in the history. Here the campaign's evaluation
// stores its assessment but loses the store's answer, so it is retried,
// now from the assessment it stored itself; the first nudge meanwhile
// went out, but its history entry could not be written. The retry must
// publish the same decision, so that the user is nudged once.
func TestCampaignFirstNudgeRetriedAfterALostSaveIsSentOnce(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	fs, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	nudges := &publishedQueue{}
	ev := &pipeline.Evaluate{
		Users: &local.SnapshotReader{Dir: tenant(t)}, Store: &saveAnswerLost{fs, 1}, Engine: rules.New(nil), Tenant: tenant(t).Tenant,
		Nudges: nudges, Tickets: &publishedQueue{}, Now: c.Now,
	}
	sender := &countingSender{}
	stage := pipeline.NudgeStage{Store: fs, Sender: sender, Now: c.Now}
	deliver := func(st pipeline.DeliveryStore) {
		stage.Store = st
		for _, d := range nudges.ds {
			body, _ := json.Marshal(d)
			stage.Handle(ctx, []pipeline.Message{{ID: "n-" + d.ID, GroupID: adele, Body: body}})
		}
		nudges.ds = nil
		c.t = c.t.Add(pipeline.DefaultClaimLease + time.Minute) // a redelivery finds the lease over
	}
	req := campaignRequest(t, "m1", adele, c.t)
	if _, failures := ev.Handle(ctx, []pipeline.Message{req}); len(failures) != 1 {
		t.Fatalf("failures %v, want the evaluation retried after its lost answer", failures)
	}
	first := nudges.ds
	if len(first) != 1 || first[0].Decision.Kind != model.DecisionNudge {
		t.Fatalf("published %+v, want the campaign's first nudge", first)
	}
	deliver(historyFails{fs}) // sent; its history entry is not written yet
	if _, failures := ev.Handle(ctx, []pipeline.Message{req}); len(failures) != 0 {
		t.Fatalf("retry failed: %v", failures)
	}
	for _, d := range nudges.ds {
		if d.ID != first[0].ID {
			t.Errorf("the retry published %s decision %s, the first attempt %s", d.Decision.Kind, d.ID, first[0].ID)
		}
	}
	deliver(fs)
	// The first nudge's own redelivery, from the dead-letter queue.
	nudges.ds = first
	deliver(fs)
	s, err := fs.LoadUser(ctx, adele)
	if err != nil {
		t.Fatal(err)
	}
	if sender.n != 1 || len(s.History.Nudges) != 1 {
		t.Errorf("sent %d nudges, history %v; want one nudge, one entry", sender.n, s.History.Nudges)
	}
}

// methodsReader reads one user whose methods the test changes.
type methodsReader struct{ u *model.User }

func (r methodsReader) ReadUsers(_ context.Context, ids []string) []model.UserResult {
	out := make([]model.UserResult, len(ids))
	for i := range ids {
		out[i] = model.UserResult{User: *r.u}
	}
	return out
}

// A user who drops below policy, recovers and drops again within the
// claims' retention has two episodes, and gets a first nudge in each,
// whether an audit event or a campaign finds the drop, and however often
// a lost answer makes the evaluation run again.
func TestEveryEpisodeHasItsFirstNudge(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	fs, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	const user = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a31"
	below := []model.Method{
		{ID: "pw", Kind: model.KindPassword},
		{ID: "phone", Kind: model.KindMobilePhone, PhoneNumber: "+1 2065550134"},
	}
	within := append(append([]model.Method{}, below...),
		model.Method{ID: "key-1", Kind: model.KindFIDO2, DisplayName: "YubiKey"},
		model.Method{ID: "auth-1", Kind: model.KindAuthenticator, DisplayName: "Phone"})
	u := &model.User{ID: user, UserPrincipalName: "lee.gu@contoso.example", Mail: "lee.gu@contoso.example"}
	st := &saveAnswerLost{FileStore: fs}
	nudges := queue.NewMemory()
	ev := &pipeline.Evaluate{Users: methodsReader{u}, Store: st, Engine: rules.New(nil), Tenant: model.Tenant{PasswordAuth: model.PasswordCloud},
		Nudges: nudges, Tickets: queue.NewMemory(), Now: c.Now}
	sender := &countingSender{}
	stage := pipeline.NudgeStage{Store: fs, Sender: sender, Now: c.Now}
	n := 0
	// step sets the methods, evaluates them for reason with the first
	// save's answer lost, retries, delivers, and returns the decision.
	step := func(methods []model.Method, reason string) model.DecisionKind {
		t.Helper()
		c.t = c.t.Add(24 * time.Hour)
		u.Methods = methods
		n++
		body, _ := json.Marshal(model.EvaluationRequest{UserID: user, Reason: reason, AuditID: fmt.Sprint("a-", n), Time: c.t})
		msg := []pipeline.Message{{ID: fmt.Sprint("m-", n), GroupID: user, Body: body}}
		st.n = 1
		first, failures := ev.Handle(ctx, msg)
		if len(failures) != 1 {
			t.Fatalf("step %d: failures %v, want the lost answer", n, failures)
		}
		c.t = c.t.Add(time.Minute)
		if _, failures := ev.Handle(ctx, msg); len(failures) != 0 {
			t.Fatalf("step %d: retry: %v", n, failures)
		}
		for msgs := nudges.Receive(10); len(msgs) > 0; msgs = nudges.Receive(10) {
			if f := stage.Handle(ctx, msgs); len(f) != 0 {
				t.Fatalf("step %d: nudge: %v", n, f)
			}
		}
		return first[0].Decision.Kind
	}
	for i, s := range []struct {
		methods []model.Method
		reason  string
		want    model.DecisionKind
		nudges  int
	}{
		{below, model.ReasonCampaign, model.DecisionNudge, 1},
		{within, model.ReasonAudit, model.DecisionResolve, 1},
		{below, model.ReasonAudit, model.DecisionNudge, 2},
		{below, model.ReasonCampaign, model.DecisionNone, 2}, // told already in this episode
		{within, model.ReasonAudit, model.DecisionResolve, 2},
		{below, model.ReasonCampaign, model.DecisionNudge, 3},
	} {
		if got := step(s.methods, s.reason); got != s.want || sender.n != s.nudges {
			t.Fatalf("step %d (%s): decided %s, %d nudges sent; want %s, %d", i, s.reason, got, sender.n, s.want, s.nudges)
		}
	}
}

// The nudge to try unproven methods is a first finding too: a campaign's,
// retried after a lost answer while the first is sent but not yet
// recorded, is sent once.
func TestCampaignTryNudgeRetriedAfterALostSaveIsSentOnce(t *testing.T) {
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
	fs, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	const user = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a32"
	u := &model.User{ID: user, UserPrincipalName: "joni.sherman@contoso.example", Mail: "joni.sherman@contoso.example",
		Methods: []model.Method{
			{ID: "pw", Kind: model.KindPassword},
			{ID: "phone", Kind: model.KindMobilePhone, PhoneNumber: "+1 2065550134"},
			{ID: "key-1", Kind: model.KindFIDO2, DisplayName: "Joni's YubiKey"},
		}}
	// The logs know Joni by her phone; her key was never used.
	if _, err := fs.RecordUsage(ctx, user, []model.MethodUsage{{Kind: model.KindMobilePhone, Instance: "+X XXXXXXXX34", LastUsed: c.t.Add(-24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	nudges := &publishedQueue{}
	ev := &pipeline.Evaluate{Users: methodsReader{u}, Store: &saveAnswerLost{fs, 1}, Engine: rules.New(policy),
		Tenant: model.Tenant{PasswordAuth: model.PasswordCloud}, Nudges: nudges, Tickets: &publishedQueue{}, Now: c.Now, Usage: fs}
	sender := &countingSender{}
	stage := pipeline.NudgeStage{Store: fs, Sender: sender, Now: c.Now}
	deliver := func(st pipeline.DeliveryStore) {
		stage.Store = st
		for _, d := range nudges.ds {
			body, _ := json.Marshal(d)
			stage.Handle(ctx, []pipeline.Message{{ID: "n-" + d.ID, GroupID: user, Body: body}})
		}
		nudges.ds = nil
		c.t = c.t.Add(pipeline.DefaultClaimLease + time.Minute)
	}
	req := campaignRequest(t, "m1", user, c.t)
	if _, failures := ev.Handle(ctx, []pipeline.Message{req}); len(failures) != 1 {
		t.Fatalf("failures %v, want the evaluation retried after its lost answer", failures)
	}
	first := nudges.ds
	if len(first) != 1 || len(first[0].Decision.Try) == 0 {
		t.Fatalf("published %+v, want the nudge to try the key", first)
	}
	deliver(historyFails{fs})
	if _, failures := ev.Handle(ctx, []pipeline.Message{req}); len(failures) != 0 {
		t.Fatalf("retry failed: %v", failures)
	}
	for _, d := range nudges.ds {
		if d.ID != first[0].ID {
			t.Errorf("the retry published %s decision %s, the first attempt %s", d.Decision.Kind, d.ID, first[0].ID)
		}
	}
	deliver(fs)
	if sender.n != 1 {
		t.Errorf("sent %d nudges, want 1", sender.n)
	}
}
