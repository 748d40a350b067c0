package store

import (
	"testing"

	"github.com/credres/credres/pkg/store/storetest"
)

func TestFileStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Store {
		s, err := OpenFileStore(t.TempDir(), clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
