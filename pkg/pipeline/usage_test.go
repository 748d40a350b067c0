package pipeline_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/store"
)

func signInMessages(t *testing.T) []model.AuditMessage {
	t.Helper()
	var msgs []model.AuditMessage
	for i, name := range []string{
		"eventhub-signinlogs-interactive.json",
		"eventhub-noninteractive-signinlogs.json",
		"eventhub-service-principal-and-managed-identity.json",
	} {
		body, err := os.ReadFile("../../events/signin/" + name)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, model.AuditMessage{Body: body, Position: "p0/" + string(rune('0'+i))})
	}
	return msgs
}

// countingUsage counts the store's write requests.
type countingUsage struct {
	pipeline.UsageStore
	calls, methods int
}

func (c *countingUsage) RecordUsage(ctx context.Context, id string, us []model.MethodUsage) ([]model.UsageChange, error) {
	c.calls++
	c.methods += len(us)
	return c.UsageStore.RecordUsage(ctx, id, us)
}

// requestLog keeps every request sent.
type requestLog struct{ reqs []model.EvaluationRequest }

func (q *requestLog) SendRequests(_ context.Context, rs []model.EvaluationRequest) error {
	q.reqs = append(q.reqs, rs...)
	return nil
}

func (q *requestLog) Len() int { return len(q.reqs) }

func requestedUsers(q *requestLog) []string {
	var out []string
	for _, r := range q.reqs {
		if r.Reason == model.ReasonUsage {
			out = append(out, r.UserID)
		}
	}
	slices.Sort(out)
	return out
}

func TestIngestSignInsWriteUsageOncePerDayAndRequestOnlyOnChangesOfProof(t *testing.T) {
	fs, err := store.OpenFileStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	usage := &countingUsage{UsageStore: fs}
	q := &requestLog{}
	dead := &deadLetters{}
	in := &pipeline.Ingest{Queue: q, Dead: dead, Usage: usage, ProofWindow: 180 * 24 * time.Hour}
	r := &recordingReceiver{batches: [][]model.AuditMessage{signInMessages(t)}}
	stats, err := in.Drain(context.Background(), r)
	if err != nil || r.commits != 1 || len(dead.reasons) != 0 {
		t.Fatalf("drain: %+v, %v, commits %d, dead %v", stats, err, r.commits, dead.reasons)
	}
	// Every sign-in that proves something is a first use here: each of
	// those users changes state of proof, once, however many methods.
	want := []string{
		"0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01", // Adele: iPhone 15 (her token refresh proves nothing)
		"0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a02", // Alex: password and YubiKey
		"0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a03", // Bianca: a text message
	}
	got := requestedUsers(q)
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Errorf("no usage request for %s; requested %v", id, got)
		}
	}
	if stats.ProofChanges != len(got) || stats.Requests != len(got) {
		t.Errorf("stats %+v, requests for %v", stats, got)
	}
	if stats.Skipped["signin-no-user"] != 2 || stats.Skipped["signin-no-proof"] != 1 {
		t.Errorf("skipped %v", stats.Skipped)
	}
	if stats.UnknownMethods["QR code"] != 1 {
		t.Errorf("unknown methods %v", stats.UnknownMethods)
	}
	if usage.methods != stats.UsageWrites || stats.UsageWrites == 0 {
		t.Errorf("writes: %d methods in %d calls, stats %d", usage.methods, usage.calls, stats.UsageWrites)
	}
	// Joni's key failed and her phone worked: both are kept, with her
	// password from the first attempt.
	var joni []model.MethodUsage
	for _, id := range got {
		us, err := fs.LoadUsage(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			if u.Kind == model.KindFIDO2 && !u.LastFailed.IsZero() {
				joni = us
			}
		}
	}
	if len(joni) != 3 || joni[0].Kind != model.KindFIDO2 || !joni[0].LastUsed.IsZero() ||
		joni[1].Kind != model.KindAuthenticator || joni[1].LastUsed.IsZero() || joni[2].Kind != model.KindPassword {
		t.Errorf("Joni's usage: %+v", joni)
	}

	// The same batch again (Event Hubs redelivers; the function is warm):
	// nothing newer, so no write and no request.
	calls := usage.calls
	before := q.Len()
	r.batches = [][]model.AuditMessage{signInMessages(t)}
	again, err := in.Drain(context.Background(), r)
	if err != nil || usage.calls != calls || q.Len() != before || again.UsageWrites != 0 || again.UsageKnown == 0 {
		t.Fatalf("warm repeat: %+v, %v, %d store calls, %d queued", again, err, usage.calls-calls, q.Len()-before)
	}

	// A cold function repeats it: the conditional writes find the days
	// stored, nothing changes, nothing is requested.
	cold := &pipeline.Ingest{Queue: q, Dead: dead, Usage: usage, ProofWindow: 180 * 24 * time.Hour}
	r.batches = [][]model.AuditMessage{signInMessages(t)}
	st, err := cold.Drain(context.Background(), r)
	if err != nil || st.ProofChanges != 0 || q.Len() != before || st.UsageWrites == 0 {
		t.Fatalf("cold repeat: %+v, %v, %d queued", st, err, q.Len()-before)
	}
}

func TestIngestSignInUsageWithoutProofWindowRequestsNothing(t *testing.T) {
	fs, err := store.OpenFileStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	q := &requestLog{}
	r := &recordingReceiver{batches: [][]model.AuditMessage{signInMessages(t)}}
	stats, err := (&pipeline.Ingest{Queue: q, Usage: fs}).Drain(context.Background(), r)
	if err != nil || q.Len() != 0 || stats.UsageWrites == 0 {
		t.Fatalf("%+v, %v, %d queued", stats, err, q.Len())
	}
	us, err := fs.LoadUsage(context.Background(), "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a02")
	if err != nil || len(us) == 0 {
		t.Fatalf("Alex's usage: %+v, %v", us, err)
	}
}

// A later use moves a method back to working: a key used again after the
// window, or after it failed, requests an evaluation; a use on the next
// day of a working method does not.
func TestIngestRequestsWhenAMethodIsProvenAgain(t *testing.T) {
	fs, err := store.OpenFileStore(t.TempDir(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	record := func(day string, ok bool) string {
		succeeded := "false"
		if ok {
			succeeded = "true"
		}
		return `{"records":[{"time":"` + day + `T09:00:00Z","category":"SignInLogs","tenantId":"t1","properties":{` +
			`"id":"s-` + day + succeeded + `","createdDateTime":"` + day + `T09:00:00Z","userId":"u-joni","isInteractive":true,` +
			`"authenticationDetails":[{"authenticationMethod":"FIDO2 security key","authenticationMethodDetail":"Blue key","succeeded":` + succeeded + `}]}}]}`
	}
	in := &pipeline.Ingest{Queue: queue.NewMemory(), Usage: fs, ProofWindow: 90 * 24 * time.Hour}
	for _, step := range []struct {
		day     string
		ok      bool
		request bool
	}{
		{"2026-01-10", true, true},   // first use
		{"2026-01-11", true, false},  // still working
		{"2026-01-12", false, true},  // failing now
		{"2026-01-12", true, true},   // worked again the same day: working again
		{"2026-01-13", true, false},  // working
		{"2026-06-01", true, true},   // back after the window
		{"2026-05-01", false, false}, // an older failure moves nothing
	} {
		r := &recordingReceiver{batches: [][]model.AuditMessage{{{Body: []byte(record(step.day, step.ok))}}}}
		stats, err := in.Drain(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if got := stats.ProofChanges == 1; got != step.request {
			t.Errorf("%s succeeded=%v: requested %v, want %v (%+v)", step.day, step.ok, got, step.request, stats)
		}
	}
}

func TestIngestDeadLettersASignInWithAMalformedUserID(t *testing.T) {
	fs, _ := store.OpenFileStore(t.TempDir(), time.Now)
	dead := &deadLetters{}
	body := `{"records":[{"time":"2026-01-10T09:00:00Z","category":"SignInLogs","properties":{"createdDateTime":"2026-01-10T09:00:00Z",` +
		`"userId":"has spaces in it","authenticationDetails":[{"authenticationMethod":"SMS","succeeded":true}]}},` +
		`{"time":"2026-01-10T09:00:00Z","category":"SignInLogs","properties":{"createdDateTime":"not a time","userId":"u2"}}]}`
	r := &recordingReceiver{batches: [][]model.AuditMessage{{{Body: []byte(body), Position: "p1/3"}}}}
	stats, err := (&pipeline.Ingest{Queue: queue.NewMemory(), Dead: dead, Usage: fs}).Drain(context.Background(), r)
	if err != nil || stats.Malformed != 1 || len(dead.reasons) != 1 || r.commits != 1 {
		t.Fatalf("%+v, %v, dead %v", stats, err, dead.reasons)
	}
	for _, want := range []string{"p1/3", "userId", "not RFC 3339"} {
		if !strings.Contains(dead.reasons[0], want) {
			t.Errorf("reason %q lacks %q", dead.reasons[0], want)
		}
	}
}
