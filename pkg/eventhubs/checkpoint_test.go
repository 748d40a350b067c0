package eventhubs

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/credres/credres/pkg/model"
)

func ownership(partition, owner string, etag *azcore.ETag) azeventhubs.Ownership {
	return azeventhubs.Ownership{
		FullyQualifiedNamespace: testNamespace, EventHubName: DefaultEventHub, ConsumerGroup: testGroup,
		PartitionID: partition, OwnerID: owner, ETag: etag,
	}
}

func claimOne(t *testing.T, s CheckpointStore, o azeventhubs.Ownership) (azeventhubs.Ownership, bool) {
	t.Helper()
	got, err := s.ClaimOwnership(context.Background(), []azeventhubs.Ownership{o}, nil)
	if err != nil {
		t.Fatalf("claim %s for %q: %v", o.PartitionID, o.OwnerID, err)
	}
	switch len(got) {
	case 0:
		return azeventhubs.Ownership{}, false
	case 1:
		return got[0], true
	}
	t.Fatalf("claim of one ownership returned %d", len(got))
	return azeventhubs.Ownership{}, false
}

func TestCheckpointStoreOwnershipETags(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newTestStore(t, c.Now)

	first, ok := claimOne(t, s, ownership("0", "run-a", nil))
	if !ok {
		t.Fatal("a first claim without an ETag was refused")
	}
	if first.ETag == nil || *first.ETag == "" || !first.LastModifiedTime.Equal(c.Now()) {
		t.Fatalf("claimed ownership lacks its new ETag or time: %+v", first)
	}
	t.Run("nil-etag-on-a-claimed-partition-fails", func(t *testing.T) {
		if _, ok := claimOne(t, s, ownership("0", "run-b", nil)); ok {
			t.Fatal("a claim without an ETag took a partition that was already claimed")
		}
	})

	c.Advance(time.Minute)
	second, ok := claimOne(t, s, ownership("0", "run-b", first.ETag))
	if !ok {
		t.Fatal("a claim with the current ETag was refused")
	}
	if *second.ETag == *first.ETag || !second.LastModifiedTime.Equal(c.Now()) {
		t.Fatalf("a successful claim kept the old ETag or time: %+v", second)
	}
	t.Run("stale-etag-fails", func(t *testing.T) {
		if _, ok := claimOne(t, s, ownership("0", "run-a", first.ETag)); ok {
			t.Fatal("a claim with a stale ETag succeeded")
		}
	})

	t.Run("list-shows-the-winner", func(t *testing.T) {
		owns, err := s.ListOwnership(context.Background(), testNamespace, DefaultEventHub, testGroup, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(owns) != 1 || owns[0].OwnerID != "run-b" || *owns[0].ETag != *second.ETag ||
			!owns[0].LastModifiedTime.Equal(second.LastModifiedTime) || owns[0].PartitionID != "0" {
			t.Fatalf("ListOwnership = %+v, want run-b's claim %+v", owns, second)
		}
	})

	t.Run("release-then-list-shows-no-owner", func(t *testing.T) {
		released, ok := claimOne(t, s, ownership("0", "", second.ETag))
		if !ok {
			t.Fatal("releasing with the current ETag was refused")
		}
		owns, err := s.ListOwnership(context.Background(), testNamespace, DefaultEventHub, testGroup, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(owns) != 1 || owns[0].OwnerID != "" || *owns[0].ETag != *released.ETag {
			t.Fatalf("after release ListOwnership = %+v", owns)
		}
	})

	t.Run("batch-claims-only-what-matches", func(t *testing.T) {
		bogus := azcore.ETag("not-the-etag")
		got, err := s.ClaimOwnership(context.Background(), []azeventhubs.Ownership{
			ownership("1", "run-c", nil),    // new: claimed
			ownership("0", "run-c", &bogus), // stale: skipped
			ownership("2", "run-c", nil),    // new: claimed
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].PartitionID != "1" || got[1].PartitionID != "2" {
			t.Fatalf("claimed %+v, want partitions 1 and 2", got)
		}
	})
}

func TestCheckpointStoreConcurrentClaimsHaveOneWinner(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newTestStore(t, c.Now)
	base, _ := claimOne(t, s, ownership("0", "", nil))

	const contenders = 8
	var wg sync.WaitGroup
	wins := make(chan string, contenders)
	for i := range contenders {
		wg.Go(func() {
			owner := "run-" + string(rune('a'+i))
			got, err := s.ClaimOwnership(context.Background(), []azeventhubs.Ownership{ownership("0", owner, base.ETag)}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			for _, o := range got {
				wins <- o.OwnerID
			}
		})
	}
	wg.Wait()
	close(wins)
	var winners []string
	for w := range wins {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("%d contenders with the same ETag won: %v", len(winners), winners)
	}
}

func TestCheckpointStoreCheckpointsRoundTrip(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, newClock().Now)
	ctx := context.Background()
	cp := func(group, partition string, offset *string, seq *int64) azeventhubs.Checkpoint {
		return azeventhubs.Checkpoint{
			FullyQualifiedNamespace: testNamespace, EventHubName: DefaultEventHub, ConsumerGroup: group,
			PartitionID: partition, Offset: offset, SequenceNumber: seq,
		}
	}
	writes := []azeventhubs.Checkpoint{
		cp(testGroup, "0", to.Ptr("4096"), to.Ptr[int64](0)),
		cp(testGroup, "0", to.Ptr("8704"), to.Ptr[int64](9)), // replaces the first
		cp(testGroup, "1", to.Ptr("2:1024:7"), to.Ptr[int64](41)),
		cp(testGroup, "2", nil, to.Ptr[int64](-1)),
		cp("$Default", "0", to.Ptr("1"), to.Ptr[int64](1)), // another group, kept apart
	}
	for _, w := range writes {
		if err := s.SetCheckpoint(ctx, w, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := checkpoints(t, s), map[string]string{"0": "8704/9", "1": "2:1024:7/41", "2": "-/-1"}; !maps.Equal(got, want) {
		t.Fatalf("ListCheckpoints = %v, want %v", got, want)
	}
	others, err := s.ListCheckpoints(ctx, testNamespace, DefaultEventHub, "$Default", nil)
	if err != nil || len(others) != 1 || *others[0].Offset != "1" {
		t.Fatalf("the other group's checkpoints = %+v, %v", others, err)
	}
	owns, err := s.ListOwnership(ctx, testNamespace, DefaultEventHub, testGroup, nil)
	if err != nil || len(owns) != 0 {
		t.Fatalf("checkpoints showed up as ownership: %+v, %v", owns, err)
	}
}

func TestCheckpointStoreRejectsIncompleteInput(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, newClock().Now)
	ctx := context.Background()
	cases := map[string]func() error{
		"checkpoint-without-group": func() error {
			return s.SetCheckpoint(ctx, azeventhubs.Checkpoint{FullyQualifiedNamespace: testNamespace, EventHubName: DefaultEventHub, PartitionID: "0", Offset: to.Ptr("1")}, nil)
		},
		"checkpoint-without-position": func() error {
			return s.SetCheckpoint(ctx, azeventhubs.Checkpoint{FullyQualifiedNamespace: testNamespace, EventHubName: DefaultEventHub, ConsumerGroup: testGroup, PartitionID: "0"}, nil)
		},
		"ownership-without-partition": func() error {
			_, err := s.ClaimOwnership(ctx, []azeventhubs.Ownership{ownership("", "run-a", nil)}, nil)
			return err
		},
		"list-without-hub": func() error {
			_, err := s.ListCheckpoints(ctx, testNamespace, "", testGroup, nil)
			return err
		},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, model.ErrInvalidInput) {
				t.Fatalf("err = %v, want invalid input", err)
			}
		})
	}
}

func TestCheckpointStoreFailedClaimLeavesNoClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims []azeventhubs.Ownership
	}{
		{"a-failure-after-two-claims-releases-both", []azeventhubs.Ownership{
			ownership("0", "run-a", nil), ownership("1", "run-a", nil), ownership("", "run-a", nil),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t, newClock().Now)
			if _, err := s.ClaimOwnership(context.Background(), tt.claims, nil); err == nil {
				t.Fatal("no error for an incomplete ownership")
			}
			owns, err := s.ListOwnership(context.Background(), testNamespace, DefaultEventHub, testGroup, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range owns {
				if o.OwnerID != "" {
					t.Errorf("partition %s is left claimed by %q after the claim failed", o.PartitionID, o.OwnerID)
				}
			}
		})
	}
}
