package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/golden"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/local"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/store"
)

var t0 = time.Date(2026, 11, 26, 9, 5, 0, 0, time.UTC)

func clock() func() time.Time {
	var tick time.Duration
	return func() time.Time { tick += time.Millisecond; return t0.Add(tick) }
}

func readEvent(t *testing.T, name string, v any) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "events", "lambda", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return data
}

func sampleTenant(t *testing.T) *model.Directory {
	t.Helper()
	d, err := graphjson.LoadDirectory("../../events/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func invocation() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "5e1d4a7c-0000-4000-8000-000000000001"})
}

// The fixtures are what Lambda delivers: they decode into aws-lambda-go's
// types with no unknown field, and every value survives encoding back.
func TestFixturesRoundTrip(t *testing.T) {
	for _, name := range []string{"sqs-evaluate.json", "sqs-nudge.json", "sqs-ticket.json"} {
		var ev events.SQSEvent
		raw := readEvent(t, name, &ev)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&events.SQSEvent{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		again, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		json.Unmarshal(raw, &a)
		json.Unmarshal(again, &b)
		if !subset(a, b) {
			t.Errorf("%s loses values through events.SQSEvent", name)
		}
	}
	for _, name := range []string{"schedule-ingest.json", "schedule-sweep-baseline.json", "schedule-sweep-campaign.json", "schedule-sweep-policy-changes.json"} {
		var in ScheduleInput
		readEvent(t, name, &in)
	}
}

// subset reports whether every value in a is in b (b may add fields that
// the type always writes, such as md5OfMessageAttributes).
func subset(a, b any) bool {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range av {
			if !subset(v, bv[k]) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !subset(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestEvaluateHandler(t *testing.T) {
	var ev events.SQSEvent
	readEvent(t, "sqs-evaluate.json", &ev)
	st, err := store.OpenFileStore(t.TempDir(), clock())
	if err != nil {
		t.Fatal(err)
	}
	reader := &local.SnapshotReader{Dir: sampleTenant(t)}
	nudges, tickets := queue.NewMemory(), queue.NewMemory()
	var logs bytes.Buffer
	h := Evaluate(&pipeline.Evaluate{
		Users: reader, Store: st, Engine: rules.New(nil), Tenant: reader.Dir.Tenant,
		Nudges: nudges, Tickets: tickets, Now: clock(),
	}, nil, zerolog.New(&logs))
	resp, err := h(invocation(), ev)
	if err != nil {
		t.Fatal(err)
	}
	// The poison message fails alone; everyone else proceeds.
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "1b0e5e52-6c4d-4f1a-9d3e-0a1b2c3d4e04" {
		t.Errorf("failures = %+v", resp.BatchItemFailures)
	}
	if reader.Reads != 4 {
		t.Errorf("users read = %d, want 4 (two requests for one user coalesce)", reader.Reads)
	}
	out := map[string]any{"response": resp, "nudges": bodies(nudges), "tickets": bodies(tickets)}
	golden.AssertJSON(t, filepath.Join("testdata", "evaluate.json"), out)
	checkLogs(t, logs.Bytes())

	// Redelivery of the same batch decides nothing new.
	resp, _ = h(invocation(), ev)
	if len(resp.BatchItemFailures) != 1 || nudges.Len()+tickets.Len() != 0 {
		t.Errorf("redelivery: failures %d, new decisions %d", len(resp.BatchItemFailures), nudges.Len()+tickets.Len())
	}
}

func bodies(q *queue.Memory) []json.RawMessage {
	var out []json.RawMessage
	for _, m := range q.Receive(0) {
		out = append(out, m.Body)
	}
	return out
}

func TestNudgeAndTicketHandlers(t *testing.T) {
	dir := t.TempDir()
	st, err := store.OpenFileStore(dir, clock())
	if err != nil {
		t.Fatal(err)
	}
	out, err := notify.OpenOutbox(filepath.Join(dir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := zerolog.New(&logs)

	var nev events.SQSEvent
	readEvent(t, "sqs-nudge.json", &nev)
	nresp, _ := Nudge(&pipeline.NudgeStage{Store: st, Sender: out, Now: clock()}, nil, log)(invocation(), nev)
	var tev events.SQSEvent
	readEvent(t, "sqs-ticket.json", &tev)
	tresp, _ := Ticket(&pipeline.TicketStage{Store: st, Sender: out, Now: clock()}, nil, log)(invocation(), tev)

	nudgeLines, _ := os.ReadFile(filepath.Join(dir, "outbox", notify.NudgesFile))
	ticketLines, _ := os.ReadFile(filepath.Join(dir, "outbox", notify.TicketsFile))
	if n := bytes.Count(nudgeLines, []byte("\n")); n != 1 {
		t.Errorf("nudges delivered = %d, want 1 (the redelivery is a duplicate)", n)
	}
	if n := bytes.Count(ticketLines, []byte("\n")); n != 1 {
		t.Errorf("tickets opened = %d, want 1", n)
	}
	golden.AssertJSON(t, filepath.Join("testdata", "deliver.json"), map[string]any{
		"nudgeResponse": nresp, "ticketResponse": tresp,
		"nudges": json.RawMessage(bytes.TrimSpace(nudgeLines)), "tickets": json.RawMessage(bytes.TrimSpace(ticketLines)),
	})
	checkLogs(t, logs.Bytes())
}

func TestScheduleHandlers(t *testing.T) {
	dir := sampleTenant(t)
	st, err := store.OpenFileStore(t.TempDir(), clock())
	if err != nil {
		t.Fatal(err)
	}
	requests := queue.NewMemory()
	var in ScheduleInput
	readEvent(t, "schedule-sweep-baseline.json", &in)
	sweep := Sweep(&pipeline.Sweep{Registrations: &local.SnapshotReader{Dir: dir}, Store: st, Queue: requests, Now: clock()}, zerolog.Nop())
	stats, err := sweep(invocation(), in)
	if err != nil || stats.Enqueued != len(dir.Users) {
		t.Fatalf("baseline sweep: %+v, %v", stats, err)
	}
	for _, m := range requests.Receive(0) {
		var r model.EvaluationRequest
		json.Unmarshal(m.Body, &r)
		if !r.Baseline || r.Reason != model.ReasonSweep {
			t.Fatalf("request %+v is not a baseline sweep", r)
		}
	}
	if _, err := sweep(invocation(), ScheduleInput{Baseline: true, Campaign: true}); err == nil {
		t.Errorf("baseline+campaign accepted")
	}

	var ingestIn ScheduleInput
	readEvent(t, "schedule-ingest.json", &ingestIn)
	recv, err := local.ReadAuditFiles(nil, "../../events/audit")
	if err != nil {
		t.Fatal(err)
	}
	ingest := Ingest(&pipeline.Ingest{Queue: requests}, staticReceivers{recv}, time.Minute, zerolog.Nop())
	res, err := ingest(invocation(), ingestIn)
	if err != nil || res.Stats.Requests == 0 || !recv.Committed {
		t.Fatalf("ingest: %+v, %v, committed %v", res, err, recv.Committed)
	}
	golden.AssertJSON(t, filepath.Join("testdata", "ingest.json"), res)
}

type staticReceivers struct{ r pipeline.AuditReceiver }

func (s staticReceivers) Open(context.Context) ([]pipeline.AuditReceiver, error) {
	return []pipeline.AuditReceiver{s.r}, nil
}
func (s staticReceivers) Close(context.Context) error { return nil }

// checkLogs asserts every line is JSON with the request id and that no
// personal data leaked.
func checkLogs(t *testing.T, logs []byte) {
	t.Helper()
	for _, line := range bytes.Split(bytes.TrimSpace(logs), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Errorf("log line is not JSON: %s", line)
			continue
		}
		if m["requestId"] == nil {
			t.Errorf("log line without requestId: %s", line)
		}
		for _, secret := range []string{"@contoso.example", "+1 206", "2065550"} {
			if bytes.Contains(line, []byte(secret)) {
				t.Errorf("log line leaks %q: %s", secret, line)
			}
		}
	}
}

// TestSweepHandlerPolicyChanges: the frequent schedule's input runs the
// sweep only when a change of the tenant's own policy waits, and then for
// every user, once.
func TestSweepHandlerPolicyChanges(t *testing.T) {
	dir := sampleTenant(t)
	st, err := store.OpenFileStore(t.TempDir(), clock())
	if err != nil {
		t.Fatal(err)
	}
	requests := queue.NewMemory()
	var in ScheduleInput
	readEvent(t, "schedule-sweep-policy-changes.json", &in)
	if !in.PolicyChanges {
		t.Fatalf("input %+v", in)
	}
	sweep := Sweep(&pipeline.Sweep{Registrations: &local.SnapshotReader{Dir: dir}, Store: st, Queue: requests, Now: clock(), PolicyChanges: st}, zerolog.Nop())
	if stats, err := sweep(invocation(), in); err != nil || stats.Users != 0 || requests.Len() != 0 {
		t.Fatalf("nothing waiting: %+v, %v, %d requests", stats, err, requests.Len())
	}
	change := model.PolicyChange{AuditID: "IPCGraph_1", Activity: "Update conditional access policy", Time: t0, Kind: model.PolicyConditionalAccess}
	if _, err := st.AddPolicyChange(invocation(), change, t0); err != nil {
		t.Fatal(err)
	}
	stats, err := sweep(invocation(), in)
	if err != nil || stats.Enqueued != len(dir.Users) || stats.PolicyChange != "IPCGraph_1" {
		t.Fatalf("a change waiting: %+v, %v", stats, err)
	}
	for _, m := range requests.Receive(0) {
		var r model.EvaluationRequest
		json.Unmarshal(m.Body, &r)
		if r.Reason != model.ReasonPolicyChange || r.PolicyChange != "IPCGraph_1" || !r.PolicyChangeAt.Equal(t0) || r.Validate() != nil {
			t.Fatalf("request %+v", r)
		}
	}
	if stats, err := sweep(invocation(), in); err != nil || stats.Users != 0 {
		t.Errorf("the change swept again: %+v, %v", stats, err)
	}
}
