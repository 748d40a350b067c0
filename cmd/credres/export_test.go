package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/store"
)

const (
	joni  = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a16"
	adele = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a01"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// storedUsage is what the tests record in a state store.
var storedUsage = map[string][]model.MethodUsage{
	joni: {
		{Kind: model.KindAuthenticator, Instance: "iPhone 13", LastUsed: day("2026-11-30")},
		{Kind: model.KindFIDO2, Instance: "Joni's YubiKey", LastUsed: day("2026-02-01"), LastFailed: day("2026-11-29")},
	},
	adele: {{Kind: model.KindMobilePhone, Instance: "00", LastFailed: day("2026-11-02")}},
}

type usageRecorder interface {
	RecordUsage(ctx context.Context, userID string, updates []model.MethodUsage) ([]model.UsageChange, error)
	LoadUsage(ctx context.Context, userID string) ([]model.MethodUsage, error)
}

func recordUsage(t *testing.T, st usageRecorder) {
	t.Helper()
	for id, us := range storedUsage {
		if _, err := st.RecordUsage(context.Background(), id, us); err != nil {
			t.Fatal(err)
		}
	}
}

// exportWithUsage exports the live tenant with the state flags given and
// checks that the snapshot carries exactly the store's usage.
func exportWithUsage(t *testing.T, st usageRecorder, stateArgs ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tenant.json")
	code, _, errOut := credres(t, "", append([]string{"export", "--graph", "--out", out}, stateArgs...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	d, err := graphjson.LoadDirectory(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for i := range d.Users {
		u := &d.Users[i]
		want, err := st.LoadUsage(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) > 0 {
			seen++
		}
		if len(u.Usage)+len(want) > 0 && !reflect.DeepEqual(u.Usage, want) {
			t.Errorf("%s: usage %v, the store holds %v", u.UserPrincipalName, u.Usage, want)
		}
	}
	if seen == 0 {
		t.Fatal("the store holds no usage")
	}
	if !strings.Contains(errOut, "method usage for") {
		t.Errorf("stderr does not say how many users have usage:\n%s", errOut)
	}
	return out
}

func TestExportFillsUsageFromTheStateFolder(t *testing.T) {
	liveTenant(t)
	state := t.TempDir()
	st, err := store.OpenFileStore(state, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	recordUsage(t, st)
	out := exportWithUsage(t, st, "--state", state)
	// Nothing else changes: assessments are those of the sample tenant.
	_, want, _ := credres(t, "", "assess", "--directory", sampleTenant, "--format", "json")
	if _, got, _ := credres(t, "", "assess", "--directory", out, "--format", "json"); got != want {
		t.Error("the exported snapshot with usage assesses differently under a policy without proofWindow")
	}
	_, text, _ := credres(t, "", "explain", "--directory", out, "--user", joni, "--now", "2026-12-01T00:00:00Z")
	if !strings.Contains(text, `FIDO2 security key "Joni's YubiKey": failed on 2026-11-29, last worked on 2026-02-01`) {
		t.Errorf("explain of the exported snapshot does not judge Joni's key:\n%s", text)
	}
}

// The local pipeline records the sample sign-ins in its state folder; the
// snapshot exported with that usage explains users exactly as the sample
// tenant with the same sign-ins read beside it.
func TestExportCarriesWhatThePipelineRecorded(t *testing.T) {
	liveTenant(t)
	state := filepath.Join(t.TempDir(), "state")
	if code, _, errOut := credres(t, "", "demo", "--state", state, "--quiet"); code != exitOK {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	st, err := store.OpenFileStore(state, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	out := exportWithUsage(t, st, "--state", state)
	for _, user := range []string{"joni.sherman@contoso.example", "allan.deyoung@contoso.example", "adele.vance@contoso.example", "diego.siciliani@contoso.example"} {
		_, got, _ := credres(t, "", "explain", "--directory", out, "--user", user, "--now", "2025-03-20T00:00:00Z")
		_, want, _ := credres(t, "", "explain", "--directory", sampleTenant, "--signins", "../../events/signin", "--now", "2025-03-20T00:00:00Z", "--user", user)
		if got != want || !strings.Contains(got, "sign-in") {
			t.Errorf("%s: explain of the exported snapshot differs from the sample tenant with the sample sign-ins\ngot:\n%s\nwant:\n%s", user, got, want)
		}
	}
}

func TestExportFillsUsageFromTheStateTable(t *testing.T) {
	db := awstest.DynamoDB(t)
	liveTenant(t)
	for k, v := range map[string]string{
		"HOME": t.TempDir(), "AWS_ACCESS_KEY_ID": "credrestest", "AWS_SECRET_ACCESS_KEY": "credrestest",
		"AWS_REGION": awstest.Region, "AWS_EC2_METADATA_DISABLED": "true",
		"CREDRES_AWS_ENDPOINT": os.Getenv(awstest.EnvDynamoDBEndpoint),
	} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	table := awstest.UniqueName(t)
	st := store.NewDynamoDB(db, table+"-state", table+"-claims", time.Now)
	if err := st.CreateTables(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range []string{table + "-state", table + "-claims"} {
			db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	recordUsage(t, st)
	exportWithUsage(t, st, "--state-table", table+"-state")

	// A table that does not exist fails before Graph is read.
	code, _, errOut := credres(t, "", "export", "--graph", "--out", filepath.Join(t.TempDir(), "x.json"), "--state-table", table+"-missing")
	if code != exitBadInput || !strings.Contains(errOut, table+"-missing") || strings.Contains(errOut, "read ") {
		t.Errorf("missing table: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestExportStateUsageErrors(t *testing.T) {
	liveTenant(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.json")
	if code, _, errOut := credres(t, "", "export", "--graph", "--out", out, "--state", dir, "--state-table", "t"); code != exitUsage || !strings.Contains(errOut, "not both") {
		t.Errorf("both: exit %d: %s", code, errOut)
	}
	code, _, errOut := credres(t, "", "export", "--graph", "--out", out, "--state", filepath.Join(dir, "typo"))
	if code != exitBadInput || !strings.Contains(errOut, "not a state folder") {
		t.Errorf("not a state folder: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a snapshot was written although the state folder is wrong")
	}
	if _, err := os.Stat(filepath.Join(dir, "typo")); err == nil {
		t.Error("the mistyped state folder was created")
	}
}

// The sample Graph sign-in page, served as the tenant's sign-in log.
func sampleSignInLog(t *testing.T) graphtest.Option {
	t.Helper()
	data, err := os.ReadFile("../../events/signin/graph-signins-list.json")
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		t.Fatal(err)
	}
	return graphtest.WithSignIns(page.Value)
}

// --signins-since reads Graph's sign-in log (in pages of two here) into
// the snapshot's usage: the exported snapshot explains users as the sample
// tenant does with the same sign-ins read beside it.
func TestExportReadsTheSignInLog(t *testing.T) {
	srv := liveTenant(t, sampleSignInLog(t))
	out := filepath.Join(t.TempDir(), "tenant.json")
	code, _, errOut := credres(t, "", "export", "--graph", "--out", out, "--signins-since", "2000d")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "3 sign-ins since") {
		t.Errorf("stderr does not count the sign-ins read:\n%s", errOut)
	}
	for _, user := range []string{"allan.deyoung@contoso.example", "lidia.holloway@contoso.example", "adele.vance@contoso.example"} {
		_, got, _ := credres(t, "", "explain", "--directory", out, "--user", user, "--now", "2025-03-20T00:00:00Z")
		_, want, _ := credres(t, "", "explain", "--directory", sampleTenant, "--signins", "../../events/signin/graph-signins-list.json", "--now", "2025-03-20T00:00:00Z", "--user", user)
		if got != want {
			t.Errorf("%s: explain of the exported snapshot differs\ngot:\n%s\nwant:\n%s", user, got, want)
		}
	}
	pages := 0
	for _, r := range srv.Requests() {
		for _, it := range r.Items {
			if strings.Contains(it.URL, "/auditLogs/signIns") {
				pages++
				if it.Class != graphtest.ClassAuthReports {
					t.Errorf("sign-ins read in class %s, want the reports budget", it.Class)
				}
			}
		}
	}
	if pages != 2 {
		t.Errorf("%d sign-in pages read, want 2 (3 records, pages of 2)", pages)
	}

	// With --user, only that user's sign-ins are asked for.
	code, _, errOut = credres(t, "", "export", "--graph", "--user", "allan.deyoung@contoso.example", "--out", out, "--signins-since", "2000d")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	d, err := graphjson.LoadDirectory(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 1 || len(d.Users[0].Usage) != 3 { // password, key, Windows Hello
		t.Errorf("%d users; the first one's usage: %v", len(d.Users), d.Users[0].Usage)
	}
	last := srv.Requests()[len(srv.Requests())-1].Items[0].URL
	if !strings.Contains(last, "userId") {
		t.Errorf("the sign-in read does not filter by user: %s", last)
	}
	if code, _, errOut := credres(t, "", "export", "--graph", "--out", out, "--signins-since", "a month"); code != exitUsage || !strings.Contains(errOut, "--signins-since") {
		t.Errorf("bad period: exit %d: %s", code, errOut)
	}
}

// The users and the sign-in log are read through one client, whose pacer
// keeps both to the reports budget: the server, enforcing the budget
// itself, never refuses a request.
func TestExportKeepsToOneReportsBudget(t *testing.T) {
	budget := graphtest.Limit{Requests: 5, Per: 100 * time.Millisecond}
	srv := liveTenant(t, sampleSignInLog(t), graphtest.WithLimit(graphtest.ClassAuthReports, budget), graphtest.WithListPageSize(1))
	t.Setenv("CREDRES_GRAPH_REPORTS_BUDGET", "5/100ms")
	out := filepath.Join(t.TempDir(), "tenant.json")
	code, _, errOut := credres(t, "", "export", "--graph", "--out", out, "--signins-since", "2000d")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if over := srv.OverBudget(); len(over) > 0 {
		t.Errorf("the server refused %d requests over the reports budget, the first %s", len(over), over[0].URL)
	}
	if m := srv.MaxInWindow(graphtest.ClassAuthReports, budget.Per); m > budget.Requests {
		t.Errorf("%d requests within %s, budget %d", m, budget.Per, budget.Requests)
	}
}
