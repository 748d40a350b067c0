package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/store"
)

// keptDeadLetters remembers dead letters with their bodies.
type keptDeadLetters struct {
	bodies, reasons []string
}

func (d *keptDeadLetters) DeadLetter(_ context.Context, body []byte, reason string) error {
	d.bodies, d.reasons = append(d.bodies, string(body)), append(d.reasons, reason)
	return nil
}

// failingRenderer cannot render anything: a template that does not fit the
// decision, say. Retrying cannot help.
type failingRenderer struct{}

func (failingRenderer) RenderNudge(model.DecisionMessage) (model.RenderedNudge, error) {
	return model.RenderedNudge{}, errors.New(`template: nudge: no such language "xx"`)
}

func (failingRenderer) RenderTicket(model.DecisionMessage, model.TicketRecord) (model.RenderedTicket, error) {
	return model.RenderedTicket{}, errors.New("template: ticket: bad field")
}

// throttledSender refuses every send for rate reasons.
type throttledSender struct{}

func (throttledSender) SendNudge(context.Context, model.DecisionMessage, model.NudgeRecord) error {
	return fmt.Errorf("sendMail: %w: 429 after retries", model.ErrThrottled)
}

// The kind of an error decides what becomes of its message: input that can
// never succeed goes to the dead letters at once, with its reason, and the
// user's next messages proceed; throttling is retried later than the
// queue's usual redelivery; anything else is retried as before.
func TestErrorKindsDecide(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	t.Run("evaluate", func(t *testing.T) {
		c := &clock{at}
		reader := flakyReader{&local.SnapshotReader{Dir: tenant(t)}, map[string]error{
			bianca: fmt.Errorf("%w: 429", model.ErrThrottled),
			alex:   errors.New("read: i/o timeout"),
		}}
		ev, _ := newEvaluate(t, c, reader, queue.NewMemory(), queue.NewMemory())
		dead := &keptDeadLetters{}
		ev.Dead = dead
		bad := pipeline.Message{ID: "bad", GroupID: adele, Body: []byte(`{"userId":"","reason":"audit"}`)}
		_, failures := ev.Handle(ctx, []pipeline.Message{bad, request(t, "m2", bianca), request(t, "m3", alex), request(t, "m4", adele)})
		got := map[string]pipeline.Failure{}
		for _, f := range failures {
			got[f.MessageID] = f
		}
		if _, ok := got["bad"]; ok || len(dead.reasons) != 1 || !strings.Contains(dead.reasons[0], "malformed evaluation request") {
			t.Errorf("malformed request: failure %v, dead letters %q; want it dead-lettered at once", got["bad"], dead.reasons)
		}
		if f := got["m2"]; f.RetryAfter != pipeline.ThrottledRetry {
			t.Errorf("throttled read: %+v, want a retry after %s", f, pipeline.ThrottledRetry)
		}
		if f, ok := got["m3"]; !ok || f.RetryAfter != 0 {
			t.Errorf("timeout: %+v, want an ordinary retry", f)
		}
		if _, ok := got["m4"]; ok {
			t.Errorf("adele's request failed behind the dead-lettered one")
		}
	})
	t.Run("nudge", func(t *testing.T) {
		st, err := store.OpenFileStore(t.TempDir(), func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		dead := &keptDeadLetters{}
		stage := &pipeline.NudgeStage{Store: st, Sender: &flakySender{}, Render: failingRenderer{}, Dead: dead, Now: func() time.Time { return at }}
		failures := stage.Handle(ctx, []pipeline.Message{
			decisionMessage(t, "m1", "d1", adele, model.DecisionNudge, at),
			decisionMessage(t, "m2", "d2", adele, model.DecisionResolve, at.Add(time.Hour)),
			{ID: "m3", GroupID: alex, Body: []byte(`{"id":`)},
		})
		if len(failures) != 0 || len(dead.reasons) != 2 {
			t.Fatalf("failures %v, dead letters %q; want the render failure and the malformed message dead-lettered, the resolve delivered", failures, dead.reasons)
		}
		if !strings.Contains(dead.reasons[0], `no such language "xx"`) {
			t.Errorf("reason %q does not say why", dead.reasons[0])
		}
		stage = &pipeline.NudgeStage{Store: st, Sender: throttledSender{}, Dead: dead, Now: func() time.Time { return at }}
		failures = stage.Handle(ctx, []pipeline.Message{decisionMessage(t, "m4", "d4", bianca, model.DecisionNudge, at)})
		if len(failures) != 1 || failures[0].RetryAfter != pipeline.ThrottledRetry {
			t.Errorf("throttled send: %+v, want a retry after %s", failures, pipeline.ThrottledRetry)
		}
	})
	t.Run("ticket", func(t *testing.T) {
		st, err := store.OpenFileStore(t.TempDir(), func() time.Time { return at })
		if err != nil {
			t.Fatal(err)
		}
		dead := &keptDeadLetters{}
		stage := &pipeline.TicketStage{Store: st, Sender: &flakySender{}, Dead: dead, Now: func() time.Time { return at }}
		failures := stage.Handle(ctx, []pipeline.Message{decisionMessage(t, "m1", "d1", adele, model.DecisionNudge, at)})
		if len(failures) != 0 || len(dead.reasons) != 1 || !strings.Contains(dead.reasons[0], "does not handle") {
			t.Errorf("failures %v, dead letters %q; want a nudge on the ticket queue dead-lettered at once", failures, dead.reasons)
		}
	})
}
