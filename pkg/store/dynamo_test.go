package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/internal/storetest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// openDynamoDB creates fresh tables with unique names on the local server
// and deletes them when the test ends.
func openDynamoDB(t *testing.T, now func() time.Time) (*DynamoDB, *dynamodb.Client) {
	t.Helper()
	client := awstest.DynamoDB(t)
	name := awstest.UniqueName(t)
	s := NewDynamoDB(client, name+"-state", name+"-claims", now)
	ctx := context.Background()
	if err := s.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, table := range []string{s.stateTable, s.claimsTable} {
			if _, err := client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
				t.Errorf("delete table %s: %v", table, err)
			}
		}
	})
	return s, client
}

func TestDynamoDBContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Store {
		s, _ := openDynamoDB(t, clock.Now)
		return s
	})
}

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func fixed() time.Time { return t0 }

func TestDynamoDBNewerAssessmentWinsARace(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	// Each round starts both writers together; whichever lands first, the
	// newer version must be what stays.
	for round := range 10 {
		user := "race-" + strconv.Itoa(round)
		older := model.Assessment{UserID: user, Diversity: 1}
		newer := model.Assessment{UserID: user, Diversity: 2}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for i, w := range []struct {
			a  model.Assessment
			at time.Time
		}{{older, t0}, {newer, t0.Add(time.Nanosecond)}} {
			wg.Go(func() {
				<-start
				errs[i] = s.SaveAssessment(ctx, user, w.a, w.at, time.Time{})
			})
		}
		close(start)
		wg.Wait()
		if errs[1] != nil {
			t.Fatalf("round %d: the newer write failed: %v", round, errs[1])
		}
		if errs[0] != nil && !errors.Is(errs[0], model.ErrConflict) {
			t.Fatalf("round %d: the older write failed with %v, want nil or ErrConflict", round, errs[0])
		}
		st, err := s.LoadUser(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		if st.Assessment == nil || st.Assessment.Diversity != 2 || !st.ObservedAt.Equal(t0.Add(time.Nanosecond)) {
			t.Fatalf("round %d: stored %+v at %v, want the newer assessment", round, st.Assessment, st.ObservedAt)
		}
	}
}

func TestDynamoDBOneOfRacingClaimsWins(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	const racers = 8
	for round := range 5 {
		k := "nudge/race-" + strconv.Itoa(round)
		results := make([]model.ClaimResult, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				<-start
				results[i], errs[i] = s.Claim(ctx, k, time.Minute)
			})
		}
		close(start)
		wg.Wait()
		claimed := 0
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d: claim %d: %v", round, i, errs[i])
			}
			switch results[i] {
			case model.Claimed:
				claimed++
			case model.InProgress:
			default:
				t.Fatalf("round %d: claim %d = %v, want Claimed or InProgress", round, i, results[i])
			}
		}
		if claimed != 1 {
			t.Fatalf("round %d: %d claims succeeded, want exactly 1", round, claimed)
		}
	}
}

func TestDynamoDBNudgeHistoryKeepsTheLast20(t *testing.T) {
	t.Parallel()
	s, client := openDynamoDB(t, fixed)
	ctx := context.Background()
	for i := range 25 {
		if err := s.RecordNudge(ctx, "u1", t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.LoadUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.History.Nudges) != 20 || !st.History.Nudges[0].Equal(t0.Add(5*time.Hour)) || !st.History.Nudges[19].Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("nudges %v, want the 20 from +5h to +24h", st.History.Nudges)
	}
	// The item itself is trimmed, not only what LoadUser shows.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.stateTable), Key: key("u1"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := out.Item[attrNudges].(*types.AttributeValueMemberL); !ok || len(l.Value) != 20 {
		t.Fatalf("stored nudges %#v, want a list of 20", out.Item[attrNudges])
	}
}

func TestDynamoDBObservedAtReadsInChunks(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	var ids []string
	for i := range 230 {
		id := "user-" + strconv.Itoa(i)
		ids = append(ids, id)
		if i%2 == 0 {
			if err := s.SaveAssessment(ctx, id, model.Assessment{UserID: id}, t0.Add(time.Duration(i)*time.Second), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A user with only a nudge was never assessed; a repeated id is read once.
	if err := s.RecordNudge(ctx, "user-1", t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.ObservedAt(ctx, append(ids, "user-0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 115 {
		t.Fatalf("%d users known, want 115", len(got))
	}
	for i := 0; i < 230; i += 2 {
		if at := got["user-"+strconv.Itoa(i)]; !at.Equal(t0.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("user-%d observed at %v", i, at)
		}
	}
}

func TestDynamoDBClaimsCarryTheirTimeToLive(t *testing.T) {
	t.Parallel()
	s, client := openDynamoDB(t, fixed)
	ctx := context.Background()
	item := func() map[string]types.AttributeValue {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.claimsTable), Key: key("ticket/d1"), ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	// The time to live counts from the real clock, which DynamoDB deletes
	// by, rounded up to a whole second.
	checkTTL := func(what string, it map[string]types.AttributeValue, before, after time.Time, d time.Duration) {
		t.Helper()
		got, err := strconv.ParseInt(it[attrTTL].(*types.AttributeValueMemberN).Value, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if lo, hi := before.Add(d).Unix(), ceilSeconds(after.Add(d)); got < lo || got > hi {
			t.Errorf("%s ttl %d, want within [%d, %d]", what, got, lo, hi)
		}
	}
	before := time.Now()
	if got, err := s.Claim(ctx, "ticket/d1", time.Minute); err != nil || got != model.Claimed {
		t.Fatalf("claim: %v %v", got, err)
	}
	it := item()
	checkTTL("claim", it, before, time.Now(), time.Minute)
	if exp, _ := nanoTime(it[attrExpiresAt]); !exp.Equal(t0.Add(time.Minute)) {
		t.Errorf("claim expires at %v, want the store clock's %v", exp, t0.Add(time.Minute))
	}
	before = time.Now()
	if err := s.Complete(ctx, "ticket/d1", pipeline.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	it = item()
	checkTTL("completed claim", it, before, time.Now(), pipeline.DefaultRetention)
	if done := it[attrDone].(*types.AttributeValueMemberBOOL).Value; !done {
		t.Error("completed claim not done")
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(s.claimsTable)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != attrTTL || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("time to live %+v, want enabled on %s", d, attrTTL)
	}
	// A second CreateTables finds everything in place (enabling time to
	// live twice is an error on DynamoDB).
	if err := s.CreateTables(ctx); err != nil {
		t.Errorf("CreateTables again: %v", err)
	}
}

func TestDynamoDBErrorsNameTheOperationAndUser(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDB(t)
	s := NewDynamoDB(client, awstest.UniqueName(t)+"-missing", awstest.UniqueName(t)+"-missing", fixed)
	ctx := context.Background()
	err := s.SaveAssessment(ctx, "u-42", model.Assessment{}, t0, time.Time{})
	if err == nil || !strings.HasPrefix(err.Error(), "store: save assessment u-42: ") {
		t.Fatalf("err %v", err)
	}
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("err %v does not wrap the SDK's ResourceNotFoundException", err)
	}
	if err := s.SaveAssessment(ctx, "u-42", model.Assessment{}, time.Time{}, time.Time{}); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("zero version: %v, want ErrInvalidInput", err)
	}
	if _, err := s.LoadUser(ctx, ""); !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("empty user id: %v, want ErrInvalidInput", err)
	}
}

func TestDynamoDBThrottlingIsClassified(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"} {
		err := fail("save assessment", "u1", &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "UpdateItem",
			Err: &smithy.GenericAPIError{Code: code, Message: "slow down"}})
		if !errors.Is(err, model.ErrThrottled) || !strings.HasPrefix(err.Error(), "store: save assessment u1: throttled: ") {
			t.Errorf("%s: %v", code, err)
		}
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != code {
			t.Errorf("%s: the API error is not kept: %v", code, err)
		}
	}
	if err := fail("save assessment", "u1", &smithy.GenericAPIError{Code: "ValidationException"}); errors.Is(err, model.ErrThrottled) {
		t.Errorf("a validation error classified as throttling: %v", err)
	}
}

func TestDynamoDBConflictNamesTheStoredVersion(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	if err := s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1"}, t0.Add(time.Hour), time.Time{}); err != nil {
		t.Fatal(err)
	}
	err := s.SaveAssessment(ctx, "u1", model.Assessment{UserID: "u1"}, t0, time.Time{})
	want := "store: save assessment u1: conflict: stored 2026-11-26T10:00:00Z is not older than 2026-11-26T09:00:00Z"
	if !errors.Is(err, model.ErrConflict) || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
}

var _ storetest.Store = (*DynamoDB)(nil)

func TestDynamoDBRecordsDryRuns(t *testing.T) {
	client := awstest.DynamoDB(t)
	s := NewDynamoDB(client, awstest.UniqueName(t)+"-state", awstest.UniqueName(t)+"-claims", time.Now)
	ctx := context.Background()
	if err := s.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDryRun(ctx, "nudge", map[string]string{"subject": "Add another way to sign in"}); err != nil {
		t.Fatal(err)
	}
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.claimsTable)})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("items %v, err %v", out, err)
	}
	if _, ok := out.Items[0]["ttl"]; !ok {
		t.Errorf("dry-run record without ttl")
	}
}
