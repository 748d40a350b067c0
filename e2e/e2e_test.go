// Package e2e runs the built Lambda functions as Lambda runs them. TestMain builds the five
// bootstraps (-tags lambda.norpc, as the Makefile builds them for Lambda, here for this
// machine); each test starts one under Amazon's runtime interface emulator (aws-lambda-rie)
// with the environment template.yaml would give it, pointed at real local servers: DynamoDB
// Local and fauxqs (scripts/testservers.sh) and the Graph-compatible graphtest server serving
// the sample tenant. Tests invoke it with the Lambda payloads in events/lambda and look at
// what it answered, what it left in the tables and queues, and what it logged.
//
// The tests need CREDRES_TEST_RIE, CREDRES_TEST_DYNAMODB_ENDPOINT and
// CREDRES_TEST_SQS_ENDPOINT (`make test` sets them); without them they skip, and under CI
// they fail.
package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/wiring"
)

// Graph settings the evaluate and sweep functions read (pkg/graph's LoadConfig), spelt out so
// that this package does not link the Graph SDK.
const (
	envGraphURL      = "CREDRES_GRAPH_URL"
	envGraphToken    = "CREDRES_GRAPH_TOKEN"
	envAzureTenant   = "AZURE_TENANT_ID"
	envReportsBudget = "CREDRES_GRAPH_REPORTS_BUDGET"
)

// graphToken is the bearer token the functions present and graphtest requires.
const graphToken = "e2e-graph-token"

// TestEvaluate: the SQS batch of events/lambda/sqs-evaluate.json, evaluated against Graph,
// DynamoDB and SQS. The malformed message alone is reported back to SQS; the users read are
// assessed and stored; the decisions are the ones pkg/wiring's golden file records for the
// same batch; and delivering the batch again publishes nothing.
func TestEvaluate(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	g := newGraph(t)
	env := s.env(t)
	addGraph(env, g)
	fn := startFunction(t, "evaluate", env)

	payload := fixture(t, "sqs-evaluate.json")
	requests, malformed := evaluationRequests(t, payload)
	if len(malformed) != 1 {
		t.Fatalf("sqs-evaluate.json has %d malformed messages, want the one poison message", len(malformed))
	}
	wantResponse := `{"batchItemFailures":[{"itemIdentifier":"` + malformed[0] + `"}]}`

	first := fn.invoke(t, payload)
	expectAnswer(t, first, wantResponse)
	expectRequestIDs(t, first)

	// Every user named by a valid request was read once from Graph, however many requests
	// named them; those who exist are assessed and stored, the deleted one is not.
	dir := sampleTenant(t)
	var named []string
	for _, r := range requests {
		if !slices.Contains(named, r.UserID) {
			named = append(named, r.UserID)
		}
	}
	if len(named) == len(requests) {
		t.Fatalf("sqs-evaluate.json names no user twice; the coalescing is not exercised")
	}
	reads := userReads(g)
	for _, id := range named {
		if reads[id] != 1 {
			t.Errorf("user %s: read %d times from Graph, want once", id, reads[id])
		}
		st, err := s.store.LoadUser(awsContext(t), id)
		if err != nil {
			t.Fatalf("load user %s: %v", id, err)
		}
		_, exists := dir.FindUser(id)
		switch {
		case exists && (st.Assessment == nil || st.Assessment.UserID != id || st.ObservedAt.IsZero()):
			t.Errorf("user %s: stored state %+v, want their assessment", id, st)
		case !exists && st.Assessment != nil:
			t.Errorf("user %s does not exist, but an assessment was stored: %+v", id, st.Assessment)
		}
	}
	if len(reads) != len(named) {
		t.Errorf("Graph was asked for users %v, want exactly %v", keys(reads), named)
	}

	// The decisions published equal the handler test's golden decisions, which the same
	// batch produces in-process from the snapshot of the same tenant.
	golden := handlerGolden(t)
	nudges := decisions(t, s.receive(t, s.nudges, len(golden.Nudges)))
	tickets := decisions(t, s.receive(t, s.tickets, len(golden.Tickets)))
	sameDecisions(t, "nudge queue", nudges, golden.Nudges)
	sameDecisions(t, "ticket queue", tickets, golden.Tickets)
	if len(nudges)+len(tickets) == 0 {
		t.Errorf("the batch published no decision at all")
	}

	// Delivered again, the batch finds every assessment unchanged: the malformed message is
	// reported again and nothing is published. A decision taken now would carry another id
	// (ids derive from the stored state), so FIFO deduplication could not hide it.
	second := fn.invoke(t, payload)
	expectAnswer(t, second, wantResponse)
	expectRequestIDs(t, second)
	if n := s.depth(t, s.nudges) + s.depth(t, s.tickets); n != 0 {
		t.Errorf("the second delivery published %d decisions, want none", n)
	}
	evaluated := 0
	for _, l := range second.logs {
		if l.str("message") == "evaluated" {
			evaluated++
			if d := l.str("decision"); d != string(model.DecisionNone) {
				t.Errorf("second delivery: user %s decided %q, want %q", l.str("userId"), d, model.DecisionNone)
			}
		}
	}
	if evaluated == 0 {
		t.Errorf("second delivery logged no evaluation")
	}
}

// TestNudge: events/lambda/sqs-nudge.json delivers one nudge to the outbox queue although the
// decision arrives twice, stops the reminders of the resolved user, and reports the malformed
// message. Delivering the batch again sends nothing.
func TestNudge(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	fn := startFunction(t, "nudge", s.env(t))
	payload := fixture(t, "sqs-nudge.json")
	ev := sqsEvent(t, payload)
	malformed := malformedDecisions(t, ev)
	nudge := onlyDecision(t, ev, model.DecisionNudge)
	wantResponse := `{"batchItemFailures":[{"itemIdentifier":"` + malformed + `"}]}`

	res := fn.invoke(t, payload)
	expectAnswer(t, res, wantResponse)
	expectRequestIDs(t, res)

	msgs := s.receive(t, s.outbox, 1)
	var rec model.NudgeRecord
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &rec); err != nil {
		t.Fatalf("outbox message: %v", err)
	}
	if rec.DecisionID != nudge.ID || rec.UserID != nudge.Decision.UserID || rec.Decision != string(model.DecisionNudge) {
		t.Errorf("outbox nudge is decision %s for %s (%s), want %s for %s", rec.DecisionID, rec.UserID, rec.Decision, nudge.ID, nudge.Decision.UserID)
	}
	if rec.Subject == "" || rec.Text == "" {
		t.Errorf("outbox nudge has no rendered words: %+v", rec)
	}
	if rec.To == "" || rec.To == nudge.User.Mail {
		t.Errorf("outbox nudge addressed to %q, want the masked address", rec.To)
	}
	if n := countLogs(res.logs, "already delivered; duplicate ignored", nudge.ID); n != 1 {
		t.Errorf("%d log lines say the redelivered nudge was a duplicate, want 1", n)
	}
	st, err := s.store.LoadUser(awsContext(t), nudge.Decision.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.History.Nudges) != 1 {
		t.Errorf("nudge history of %s = %v, want the one nudge", nudge.Decision.UserID, st.History.Nudges)
	}

	again := fn.invoke(t, payload)
	expectAnswer(t, again, wantResponse)
	expectRequestIDs(t, again)
	if n := s.depth(t, s.outbox); n != 0 {
		t.Errorf("the batch delivered again sent %d more nudges, want none", n)
	}
}

// TestTicket: events/lambda/sqs-ticket.json, a ticket decision and its redelivery, with a
// malformed message added: one ticket opened on the helpdesk queue, its state stored, the
// malformed message reported.
func TestTicket(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	fn := startFunction(t, "ticket", s.env(t))
	ev := sqsEvent(t, fixture(t, "sqs-ticket.json"))
	ticket := onlyDecision(t, ev, model.DecisionTicket)
	poison := ev.Records[0]
	poison.MessageId = "3d0e5e52-6c4d-4f1a-9d3e-0a1b2c3d4eff"
	poison.Body = `{"id":"9c8b7a6f","decision":`
	poison.Attributes = map[string]string{"MessageGroupId": "poison", "ApproximateReceiveCount": "1"}
	ev.Records = append(ev.Records, poison)
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	wantResponse := `{"batchItemFailures":[{"itemIdentifier":"` + poison.MessageId + `"}]}`

	res := fn.invoke(t, payload)
	expectAnswer(t, res, wantResponse)
	expectRequestIDs(t, res)

	msgs := s.receive(t, s.helpdesk, 1)
	var rec model.TicketRecord
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &rec); err != nil {
		t.Fatalf("helpdesk message: %v", err)
	}
	if rec.DecisionID != ticket.ID || rec.UserID != ticket.Decision.UserID || rec.Action != "opened" || rec.Status != model.TicketOpen {
		t.Errorf("helpdesk event: decision %s for %s, %s %s; want decision %s for %s, opened open",
			rec.DecisionID, rec.UserID, rec.Action, rec.Status, ticket.ID, ticket.Decision.UserID)
	}
	if want := model.TicketID(ticket.Decision.UserID, ticket.Time); rec.TicketID != want {
		t.Errorf("helpdesk event for ticket %q, want %q (derived from the decision)", rec.TicketID, want)
	}
	if rec.Title == "" || rec.Description == "" {
		t.Errorf("helpdesk event has no rendered words: title %q, description %q", rec.Title, rec.Description)
	}
	st, err := s.store.LoadUser(awsContext(t), ticket.Decision.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ticket == nil || st.Ticket.ID != rec.TicketID || st.Ticket.Status != model.TicketOpen {
		t.Errorf("stored ticket of %s = %+v, want %s open", ticket.Decision.UserID, st.Ticket, rec.TicketID)
	}

	again := fn.invoke(t, payload)
	expectAnswer(t, again, wantResponse)
	expectRequestIDs(t, again)
	if n := s.depth(t, s.helpdesk); n != 0 {
		t.Errorf("the batch delivered again sent %d more ticket events, want none", n)
	}
}

// TestSweep: events/lambda/schedule-sweep-baseline.json enqueues every user of the tenant's
// registration report as a baseline request; a schedule input asking for a baseline and a
// campaign at once is an invocation error, and enqueues nothing.
func TestSweep(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	g := newGraph(t)
	env := s.env(t)
	addGraph(env, g)
	fn := startFunction(t, "sweep", env)
	dir := sampleTenant(t)
	n := len(dir.Users)

	res := fn.invoke(t, fixture(t, "schedule-sweep-baseline.json"))
	expectAnswer(t, res, "")
	expectRequestIDs(t, res)
	var stats pipeline.SweepStats
	if err := json.Unmarshal(res.body, &stats); err != nil {
		t.Fatalf("sweep answered %s: %v", res.body, err)
	}
	// One report page, read in one invocation, which finished the sweep.
	if want := (pipeline.SweepStats{Users: n, New: n, Enqueued: n, Pages: 1, Invocations: 1, Done: true}); stats != want {
		t.Errorf("sweep stats = %+v, want %+v", stats, want)
	}
	var enqueued []string
	for _, m := range s.receive(t, s.evaluate, n) {
		var req model.EvaluationRequest
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &req); err != nil {
			t.Fatalf("evaluation request %s: %v", aws.ToString(m.Body), err)
		}
		if req.Reason != model.ReasonSweep || !req.Baseline || req.Time.IsZero() {
			t.Errorf("request for %s: reason %q, baseline %v, time %s; want a baseline sweep request", req.UserID, req.Reason, req.Baseline, req.Time)
		}
		if group := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]; group != req.UserID {
			t.Errorf("request for %s is in message group %q", req.UserID, group)
		}
		enqueued = append(enqueued, req.UserID)
	}
	var want []string
	for _, u := range dir.Users {
		want = append(want, u.ID)
	}
	sort.Strings(enqueued)
	sort.Strings(want)
	if !slices.Equal(enqueued, want) {
		t.Errorf("enqueued %v, want every user of the tenant %v", enqueued, want)
	}

	bad := fn.invoke(t, []byte(`{"baseline":true,"campaign":true}`))
	expectFunctionError(t, bad, "baseline and campaign exclude each other")
	if countLogs(bad.logs, "sweep rejected", "") != 1 {
		t.Errorf("the rejected sweep was not logged once: %v", bad.logs)
	}
	if n := s.depth(t, s.evaluate); n != 0 {
		t.Errorf("the rejected sweep enqueued %d requests", n)
	}
}

// TestStartupFailure: a function whose environment lacks a required setting exits while
// starting; the emulator reports the failed invocation and the function's one log line names
// the setting. For ingest this is the only test here: without an Event Hubs namespace to
// reach, its drain is tested in pkg/eventhubs against a fake hub, and TestIngestUnreachableHub
// covers its invocation error.
func TestStartupFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		function string
		drop     []string
		want     string
	}{
		{"evaluate-without-state-table", "evaluate", []string{wiring.EnvStateTable}, wiring.EnvStateTable},
		// Neither a namespace nor a connection string: nothing says which hub to read.
		{"ingest-without-event-hubs", "ingest", nil, "CREDRES_EVENTHUB_NAMESPACE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			env := s.env(t)
			addGraph(env, newGraph(t))
			env[wiring.EnvCheckpointTable] = s.state + "-checkpoints"
			for _, k := range tc.drop {
				delete(env, k)
			}
			fn := startFunction(t, tc.function, env)
			// Any payload will do: the function exits before its handler runs.
			res := fn.invoke(t, fixture(t, "schedule-ingest.json"))
			if res.status != http.StatusBadGateway {
				t.Fatalf("invocation answered %d %s, want 502, the emulator's answer when the runtime fails to start", res.status, res.body)
			}
			line := fn.waitForLog(t, `"start-up failed"`, func(l logLine) bool { return l.str("message") == "start-up failed" })
			if line.str("level") != "error" || !strings.Contains(line.str("error"), tc.want) {
				t.Errorf("start-up log line %v does not name %s", line, tc.want)
			}
			if strings.Count(line.str("error"), "\n") != 0 {
				t.Errorf("start-up error names more than the missing setting: %q", line.str("error"))
			}
			// The emulator saw the runtime exit while initialising.
			deadline := time.Now().Add(logTimeout)
			for !strings.Contains(fn.stderr.String(), "Runtime exited with error: exit status 1") {
				if time.Now().After(deadline) {
					t.Fatalf("the emulator did not report the runtime's exit:\n%s", fn.stderr)
				}
				time.Sleep(pollInterval)
			}
		})
	}
}

// TestIngestUnreachableHub: ingest reads its Event Hubs connection string from Secrets
// Manager (the stand-in on loopback) at start-up; the hub it names, a closed port on
// 127.0.0.1, refuses the connection, and the drain fails within its budget as an invocation
// error, with the secret nowhere in the output.
func TestIngestUnreachableHub(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	env := s.env(t)
	const arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:credres-e2e-eventhub"
	const key = "e2eSharedAccessKeyThatMustNotBeLogged"
	hub, err := closedAddress()
	if err != nil {
		t.Fatal(err)
	}
	s.aws.setSecret(arn, "Endpoint=sb://"+hub+";SharedAccessKeyName=credres-listen;SharedAccessKey="+key+";UseDevelopmentEmulator=true")
	env["CREDRES_EVENTHUB_CONNECTION_SECRET_ARN"] = arn
	env["CREDRES_EVENTHUB_NAME"] = "credres-e2e"
	env[wiring.EnvCheckpointTable] = s.state + "-checkpoints"
	env[wiring.EnvIngestBudget] = "3s"
	fn := startFunction(t, "ingest", env)

	start := time.Now()
	res := fn.invoke(t, fixture(t, "schedule-ingest.json"))
	took := time.Since(start)
	expectFunctionError(t, res, "eventhubs: list partitions of "+hub)
	if took > 20*time.Second {
		t.Errorf("the failed drain took %s, more than its 3 s budget allows", took)
	}
	if got := s.aws.secretReads(); !slices.Equal(got, []string{arn}) {
		t.Errorf("Secrets Manager reads = %v, want the connection secret once", got)
	}
	if strings.Contains(fn.stdout.String(), key) {
		t.Errorf("the connection string's key is in the output:\n%s", fn.stdout)
	}
	if n := s.depth(t, s.evaluate) + s.depth(t, s.ingestDLQ); n != 0 {
		t.Errorf("the failed drain enqueued %d messages", n)
	}
}

// expectAnswer checks that the invocation succeeded and, unless want is empty, answered
// exactly want (compared as compact JSON).
func expectAnswer(t *testing.T, res result, want string) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("invocation %s: status %d, body %s", res.requestID, res.status, res.body)
	}
	if len(res.runtimeErrors) > 0 || res.header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invocation %s failed: %s %v", res.requestID, res.body, res.runtimeErrors)
	}
	if want == "" {
		return
	}
	var got bytes.Buffer
	if err := json.Compact(&got, res.body); err != nil {
		t.Fatalf("invocation %s answered %q: %v", res.requestID, res.body, err)
	}
	if got.String() != want {
		t.Errorf("invocation %s answered\n%s\nwant\n%s", res.requestID, got.String(), want)
	}
}

// expectFunctionError checks that the invocation ended in a function error whose message
// contains want: Lambda's error JSON as the answer (with X-Amz-Function-Error: Unhandled,
// when the emulator sets the header, which the emulator of TESTING.md does not), the runtime's
// report of it in the output, and the handler's own error line with the request id.
func expectFunctionError(t *testing.T, res result, want string) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("invocation %s: status %d, body %s; want the function's error", res.requestID, res.status, res.body)
	}
	var answer struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if err := json.Unmarshal(res.body, &answer); err != nil || answer.ErrorType == "" || !strings.Contains(answer.ErrorMessage, want) {
		t.Errorf("invocation %s answered %s, want an error mentioning %q", res.requestID, res.body, want)
	}
	if h := res.header.Get("X-Amz-Function-Error"); h != "" && h != "Unhandled" {
		t.Errorf("X-Amz-Function-Error = %q, want Unhandled", h)
	}
	if len(res.runtimeErrors) != 1 {
		t.Errorf("the runtime reported %d errors, want 1: %v", len(res.runtimeErrors), res.runtimeErrors)
	}
	expectRequestIDs(t, res)
	logged := false
	for _, l := range res.logs {
		logged = logged || (l.str("level") == "error" && strings.Contains(l.str("error"), want))
	}
	if !logged {
		t.Errorf("no error line mentioning %q in the invocation's logs: %v", want, res.logs)
	}
}

// expectRequestIDs checks that the function logged during the invocation, and that every
// line carries the invocation's request id.
func expectRequestIDs(t *testing.T, res result) {
	t.Helper()
	if len(res.logs) == 0 {
		t.Errorf("invocation %s logged nothing", res.requestID)
	}
	for _, l := range res.logs {
		if got := l.str("requestId"); got != res.requestID {
			t.Errorf("invocation %s: log line with requestId %q: %v", res.requestID, got, l)
		}
	}
}

func countLogs(logs []logLine, message, decisionID string) int {
	n := 0
	for _, l := range logs {
		if l.str("message") == message && (decisionID == "" || l.str("decisionId") == decisionID) {
			n++
		}
	}
	return n
}

// newGraph serves the sample tenant with the token the functions present, and a budget for
// the reports class raised from Graph's 5 requests per 10 seconds so that pacing does not
// slow the tests (pkg/graph tests the pacing).
func newGraph(t *testing.T) *graphtest.Server {
	return graphtest.NewServer(t, sampleTenant(t), graphtest.WithToken(graphToken),
		graphtest.WithLimit(graphtest.ClassAuthReports, graphtest.Limit{Requests: 1000, Per: time.Second}))
}

func addGraph(env map[string]string, g *graphtest.Server) {
	env[envGraphURL] = g.URL()
	env[envGraphToken] = graphToken
	env[envAzureTenant] = env[wiring.EnvTenantID]
	env[envReportsBudget] = "1000/1s"
}

// userReads counts, per user id, the reads of a user's authentication methods from Graph.
func userReads(g *graphtest.Server) map[string]int {
	reads := map[string]int{}
	for _, it := range g.Items() {
		path, _, _ := strings.Cut(it.URL, "?")
		parts := strings.Split(strings.Trim(path, "/"), "/")
		if len(parts) == 2 && parts[0] == "users" {
			reads[parts[1]]++
		}
	}
	return reads
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// closedAddress returns a loopback address on which nothing listens.
func closedAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", "lambda", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sqsEvent(t *testing.T, payload []byte) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// evaluationRequests splits an evaluation batch into its valid requests and the ids of the
// messages that are not one.
func evaluationRequests(t *testing.T, payload []byte) (reqs []model.EvaluationRequest, malformed []string) {
	t.Helper()
	for _, r := range sqsEvent(t, payload).Records {
		var req model.EvaluationRequest
		if err := json.Unmarshal([]byte(r.Body), &req); err != nil || req.Validate() != nil {
			malformed = append(malformed, r.MessageId)
			continue
		}
		reqs = append(reqs, req)
	}
	return reqs, malformed
}

// malformedDecisions returns the id of the one message of a delivery batch that is not a
// decision message.
func malformedDecisions(t *testing.T, ev events.SQSEvent) string {
	t.Helper()
	var ids []string
	for _, r := range ev.Records {
		var dm model.DecisionMessage
		if json.Unmarshal([]byte(r.Body), &dm) != nil || dm.ID == "" {
			ids = append(ids, r.MessageId)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("the batch has malformed messages %v, want one", ids)
	}
	return ids[0]
}

// onlyDecision returns the decision of the given kind that the batch delivers, and checks
// that it is delivered twice (once redelivered).
func onlyDecision(t *testing.T, ev events.SQSEvent, kind model.DecisionKind) model.DecisionMessage {
	t.Helper()
	var found []model.DecisionMessage
	for _, r := range ev.Records {
		var dm model.DecisionMessage
		if json.Unmarshal([]byte(r.Body), &dm) == nil && dm.Decision.Kind == kind {
			found = append(found, dm)
		}
	}
	if len(found) != 2 || found[0].ID != found[1].ID {
		t.Fatalf("the batch has %d %s decisions, want one decision and its redelivery", len(found), kind)
	}
	return found[0]
}

func decisions(t *testing.T, msgs []sqstypes.Message) []model.DecisionMessage {
	t.Helper()
	var out []model.DecisionMessage
	for _, m := range msgs {
		var dm model.DecisionMessage
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &dm); err != nil {
			t.Fatalf("decision message %s: %v", aws.ToString(m.Body), err)
		}
		attrs := m.Attributes
		if g := attrs[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]; g != dm.Decision.UserID {
			t.Errorf("decision %s is in message group %q, want the user id %s", dm.ID, g, dm.Decision.UserID)
		}
		if d := attrs[string(sqstypes.MessageSystemAttributeNameMessageDeduplicationId)]; d != dm.ID {
			t.Errorf("decision %s has deduplication id %q, want the decision id", dm.ID, d)
		}
		out = append(out, dm)
	}
	return out
}

// sameDecisions compares decision messages but for the time they were decided at.
func sameDecisions(t *testing.T, where string, got, want []model.DecisionMessage) {
	t.Helper()
	norm := func(ds []model.DecisionMessage) []model.DecisionMessage {
		out := slices.Clone(ds)
		for i := range out {
			out[i].Time = time.Time{}
		}
		slices.SortFunc(out, func(a, b model.DecisionMessage) int { return strings.Compare(a.ID, b.ID) })
		return out
	}
	g, w := norm(got), norm(want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", "  ")
		wj, _ := json.MarshalIndent(w, "", "  ")
		t.Errorf("%s holds\n%s\nwant (pkg/wiring/testdata/evaluate.json)\n%s", where, gj, wj)
	}
}

// handlerGolden reads the decisions pkg/wiring's golden file records for sqs-evaluate.json.
func handlerGolden(t *testing.T) struct{ Nudges, Tickets []model.DecisionMessage } {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "pkg", "wiring", "testdata", "evaluate.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Nudges  []model.DecisionMessage `json:"nudges"`
		Tickets []model.DecisionMessage `json:"tickets"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("pkg/wiring/testdata/evaluate.json: %v", err)
	}
	return struct{ Nudges, Tickets []model.DecisionMessage }{g.Nudges, g.Tickets}
}

var loadTenant = sync.OnceValues(func() (*model.Directory, error) {
	return graphjson.LoadDirectory(filepath.Join("..", "events", "tenant.json"))
})

// sampleTenant is events/tenant.json, shared read-only by the tests.
func sampleTenant(t *testing.T) *model.Directory {
	t.Helper()
	dir, err := loadTenant()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// personalData lists what the functions must never log about the sample tenant's people:
// names, addresses (and the tenant's mail domains) and phone numbers as written and as digits.
func personalData(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= 4 {
			seen[s] = true
		}
	}
	for _, u := range sampleTenant(t).Users {
		add(u.DisplayName)
		for _, addr := range []string{u.UserPrincipalName, u.Mail} {
			add(addr)
			if _, domain, ok := strings.Cut(addr, "@"); ok {
				add("@" + domain)
			}
		}
		for _, m := range u.Methods {
			add(m.EmailAddress)
			if m.PhoneNumber == "" {
				continue
			}
			add(m.PhoneNumber)
			add(digits(m.PhoneNumber))
			if _, national, ok := strings.Cut(m.PhoneNumber, " "); ok {
				add(digits(national))
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// TestOutputChecks: the checks every test applies to a function's output catch what they
// are for. It needs no server.
func TestOutputChecks(t *testing.T) {
	t.Parallel()
	forbidden := []string{"adele.vance@contoso.example", "@contoso.example", "Adele Vance", "+1 2065550100", "2065550100"}
	for _, tc := range []struct {
		name string
		line string
		ok   bool
	}{
		{"log-line", `{"level":"info","function":"evaluate","requestId":"r","userId":"0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01","time":"2026-11-26T09:00:00Z","message":"evaluated"}`, true},
		{"emulator-lines", "START RequestId: r Version: $LATEST\nEND RequestId: r\nREPORT RequestId: r\tDuration: 1.00 ms", true},
		{"runtime-error-report", `{"level":"error","function":"evaluate","source":"runtime","time":"t","message":"{\"errorMessage\":\"sweep: baseline and campaign exclude each other\",\"errorType\":\"errorString\"}"}`, true},
		{"dynamodb-local-checksum-warning", `{"level":"warn","function":"evaluate","source":"aws-sdk","time":"t","message":"failed to close HTTP response body, this may affect connection reuse: response did not match expected checksum, 0, 548752798"}`, true},
		{"masked-phone", `{"level":"info","function":"evaluate","time":"t","message":"m","methods":["mobile phone +1 ••• ••• 0100"]}`, true},
		{"other-sdk-warning", `{"level":"warn","function":"evaluate","source":"aws-sdk","time":"t","message":"retrying request"}`, false},
		{"plain-runtime-report", `2026/11/26 09:00:00 {"errorMessage":"x","errorType":"errorString"}`, false},
		{"plain-text", "panic: runtime error", false},
		{"other-function", `{"level":"info","function":"nudge","time":"t","message":"m"}`, false},
		{"no-message", `{"level":"info","function":"evaluate","time":"t"}`, false},
		{"upn", `{"level":"info","function":"evaluate","time":"t","message":"m","upn":"adele.vance@contoso.example"}`, false},
		{"masked-mail", `{"level":"info","function":"evaluate","time":"t","message":"m","to":"a•••@contoso.example"}`, false},
		{"display-name", `{"level":"info","function":"evaluate","time":"t","message":"Adele Vance evaluated"}`, false},
		{"phone-digits", `{"level":"error","function":"evaluate","time":"t","message":"m","error":"bad number 2065550100"}`, false},
		{"other-phone", `{"level":"error","function":"evaluate","time":"t","message":"m","error":"+44 20 7946 0958"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := outputProblems("evaluate", tc.line, forbidden)
			if tc.ok && len(problems) > 0 {
				t.Errorf("flagged: %v", problems)
			}
			if !tc.ok && len(problems) == 0 {
				t.Errorf("not flagged: %s", tc.line)
			}
		})
	}
}

// TestNudgeByMail: with a sender mailbox configured, the nudge of events/lambda/sqs-nudge.json
// is one mail sent through Graph to the user's address, however often the decision arrives,
// and nothing goes to the outbox queue.
func TestNudgeByMail(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	// The sender is a service mailbox of the tenant, in a domain of its own so that the
	// check for personal data in the output would see a person's address.
	const sender = "credres-nudges@e2e.example"
	dir := *sampleTenant(t)
	dir.Users = append(slices.Clone(dir.Users), model.User{ID: "0b8a1d6e-3c1f-4a5e-9a77-e2e000000001", UserPrincipalName: sender, DisplayName: "credres"})
	g := graphtest.NewServer(t, &dir, graphtest.WithToken(graphToken))
	env := s.env(t)
	addGraph(env, g)
	env[wiring.EnvMailSender] = sender
	fn := startFunction(t, "nudge", env)
	payload := fixture(t, "sqs-nudge.json")
	ev := sqsEvent(t, payload)
	nudge := onlyDecision(t, ev, model.DecisionNudge)

	res := fn.invoke(t, payload)
	expectAnswer(t, res, `{"batchItemFailures":[{"itemIdentifier":"`+malformedDecisions(t, ev)+`"}]}`)
	expectRequestIDs(t, res)
	again := fn.invoke(t, payload)
	expectAnswer(t, again, "")

	mail := g.Mail()
	if len(mail) != 1 {
		t.Fatalf("Graph sent %d mails, want 1: %+v", len(mail), mail)
	}
	if m := mail[0]; m.From != sender || !slices.Equal(m.To, []string{nudge.User.Mail}) || m.Subject == "" || m.Content == "" {
		t.Errorf("mail from %s to %v, subject %q; want from %s to the user's address, with words", m.From, m.To, m.Subject, sender)
	}
	if n := s.depth(t, s.outbox); n != 0 {
		t.Errorf("%d nudges went to the outbox queue as well", n)
	}
}
