package pipeline_test

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/store"
)

// The resumable sweep's tenant: 30 000 users by default, in report pages of
// 250, so that the walk needs more than one invocation; the figures of
// docs/DEPLOY.md come from
//
//	go test -run TestResumableSweepCoversALargeTenant -v ./pkg/pipeline/ -args -sweep.users=1000000 -sweep.page=1000
var (
	sweepUsers = flag.Int("sweep.users", 30000, "users of the resumable sweep's tenant")
	sweepPage  = flag.Int("sweep.page", 250, "rows per page of its registration report")
)

// scaleKinds are the registered method kinds of the generated users, in
// the report's names.
var scaleKinds = [][]string{
	{"microsoftAuthenticatorPush", "mobilePhone"},
	{"microsoftAuthenticatorPasswordless", "microsoftAuthenticatorPush"},
	{"fido2SecurityKey", "microsoftAuthenticatorPush", "mobilePhone"},
	{"mobilePhone"},
	{"windowsHelloForBusiness", "microsoftAuthenticatorPush"},
}

// scaleUser is the i-th user of a generated large tenant.
func scaleUser(i int) model.User {
	return model.User{
		ID:                graphtest.LargeUserID(i),
		UserPrincipalName: fmt.Sprintf("user%07d@contoso.example", i),
		DisplayName:       fmt.Sprintf("User %d", i),
		MethodsRegistered: scaleKinds[i%len(scaleKinds)],
	}
}

// countingQueue counts the evaluation requests each user of a large
// tenant gets, without deduplicating, so that a user enqueued twice shows.
type countingQueue struct {
	mu     sync.Mutex
	counts []uint8
	sends  int
	other  int
}

func (q *countingQueue) SendRequests(_ context.Context, reqs []model.EvaluationRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sends++
	for _, r := range reqs {
		i, ok := graphtest.LargeUserIndex(r.UserID)
		if !ok || i >= len(q.counts) {
			q.other++
			continue
		}
		q.counts[i]++
	}
	return nil
}

// openState creates a fresh state table on the local DynamoDB server.
func openState(t *testing.T, now func() time.Time) *store.DynamoDB {
	t.Helper()
	client := awstest.DynamoDB(t)
	name := awstest.UniqueName(t)
	db := store.NewDynamoDB(client, name+"-state", name+"-claims", now)
	if err := db.CreateTables(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, table := range []string{name + "-state", name + "-claims"} {
			if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
				t.Errorf("delete table %s: %v", table, err)
			}
		}
	})
	return db
}

// scaleGraph is a Graph client paced as the sweep's (1 request per 10 s of
// the reports budget) over a fake Graph serving a generated tenant, both on
// one fake clock.
func scaleGraph(t *testing.T, users, page int) (*graph.Client, *graphtest.Server, *graphtest.Clock) {
	t.Helper()
	clk := graphtest.NewClock(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))
	srv := graphtest.NewServer(t, nil, graphtest.WithClock(clk), graphtest.WithToken("t"),
		graphtest.WithReportPageSize(page), graphtest.WithLargeTenant(users, scaleUser))
	limits := map[graph.Class]graph.Limit{graph.ClassAuthReports: {Requests: 1, Per: 10 * time.Second}}
	c, err := graph.New(context.Background(), graph.Config{BaseURL: srv.URL(), TenantID: "scale", Token: "t", Clock: clk, Pacer: graph.NewPacer(clk, limits)})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv, clk
}

// The sweep covers a tenant of any size in invocations of bounded length:
// each walks for its budget (13 minutes), keeps its cursor in DynamoDB and
// returns; the next one, started by the 15-minute schedule, continues
// where it stopped. Every user is enqueued for evaluation exactly once, the
// budget is never exceeded, and the figures are logged (-v).
func TestResumableSweepCoversALargeTenant(t *testing.T) {
	users, page := *sweepUsers, *sweepPage
	c, srv, clk := scaleGraph(t, users, page)
	db := openState(t, clk.Now)
	q := &countingQueue{counts: make([]uint8, users)}
	sw := &pipeline.Sweep{Pages: c, Checkpoints: db, Store: db, Queue: q, Now: clk.Now,
		MaxAge: 7 * 24 * time.Hour, PolicyChanges: db, Budget: 13 * time.Minute}
	ctx := zerolog.Nop().WithContext(context.Background())
	start, wall := clk.Now(), time.Now()
	const tick = 15 * time.Minute
	var stats pipeline.SweepStats
	for inv := 0; !stats.Done; inv++ {
		if inv > users/page+10 {
			t.Fatalf("no end after %d invocations: %+v", inv, stats)
		}
		// The next tick of the schedule: the daily run first, then the
		// 15-minute runs, which continue the unfinished sweep.
		if next := start.Add(clk.Now().Sub(start).Truncate(tick)); next.Before(clk.Now()) {
			clk.Advance(next.Add(tick).Sub(clk.Now()))
		}
		var err error
		stats, err = sw.Run(ctx, pipeline.SweepOptions{PolicyChangesOnly: inv > 0})
		if err != nil {
			t.Fatalf("invocation %d: %v", inv+1, err)
		}
	}
	took := clk.Now().Sub(start)
	for i, n := range q.counts {
		if n != 1 {
			t.Fatalf("user %d was enqueued %d times, want once", i, n)
		}
	}
	if q.other > 0 || stats.Users != users || stats.Enqueued != users || stats.New != users {
		t.Fatalf("stats %+v, %d requests for unknown users; want %d users, each new and enqueued", stats, q.other, users)
	}
	if over := srv.OverBudget(); len(over) > 0 {
		t.Errorf("%d requests refused as over budget", len(over))
	}
	wantPages := (users + page - 1) / page
	reqs := len(srv.Requests())
	if stats.Pages != wantPages || reqs != wantPages {
		t.Errorf("%d pages read in %d Graph requests, want %d", stats.Pages, reqs, wantPages)
	}
	if again, err := sw.Run(ctx, pipeline.SweepOptions{PolicyChangesOnly: true}); err != nil || again.Users != 0 {
		t.Errorf("a run after the sweep ended swept %+v (%v); want nothing", again, err)
	}
	t.Logf("| %d users | pages of %d | %d invocations | %d Graph requests (%.4f per user) | %d enqueue calls | simulated %s (%.2f h) | wall %s |",
		users, page, stats.Invocations, reqs, float64(reqs)/float64(users), q.sends, took, took.Hours(), time.Since(wall).Round(time.Second))
}
