package store

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// Concurrent ingest invocations that saw the same sign-ins: of all their
// writes for one method and day exactly one lands and reports a change.
func TestDynamoDBUsageOneWriteWinsPerDay(t *testing.T) {
	t.Parallel()
	s, _ := openDynamoDB(t, fixed)
	ctx := context.Background()
	for round, day := range []time.Time{t0, t0.Add(24 * time.Hour), t0.Add(72 * time.Hour)} {
		var wg sync.WaitGroup
		start := make(chan struct{})
		changes := make([][]model.UsageChange, 8)
		errs := make([]error, len(changes))
		for i := range changes {
			wg.Go(func() {
				<-start
				u := model.MethodUsage{Kind: model.KindAuthenticator, Instance: "iPhone 15", LastUsed: day.Add(time.Duration(i) * time.Minute)}
				if i%2 == 1 {
					u.LastFailed = day
				}
				changes[i], errs[i] = s.RecordUsage(ctx, "racer", []model.MethodUsage{u})
			})
		}
		close(start)
		wg.Wait()
		usedWrites, failedWrites := 0, 0
		for i, cs := range changes {
			if errs[i] != nil {
				t.Fatalf("round %d writer %d: %v", round, i, errs[i])
			}
			for _, c := range cs {
				if !c.After.LastUsed.Equal(c.Before.LastUsed) {
					usedWrites++
				}
				if !c.After.LastFailed.Equal(c.Before.LastFailed) {
					failedWrites++
				}
			}
		}
		if usedWrites != 1 || failedWrites != 1 {
			t.Errorf("round %d: lastUsed moved by %d writers, lastFailed by %d; want 1 and 1", round, usedWrites, failedWrites)
		}
		us, err := s.LoadUsage(ctx, "racer")
		if err != nil || len(us) != 1 || !us[0].LastUsed.Equal(model.Day(day)) || !us[0].LastFailed.Equal(model.Day(day)) {
			t.Fatalf("round %d: usage %+v, %v", round, us, err)
		}
	}
}

// The usage item is apart from the user's item, so a usage write is
// charged for a small item and never touches the assessment.
func TestDynamoDBUsageItemLayout(t *testing.T) {
	t.Parallel()
	s, client := openDynamoDB(t, fixed)
	ctx := context.Background()
	if _, err := s.RecordUsage(ctx, "u1", []model.MethodUsage{
		{Kind: model.KindFIDO2, Instance: "Key/with slash", LastUsed: t0.Add(3 * time.Hour)},
		{Kind: model.KindMobilePhone, Instance: "55", LastFailed: t0},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.stateTable), Key: key("usage/u1")})
	if err != nil {
		t.Fatal(err)
	}
	day := model.Day(t0).UnixNano()
	want := map[string]int64{"used/fido2/Key/with slash": day, "failed/mobile-phone/55": day}
	if len(out.Item) != len(want)+1 {
		t.Errorf("item %v", out.Item)
	}
	for name, v := range want {
		n, ok := out.Item[name].(*types.AttributeValueMemberN)
		if !ok || n.Value != strconv.FormatInt(v, 10) {
			t.Errorf("attribute %q = %v, want %d", name, out.Item[name], v)
		}
	}
	us, err := s.LoadUsage(ctx, "u1")
	if err != nil || len(us) != 2 || us[0].Instance != "Key/with slash" || us[1].Instance != "55" {
		t.Fatalf("usage %+v, %v", us, err)
	}
	if st, err := s.LoadUser(ctx, "u1"); err != nil || st.Assessment != nil {
		t.Fatalf("the user's own item: %+v, %v", st, err)
	}
}
