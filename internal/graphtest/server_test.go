package graphtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/model"
)

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A client that does not pace itself is throttled the way Graph throttles.
func TestServerEnforcesTheReportsBudget(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(2, 1)
	clk := graphtest.NewClock(time.Time{})
	srv := graphtest.NewServer(t, dir, graphtest.WithClock(clk))
	url := srv.URL() + "/users/" + dir.Users[0].ID + "/authentication/methods"
	for i := range 5 {
		if resp, _ := get(t, url); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		clk.Advance(time.Second)
	}
	resp, body := get(t, url)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "5" || !strings.Contains(string(body), `"TooManyRequests"`) {
		t.Fatalf("sixth request: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if over := srv.OverBudget(); len(over) != 1 {
		t.Errorf("%d over budget, want 1", len(over))
	}
	clk.Advance(5 * time.Second)
	if resp, _ := get(t, url); resp.StatusCode != 200 {
		t.Errorf("after Retry-After: %d", resp.StatusCode)
	}
	// Directory reads have a budget of their own.
	if resp, _ := get(t, srv.URL()+"/users/"+dir.Users[0].ID); resp.StatusCode != 200 {
		t.Errorf("profile: %d", resp.StatusCode)
	}
}

func TestServerBatchAnswersEachItem(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(1, 1)
	srv := graphtest.NewServer(t, dir, graphtest.WithClock(graphtest.NewClock(time.Time{})))
	var reqs []string
	for i := range 7 {
		reqs = append(reqs, fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users/%s/authentication/methods"}`, i+1, dir.Users[0].ID))
	}
	reqs = append(reqs, `{"id":"8","method":"GET","url":"users/nobody"}`)
	resp, err := http.Post(srv.URL()+"/$batch", "application/json", strings.NewReader(`{"requests":[`+strings.Join(reqs, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Responses []struct {
			ID      string            `json:"id"`
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"responses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	status := map[string]int{}
	for _, r := range out.Responses {
		status[r.ID] = r.Status
		if r.Status == 429 && r.Headers["Retry-After"] == "" {
			t.Errorf("item %s: 429 without Retry-After", r.ID)
		}
	}
	want := map[string]int{"1": 200, "2": 200, "3": 200, "4": 200, "5": 200, "6": 429, "7": 429, "8": 404}
	for id, s := range want {
		if status[id] != s {
			t.Errorf("item %s: %d, want %d", id, status[id], s)
		}
	}
	if len(srv.Requests()) != 1 || len(srv.Items()) != 8 {
		t.Errorf("recorded %d requests, %d items", len(srv.Requests()), len(srv.Items()))
	}
}

func TestServerServesMethodsVerbatimWithPaging(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(40, 3)
	var u model.User
	for _, c := range dir.Users {
		if len(c.Methods) >= 3 {
			u = c
			break
		}
	}
	srv := graphtest.NewServer(t, dir, graphtest.WithListPageSize(2))
	var raws []string
	next := srv.URL() + "/users/" + u.ID + "/authentication/methods"
	for next != "" {
		_, body := get(t, next)
		var page struct {
			Next  string            `json:"@odata.nextLink"`
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			raws = append(raws, string(v))
		}
		next = page.Next
	}
	if len(raws) != len(u.Methods) {
		t.Fatalf("%d methods over the pages, want %d", len(raws), len(u.Methods))
	}
	for i, m := range u.Methods {
		if raws[i] != string(m.Raw) {
			t.Errorf("method %d not served verbatim:\n%s\n%s", i, raws[i], m.Raw)
		}
	}
}

func TestServerFaultsAndToken(t *testing.T) {
	t.Parallel()
	srv := graphtest.NewServer(t, synth.Tenant(1, 1), graphtest.WithToken("secret"))
	if resp, _ := get(t, srv.URL()+"/reports/authenticationMethods/userRegistrationDetails"); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	srv2 := graphtest.NewServer(t, synth.Tenant(1, 1))
	srv2.Fail(1, 503, 1500*time.Millisecond)
	resp, _ := get(t, srv2.URL()+"/reports/authenticationMethods/userRegistrationDetails")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1.5" {
		t.Errorf("fault: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := get(t, srv2.URL()+"/reports/authenticationMethods/userRegistrationDetails"); resp.StatusCode != 200 {
		t.Errorf("after the fault: %d", resp.StatusCode)
	}
}
