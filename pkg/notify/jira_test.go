package notify_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/notifytest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
)

func newJira(t *testing.T, lag time.Duration, issueType string) (*notify.Jira, *notifytest.Jira, *notifytest.Clock) {
	t.Helper()
	clock := notifytest.NewClock(time.Time{})
	fake := notifytest.NewJira(t, notifytest.JiraSite{Project: "CR", DoneTransition: "31", Email: jiraEmail, APIToken: jiraToken, SearchLag: lag, Clock: clock})
	j, err := notify.NewJira(notify.JiraConfig{URL: fake.URL(), Project: "CR", IssueType: issueType, DoneTransition: "31", Secrets: testSecrets, Secret: "jira", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return j, fake, clock
}

func TestJiraTicketLifecycle(t *testing.T) {
	t.Parallel()
	j, fake, _ := newJira(t, 0, "")
	open := ticket("opened", "CR-AAAAAAAAAA", "d-open")
	send(t, j, open)
	issues := fake.Issues()
	if len(issues) != 1 {
		t.Fatalf("%d issues, want 1", len(issues))
	}
	is := issues[0]
	if is.Key != "CR-1" || is.Summary != open.Title || is.Type != "Task" || is.Status != "To Do" {
		t.Errorf("issue = %+v", is)
	}
	if want := []string{"credres", "credres-user-u-1", "credres-CR-AAAAAAAAAA"}; !slices.Equal(is.Labels, want) {
		t.Errorf("labels = %q, want %q", is.Labels, want)
	}
	// The fake turned the ADF back into text, blocks separated by blank
	// lines: the lines, and the bullet list of risks, survive the trip.
	want := strings.Replace(strings.Replace(open.Description, "At risk:\n", "At risk:\n\n", 1), "\nCurrent", "\n\nCurrent", 1)
	if is.Description != want {
		t.Errorf("description:\n%s\nwant\n%s", is.Description, want)
	}
	search := fake.Requests()[0]
	q, _ := url.ParseQuery(search.Query)
	if search.Path != "/rest/api/3/search/jql" ||
		q.Get("jql") != `project = "CR" AND labels = "credres-user-u-1" AND statusCategory != Done ORDER BY created ASC` {
		t.Errorf("search = %s?%s", search.Path, search.Query)
	}

	update := ticket("updated", "CR-AAAAAAAAAA", "d-update")
	send(t, j, update)
	send(t, j, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve"))
	is = fake.Issues()[0]
	if len(is.Comments) != 2 || !strings.Contains(is.Comments[0], update.Title) ||
		!strings.HasSuffix(is.Comments[0], "credres event d-update") || !strings.HasSuffix(is.Comments[1], "credres event d-resolve") {
		t.Errorf("comments = %q", is.Comments)
	}
	if is.Status != "Done" {
		t.Errorf("status = %s, want Done", is.Status)
	}
}

func TestJiraIssueTypeByID(t *testing.T) {
	t.Parallel()
	j, fake, _ := newJira(t, 0, "10002")
	send(t, j, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
	if is := fake.Issues(); len(is) != 1 || is[0].Type != "10002" {
		t.Errorf("issues = %+v", is)
	}
}

func TestJiraRetriesNeverDuplicate(t *testing.T) {
	t.Parallel()
	t.Run("lost-create-waits-for-the-queue-then-is-found", func(t *testing.T) {
		t.Parallel()
		// Jira's search lags behind writes: a create retried within the call
		// could not see the issue it made, so the call fails instead, and
		// the redelivery, minutes later, finds it.
		j, fake, clock := newJira(t, 10*time.Second, "")
		fake.Fail(notifytest.Fault{Method: http.MethodPost, Path: "/rest/api/3/issue", Apply: true, Drop: true})
		ctx, _ := logged(t)
		err := j.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
		if err == nil || !strings.Contains(err.Error(), "no response") {
			t.Fatalf("err = %v, want the lost answer reported", err)
		}
		errClean(t, err)
		if n := fake.Count(http.MethodPost, "/rest/api/3/issue"); n != 1 || len(clock.Waits()) != 0 {
			t.Fatalf("%d creates and waits %v: a create of unknown outcome is not retried in the call", n, clock.Waits())
		}
		clock.Advance(6 * time.Minute) // the claim's lease and the queue's visibility timeout
		send(t, j, ticket("opened", "CR-BBBBBBBBBB", "d-open"))
		issues := fake.Issues()
		if len(issues) != 1 || fake.Count(http.MethodPost, "/rest/api/3/issue") != 1 {
			t.Fatalf("%d issues after the redelivery, want 1", len(issues))
		}
		if !slices.Contains(issues[0].Labels, "credres-CR-BBBBBBBBBB") || !slices.Contains(issues[0].Labels, "credres-CR-AAAAAAAAAA") {
			t.Errorf("labels = %q: want both ticket ids", issues[0].Labels)
		}
	})
	t.Run("lost-comment-answer-comments-once", func(t *testing.T) {
		t.Parallel()
		j, fake, _ := newJira(t, 0, "")
		send(t, j, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
		fake.Fail(notifytest.Fault{Method: http.MethodPost, Path: "/rest/api/3/issue/CR-1/comment", Apply: true, Drop: true})
		send(t, j, ticket("updated", "CR-AAAAAAAAAA", "d-update"))
		send(t, j, ticket("updated", "CR-AAAAAAAAAA", "d-update")) // redelivered
		if c := fake.Issues()[0].Comments; len(c) != 1 {
			t.Errorf("%d comments, want 1", len(c))
		}
	})
	t.Run("lost-transition-answer-resolves-once", func(t *testing.T) {
		t.Parallel()
		j, fake, _ := newJira(t, 0, "")
		send(t, j, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
		fake.Fail(notifytest.Fault{Method: http.MethodPost, Path: "/rest/api/3/issue/CR-1/transitions", Apply: true, Status: 502})
		send(t, j, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve"))
		send(t, j, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve")) // redelivered
		is := fake.Issues()[0]
		if is.Status != "Done" || len(is.Comments) != 1 || fake.Count(http.MethodPost, "/rest/api/3/issue/CR-1/transitions") != 1 {
			t.Errorf("issue = %+v after %d transitions", is, fake.Count(http.MethodPost, "/rest/api/3/issue/CR-1/transitions"))
		}
	})
	t.Run("update-without-an-open-issue-opens-one", func(t *testing.T) {
		t.Parallel()
		j, fake, _ := newJira(t, 0, "")
		send(t, j, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
		send(t, j, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve"))
		send(t, j, ticket("updated", "CR-AAAAAAAAAA", "d-update"))
		if is := fake.Issues(); len(is) != 2 || is[1].Status != "To Do" {
			t.Errorf("issues = %+v, want a second, open one", is)
		}
	})
}

func TestJiraWrongTransitionSaysWhy(t *testing.T) {
	t.Parallel()
	clock := notifytest.NewClock(time.Time{})
	fake := notifytest.NewJira(t, notifytest.JiraSite{Project: "CR", DoneTransition: "31", Email: jiraEmail, APIToken: jiraToken, Clock: clock})
	j, err := notify.NewJira(notify.JiraConfig{URL: fake.URL(), Project: "CR", DoneTransition: "41", Secrets: testSecrets, Secret: "jira", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	send(t, j, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
	ctx, _ := logged(t)
	err = j.SendTicket(ctx, model.DecisionMessage{}, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve"))
	want := "jira: resolve issue CR-AAAAAAAAAA: 400 Bad Request: Transition id '41' is not valid for this issue."
	if err == nil || err.Error() != want || !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("err = %v\nwant   %s", err, want)
	}
}

func TestJiraConfigChecks(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]notify.JiraConfig{
		"no-project":    {URL: "https://contoso.atlassian.net", DoneTransition: "31", Secrets: testSecrets, Secret: "jira"},
		"jql-injection": {URL: "https://contoso.atlassian.net", Project: `CR" OR project != "X`, DoneTransition: "31", Secrets: testSecrets, Secret: "jira"},
		"no-transition": {URL: "https://contoso.atlassian.net", Project: "CR", Secrets: testSecrets, Secret: "jira"},
		"no-secret":     {URL: "https://contoso.atlassian.net", Project: "CR", DoneTransition: "31"},
	} {
		if _, err := notify.NewJira(cfg); !errors.Is(err, model.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want invalid input", name, err)
		}
	}
}
