package graph_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

const testToken = "test-token"

// env is a client wired to a fake Graph that shares its fake clock.
type env struct {
	clk  *graphtest.Clock
	srv  *graphtest.Server
	c    *graph.Client
	logs *syncBuffer
	ctx  context.Context
}

// syncBuffer is a log sink safe for the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, dir *model.Directory, configure func(*graph.Config), opts ...graphtest.Option) *env {
	t.Helper()
	clk := graphtest.NewClock(time.Time{})
	srv := graphtest.NewServer(t, dir, append([]graphtest.Option{graphtest.WithClock(clk), graphtest.WithToken(testToken)}, opts...)...)
	logs := &syncBuffer{}
	ctx := zerolog.New(logs).WithContext(context.Background())
	cfg := graph.Config{
		BaseURL:  srv.URL(),
		TenantID: "tenant-" + t.Name(),
		Token:    testToken,
		Clock:    clk,
		Pacer:    graph.NewPacer(clk, nil),
	}
	if dir != nil {
		cfg.PasswordAuth, cfg.PHSFallback = dir.Tenant.PasswordAuth, dir.Tenant.PHSFallback
		cfg.TenantID = dir.Tenant.ID
	}
	if configure != nil {
		configure(&cfg)
	}
	c, err := graph.New(ctx, cfg)
	if err != nil {
		t.Fatalf("graph.New: %v", err)
	}
	return &env{clk: clk, srv: srv, c: c, logs: logs, ctx: ctx}
}

func loadDir(t testing.TB, path string) *model.Directory {
	t.Helper()
	d, err := graphjson.LoadDirectory(path)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// batchCount counts the $batch requests that reached the server.
func batchCount(srv *graphtest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Path == "/$batch" {
			n++
		}
	}
	return n
}
