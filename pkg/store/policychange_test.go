package store

import (
	"testing"

	"github.com/credres/credres/internal/storetest"
	"github.com/credres/credres/pkg/pipeline"
)

func TestFileStorePolicyChanges(t *testing.T) {
	storetest.RunPolicyChanges(t, func(t *testing.T, clock *storetest.Clock) pipeline.PolicyChangeStore {
		s, err := OpenFileStore(t.TempDir(), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestDynamoDBPolicyChanges(t *testing.T) {
	storetest.RunPolicyChanges(t, func(t *testing.T, clock *storetest.Clock) pipeline.PolicyChangeStore {
		s, _ := openDynamoDB(t, clock.Now)
		return s
	})
}
