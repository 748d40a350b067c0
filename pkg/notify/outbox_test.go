package notify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credres/credres/pkg/model"
)

// The outbox keeps its files open between lines; each line is whole as
// soon as it is sent, and after Close a line opens the file again.
func TestOutboxKeepsFilesOpen(t *testing.T) {
	dir := t.TempDir()
	out, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	lines := func() []string {
		data, err := os.ReadFile(filepath.Join(dir, NudgesFile))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	for i, id := range []string{"d1", "d2"} {
		if err := out.SendNudge(ctx, model.DecisionMessage{}, model.NudgeRecord{DecisionID: id}); err != nil {
			t.Fatal(err)
		}
		if got := lines(); len(got) != i+1 || !strings.Contains(got[i], `"`+id+`"`) {
			t.Fatalf("after %s: %q", id, got)
		}
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.SendNudge(ctx, model.DecisionMessage{}, model.NudgeRecord{DecisionID: "d3"}); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lines(); len(got) != 3 || !strings.Contains(got[2], `"d3"`) {
		t.Fatalf("after reopening: %q", got)
	}
}
