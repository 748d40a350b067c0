package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
)

const reportPath = "/v1.0/reports/authenticationMethods/userRegistrationDetails"

// rawClient is a Graph client against handler, with a fake clock.
func rawClient(t *testing.T, handler http.Handler) (*graph.Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	clk := graphtest.NewClock(time.Time{})
	c, err := graph.New(context.Background(), graph.Config{
		BaseURL: srv.URL + "/v1.0", TenantID: "tenant-" + t.Name(), Token: testToken,
		Clock: clk, Pacer: graph.NewPacer(clk, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func reportPage(next string) string {
	link := ""
	if next != "" {
		link = fmt.Sprintf(`,"@odata.nextLink":%q`, next)
	}
	return `{"value":[{"id":"u1","userPrincipalName":"u1@contoso.example","methodsRegistered":["email"],"lastUpdatedDateTime":"2026-11-01T00:00:00Z"}]` + link + `}`
}

// A nextLink that leads back to a page already read would loop until the
// deadline: it is refused as soon as it repeats.
func TestNextLinkLoopIsRefused(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var self string
	c, srv := rawClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, reportPage(self))
	}))
	self = srv.URL + reportPath + "?$skiptoken=1"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c.RegistrationDetails(ctx, func(graph.RegistrationDetail) error { return nil })
	if !errors.Is(err, model.ErrInvalidInput) || !strings.Contains(err.Error(), "nextLink") {
		t.Fatalf("err %v, want invalid input naming the nextLink", err)
	}
	if n := calls.Load(); n > 3 {
		t.Errorf("%d requests: the loop was followed", n)
	}
}

// A redirect to another host is not Graph answering: it is neither
// followed nor read as data.
func TestRedirectToAnotherHostIsRefused(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, reportPage(""))
	}))
	t.Cleanup(other.Close)
	c, _ := rawClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+reportPath, http.StatusFound)
	}))
	rows := 0
	err := c.RegistrationDetails(context.Background(), func(graph.RegistrationDetail) error { rows++; return nil })
	if err == nil || rows != 0 {
		t.Fatalf("err %v, %d rows: a redirect to another host was accepted as Graph data", err, rows)
	}
	if !strings.Contains(err.Error(), "redirect") {
		t.Errorf("err %v does not say it was a redirect", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
}
