package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

// sqsLikeQueue refuses, as SQS does, a whole batch that holds a message it
// cannot take (here: a user id with "poison" in it, which passes the
// checks credres knows of).
type sqsLikeQueue struct{ *queue.Memory }

func (q sqsLikeQueue) SendRequests(ctx context.Context, rs []model.EvaluationRequest) error {
	for _, r := range rs {
		if strings.Contains(r.UserID, "poison") {
			return fmt.Errorf("%w: 1 of %d messages not sent: %s (InvalidParameterValue)", model.ErrInvalidInput, len(rs), r.UserID)
		}
	}
	return q.Memory.SendRequests(ctx, rs)
}

// smallDeadLetters refuses, as an SQS queue does, what is over 256 KiB.
type smallDeadLetters struct{ deadLetters }

func (d *smallDeadLetters) DeadLetter(ctx context.Context, body []byte, reason string) error {
	if len(body) > 256*1024 {
		return fmt.Errorf("%w: dead letter is %d bytes", model.ErrInvalidInput, len(body))
	}
	return d.deadLetters.DeadLetter(ctx, body, reason)
}

// auditWithUser is the sample FIDO2 registration with its user replaced.
func auditWithUser(t *testing.T, user string) []byte {
	t.Helper()
	body, err := os.ReadFile("../../events/audit/eventhub-user-registered-fido2.json")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(body, []byte(adele), []byte(user))
}

// One record that cannot be sent or dead-lettered must never hold back the
// checkpoint, and with it every event behind it.
func TestIngestNeverBlocksTheCheckpointOnOneRecord(t *testing.T) {
	good := auditWithUser(t, alex)
	// A body over 256 KiB with one malformed record among valid ones.
	padding := strings.Repeat("x", 300*1024)
	huge := []byte(`{"records":[42,{"category":"AuditLogs","properties":{"padding":"` + padding + `"}}]}`)
	for _, tc := range []struct {
		name     string
		msgs     []model.AuditMessage
		dead     int // dead letters kept
		unkept   int // dead letters refused, logged
		requests int
	}{
		{"oversized-body-with-a-malformed-record", []model.AuditMessage{{Body: huge, Position: "p0/1"}, {Body: good, Position: "p0/2"}}, 0, 1, 1},
		{"user-id-longer-than-a-message-group", []model.AuditMessage{{Body: auditWithUser(t, strings.Repeat("u", 129)), Position: "p0/1"}, {Body: good, Position: "p0/2"}}, 1, 0, 1},
		{"user-id-outside-the-group-alphabet", []model.AuditMessage{{Body: auditWithUser(t, "user with spaces"), Position: "p0/1"}, {Body: good, Position: "p0/2"}}, 1, 0, 1},
		{"queue-refuses-one-request", []model.AuditMessage{{Body: auditWithUser(t, "poison-0b8a1d6e"), Position: "p0/1"}, {Body: good, Position: "p0/2"}}, 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := sqsLikeQueue{queue.NewMemory()}
			dead := &smallDeadLetters{}
			r := &recordingReceiver{batches: [][]model.AuditMessage{tc.msgs}}
			stats, err := (&pipeline.Ingest{Queue: q, Dead: dead}).Drain(context.Background(), r)
			if err != nil {
				t.Fatalf("drain: %v", err)
			}
			if r.commits != 1 {
				t.Errorf("commits = %d, want the checkpoint to advance", r.commits)
			}
			if q.Len() != tc.requests || stats.Requests != tc.requests {
				t.Errorf("queued %d (stats %d), want %d", q.Len(), stats.Requests, tc.requests)
			}
			if len(dead.reasons) != tc.dead || stats.Unkept != tc.unkept {
				t.Errorf("dead letters %q, unkept %d; want %d and %d", dead.reasons, stats.Unkept, tc.dead, tc.unkept)
			}
			for _, reason := range dead.reasons {
				if !strings.Contains(reason, "p0/1") {
					t.Errorf("reason %q does not name the position", reason)
				}
			}
		})
	}
}

// saveFails is a store whose next n assessment writes fail.
type saveFails struct {
	*store.FileStore
	n int
}

func (s *saveFails) SaveAssessment(ctx context.Context, userID string, a model.Assessment, at, since time.Time) error {
	if s.n > 0 {
		s.n--
		return fmt.Errorf("%w: table unavailable", model.ErrThrottled)
	}
	return s.FileStore.SaveAssessment(ctx, userID, a, at, since)
}

// publishedQueue keeps every decision published, duplicates included.
type publishedQueue struct{ ds []model.DecisionMessage }

func (q *publishedQueue) SendDecisions(_ context.Context, ds []model.DecisionMessage) error {
	q.ds = append(q.ds, ds...)
	return nil
}

// An evaluation whose assessment could not be stored is retried; by then
// its nudge may have been delivered. The retry must publish the same
// decision id, so that the person gets one nudge.
func TestDecisionIDStableAcrossRetriesOfOneEvaluation(t *testing.T) {
	c := &clock{time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	fs, err := store.OpenFileStore(t.TempDir(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	st := &saveFails{fs, 1}
	nudges := &publishedQueue{}
	ev := &pipeline.Evaluate{
		Users: &local.SnapshotReader{Dir: tenant(t)}, Store: st, Engine: rules.New(nil), Tenant: tenant(t).Tenant,
		Nudges: nudges, Tickets: &publishedQueue{}, Now: c.Now,
	}
	sender := &countingSender{}
	stage := pipeline.NudgeStage{Store: fs, Sender: sender, Now: c.Now}
	msgs := []pipeline.Message{request(t, "m1", adele)}
	if _, failures := ev.Handle(context.Background(), msgs); len(failures) != 1 {
		t.Fatalf("failures %v, want the failed save", failures)
	}
	deliver := func() {
		for _, d := range nudges.ds {
			body, _ := json.Marshal(d)
			if f := stage.Handle(context.Background(), []pipeline.Message{{ID: "n-" + d.ID, GroupID: adele, Body: body}}); len(f) != 0 {
				t.Fatalf("delivery failed: %v", f)
			}
		}
	}
	deliver() // the nudge goes out before the retry
	c.t = c.t.Add(10 * time.Minute)
	if _, failures := ev.Handle(context.Background(), msgs); len(failures) != 0 {
		t.Fatalf("retry failed: %v", failures)
	}
	deliver()
	for _, d := range nudges.ds[1:] {
		if d.ID != nudges.ds[0].ID {
			t.Errorf("the retry published decision %s (%s), the first attempt %s", d.ID, d.Decision.Kind, nudges.ds[0].ID)
		}
	}
	if sender.n != 1 {
		t.Errorf("the user got %d nudges, want 1", sender.n)
	}
}
