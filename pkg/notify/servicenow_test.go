package notify_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credres/credres/internal/notifytest"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
)

func newServiceNow(t *testing.T, secret string, cfg notify.ServiceNowConfig) (*notify.ServiceNow, *notifytest.ServiceNow, *notifytest.Clock) {
	t.Helper()
	fake := notifytest.NewServiceNow(t, notifytest.ServiceNowCredential{User: snUser, Password: snPassword, Token: snToken})
	clock := notifytest.NewClock(time.Time{})
	cfg.URL, cfg.Secrets, cfg.Secret, cfg.Clock = fake.URL(), testSecrets, secret, clock
	sn, err := notify.NewServiceNow(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sn, fake, clock
}

func TestServiceNowTicketLifecycle(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"sn-basic", "sn-token"} {
		t.Run(secret, func(t *testing.T) {
			t.Parallel()
			ctx, _ := logged(t)
			sn, fake, _ := newServiceNow(t, secret, notify.ServiceNowConfig{AssignmentGroup: "Service Desk", Caller: "6816f79cc0a8016401c5a33be04be441"})
			open := ticket("opened", "CR-AAAAAAAAAA", "d-open")
			if err := sn.SendTicket(ctx, model.DecisionMessage{}, open); err != nil {
				t.Fatal(err)
			}
			incs := fake.Incidents()
			if len(incs) != 1 {
				t.Fatalf("%d incidents, want 1", len(incs))
			}
			inc := incs[0]
			if inc.ShortDescription != open.Title || inc.Description != open.Description || inc.CorrelationID != "CR-AAAAAAAAAA" ||
				inc.CorrelationDisplay != "credres:d-open" || inc.Category != "inquiry" || inc.AssignmentGroup != "Service Desk" ||
				inc.CallerID != "6816f79cc0a8016401c5a33be04be441" || inc.State != "1" {
				t.Errorf("incident = %+v", inc)
			}
			if !strings.Contains(inc.Description, maskedPhone) || strings.Contains(inc.Description, "2065550147") {
				t.Errorf("description does not hold the masked phone only: %q", inc.Description)
			}
			// The lookup before the create is by correlation id, or by the
			// decision for an opening.
			first := fake.Requests()[0]
			q, _ := url.ParseQuery(first.Query)
			if first.Method != http.MethodGet || first.Path != "/api/now/table/incident" ||
				q.Get("sysparm_query") != "correlation_id=CR-AAAAAAAAAA^ORcorrelation_display=credres:d-open" {
				t.Errorf("first request = %s %s?%s", first.Method, first.Path, first.Query)
			}

			update := ticket("updated", "CR-AAAAAAAAAA", "d-update")
			if err := sn.SendTicket(ctx, model.DecisionMessage{}, update); err != nil {
				t.Fatal(err)
			}
			resolve := ticket("resolved", "CR-AAAAAAAAAA", "d-resolve")
			if err := sn.SendTicket(ctx, model.DecisionMessage{}, resolve); err != nil {
				t.Fatal(err)
			}
			inc = fake.Incidents()[0]
			if len(inc.WorkNotes) != 1 || !strings.Contains(inc.WorkNotes[0], update.Description) {
				t.Errorf("work notes = %q", inc.WorkNotes)
			}
			if inc.State != "6" || inc.CloseCode != "Resolved by caller" || inc.CloseNotes != resolve.Description {
				t.Errorf("resolved incident = %+v", inc)
			}
			if n := fake.Count(http.MethodPost, "/api/now/table/incident"); n != 1 {
				t.Errorf("%d creates, want 1", n)
			}
		})
	}
}

func TestServiceNowRetriesNeverDuplicate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// run sends events and may break the fake between them.
		run func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow)
		// incidents, creates and notes are what ServiceNow must hold after.
		creates, notes int
		state          string
		correlation    string
	}{
		{
			name: "create-answer-lost-the-retry-finds-the-incident",
			run: func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow) {
				fake.Fail(notifytest.Fault{Method: http.MethodPost, Apply: true, Drop: true})
				send(t, sn, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
			},
			creates: 1, state: "1", correlation: "CR-AAAAAAAAAA",
		},
		{
			name: "create-failed-with-500-after-creating-the-retry-finds-it",
			run: func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow) {
				fake.Fail(notifytest.Fault{Method: http.MethodPost, Apply: true, Status: 500})
				send(t, sn, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
			},
			creates: 1, state: "1", correlation: "CR-AAAAAAAAAA",
		},
		{
			name: "redelivery-under-a-new-ticket-id-moves-the-id-to-the-incident",
			run: func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow) {
				// The pipeline derives a ticket id from the delivery time,
				// so a redelivered opening carries a new one.
				send(t, sn, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
				send(t, sn, ticket("opened", "CR-BBBBBBBBBB", "d-open"))
				send(t, sn, ticket("updated", "CR-BBBBBBBBBB", "d-update"))
			},
			creates: 1, notes: 1, state: "1", correlation: "CR-BBBBBBBBBB",
		},
		{
			name: "update-answer-lost-the-note-is-added-once",
			run: func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow) {
				send(t, sn, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
				fake.Fail(notifytest.Fault{Method: http.MethodPatch, Apply: true, Drop: true})
				send(t, sn, ticket("updated", "CR-AAAAAAAAAA", "d-update"))
				send(t, sn, ticket("updated", "CR-AAAAAAAAAA", "d-update")) // redelivered
			},
			creates: 1, notes: 1, state: "1", correlation: "CR-AAAAAAAAAA",
		},
		{
			name: "resolve-redelivered-resolves-once",
			run: func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow) {
				send(t, sn, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
				send(t, sn, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve"))
				send(t, sn, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve"))
				if n := fake.Count(http.MethodPatch, "/api/now/table/incident/"); n != 1 {
					t.Errorf("%d updates, want the one resolution", n)
				}
			},
			creates: 1, state: "6", correlation: "CR-AAAAAAAAAA",
		},
		{
			name: "update-of-a-vanished-incident-opens-one",
			run: func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow) {
				send(t, sn, ticket("updated", "CR-AAAAAAAAAA", "d-update"))
			},
			creates: 1, state: "1", correlation: "CR-AAAAAAAAAA",
		},
		{
			name: "resolve-of-a-vanished-incident-does-nothing",
			run: func(t *testing.T, sn *notify.ServiceNow, fake *notifytest.ServiceNow) {
				send(t, sn, ticket("resolved", "CR-AAAAAAAAAA", "d-resolve"))
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sn, fake, _ := newServiceNow(t, "sn-basic", notify.ServiceNowConfig{})
			tc.run(t, sn, fake)
			incs := fake.Incidents()
			if n := fake.Count(http.MethodPost, "/api/now/table/incident"); n != tc.creates || len(incs) != tc.creates {
				t.Fatalf("%d create requests, %d incidents, want %d", n, len(incs), tc.creates)
			}
			if tc.creates == 0 {
				return
			}
			if inc := incs[0]; len(inc.WorkNotes) != tc.notes || inc.State != tc.state || inc.CorrelationID != tc.correlation {
				t.Errorf("incident = %+v, want %d notes, state %s, correlation id %s", inc, tc.notes, tc.state, tc.correlation)
			}
		})
	}
}

// send delivers one event and fails the test on an error.
func send(t *testing.T, s pipeline.TicketSender, rec model.TicketRecord) {
	t.Helper()
	ctx, _ := logged(t)
	if err := s.SendTicket(ctx, model.DecisionMessage{}, rec); err != nil {
		t.Fatalf("%s %s: %v", rec.Action, rec.TicketID, err)
	}
}

func TestServiceNowCredentialsNeverLeak(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		secret string
		want   error
	}{
		{"sn-wrong", model.ErrInvalidInput},   // rejected by ServiceNow: 401
		{"sn-garbled", model.ErrInvalidInput}, // not a credential object
		{"sn-missing", model.ErrNotFound},     // the secret source has none
	} {
		t.Run(tc.secret, func(t *testing.T) {
			t.Parallel()
			ctx, _ := logged(t)
			sn, fake, _ := newServiceNow(t, tc.secret, notify.ServiceNowConfig{})
			err := sn.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			errClean(t, err)
			if strings.Contains(err.Error(), "not-it") || strings.Contains(err.Error(), snUser) {
				t.Errorf("err quotes the secret: %v", err)
			}
			if len(fake.Incidents()) != 0 {
				t.Error("an incident was opened")
			}
		})
	}
}

func TestServiceNowReportsItsErrorMessageMasked(t *testing.T) {
	t.Parallel()
	ctx, _ := logged(t)
	sn, fake, _ := newServiceNow(t, "sn-basic", notify.ServiceNowConfig{})
	body, _ := json.Marshal(map[string]any{
		"error":  map[string]string{"message": "Invalid caller", "detail": "No user " + userMail + " (" + userPhone + ")"},
		"status": "failure",
	})
	fake.Fail(notifytest.Fault{Method: http.MethodPost, Status: 400, Body: string(body)})
	err := sn.SendTicket(ctx, model.DecisionMessage{}, ticket("opened", "CR-AAAAAAAAAA", "d-open"))
	want := "servicenow: open incident CR-AAAAAAAAAA: 400 Bad Request: Invalid caller: No user p•••@contoso.example (+1 ••• ••• 0147)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant   %s", err, want)
	}
	var se *notify.StatusError
	if !errors.As(err, &se) || se.Status != 400 || !errors.Is(err, model.ErrInvalidInput) {
		t.Errorf("err = %#v: want a *StatusError 400 wrapping ErrInvalidInput", err)
	}
	if n := fake.Count(http.MethodPost, "/api/now/table/incident"); n != 1 {
		t.Errorf("%d creates: a 400 is not retried", n)
	}
}

func TestServiceNowRejectsUnsafeConfigAndRecords(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]notify.ServiceNowConfig{
		"plain-http":       {URL: "http://contoso.service-now.com", Secrets: testSecrets, Secret: "sn-basic"},
		"credentials-url":  {URL: "https://admin:pw@contoso.service-now.com", Secrets: testSecrets, Secret: "sn-basic"},
		"no-secret":        {URL: "https://contoso.service-now.com", Secrets: testSecrets},
		"not-a-url":        {URL: "contoso", Secrets: testSecrets, Secret: "sn-basic"},
		"query-in-the-url": {URL: "https://contoso.service-now.com?x=1", Secrets: testSecrets, Secret: "sn-basic"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := notify.NewServiceNow(cfg)
			if !errors.Is(err, model.ErrInvalidInput) || strings.Contains(err.Error(), "pw@") {
				t.Errorf("err = %v", err)
			}
		})
	}
	sn, fake, _ := newServiceNow(t, "sn-basic", notify.ServiceNowConfig{})
	ctx, _ := logged(t)
	for _, rec := range []model.TicketRecord{
		ticket("opened", "CR-1^ORactive=true", "d"), // would widen the query
		ticket("reopened", "CR-AAAAAAAAAA", "d"),
	} {
		if err := sn.SendTicket(ctx, model.DecisionMessage{}, rec); !errors.Is(err, model.ErrInvalidInput) {
			t.Errorf("%s %q: err = %v, want invalid input", rec.Action, rec.TicketID, err)
		}
	}
	if len(fake.Requests()) != 0 {
		t.Error("an invalid record reached ServiceNow")
	}
}

func TestServiceNowFieldsHoldNoControlCharacters(t *testing.T) {
	t.Parallel()
	ctx, _ := logged(t)
	sn, fake, _ := newServiceNow(t, "sn-basic", notify.ServiceNowConfig{})
	open := ticket("opened", "CR-AAAAAAAAAA", "d-open")
	// A display name from the directory carries a line break, an escape
	// sequence and a right-to-left override.
	open.Title = "Sign-in resilience below policy for Pat\r\nDoe\x1b[31m\u202e"
	open.Description = "Who: Pat\rDoe\x1b[2J, object id u-1.\r\nRemedy: none."
	if err := sn.SendTicket(ctx, model.DecisionMessage{}, open); err != nil {
		t.Fatal(err)
	}
	inc := fake.Incidents()[0]
	if want := "Sign-in resilience below policy for Pat Doe[31m"; inc.ShortDescription != want {
		t.Errorf("short_description = %q, want %q", inc.ShortDescription, want)
	}
	if want := "Who: Pat\nDoe[2J, object id u-1.\nRemedy: none."; inc.Description != want {
		t.Errorf("description = %q, want %q", inc.Description, want)
	}
}
