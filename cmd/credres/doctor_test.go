package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

const admin = "0b8a1d6e-3c1f-4a5e-9a77-1f2d3c4b5a20" // allan.deyoung, Global Administrator

// localStack creates the stack's tables and queues in DynamoDB Local and the
// SQS server, and writes its outputs as describe-stacks gives them.
func localStack(t *testing.T) (outputs string, db *dynamodb.Client) {
	t.Helper()
	db, q := awstest.DynamoDB(t), awstest.SQS(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := awstest.UniqueName(t)
	table := func(suffix string, keys ...string) string {
		name := base + "-" + suffix
		in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: dbtypes.BillingModePayPerRequest}
		for i, k := range keys {
			kt := dbtypes.KeyTypeHash
			if i > 0 {
				kt = dbtypes.KeyTypeRange
			}
			in.AttributeDefinitions = append(in.AttributeDefinitions, dbtypes.AttributeDefinition{AttributeName: aws.String(k), AttributeType: dbtypes.ScalarAttributeTypeS})
			in.KeySchema = append(in.KeySchema, dbtypes.KeySchemaElement{AttributeName: aws.String(k), KeyType: kt})
		}
		if _, err := db.CreateTable(ctx, in); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}) })
		return name
	}
	queue := func(suffix string, fifo bool) string {
		name := base + "-" + suffix
		attrs := map[string]string{}
		if fifo {
			name += ".fifo"
			attrs["FifoQueue"] = "true"
		}
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
		return *out.QueueUrl
	}
	list := []map[string]string{
		{"OutputKey": "StateTableName", "OutputValue": table("state", "pk")},
		{"OutputKey": "ClaimsTableName", "OutputValue": table("claims", "pk")},
		{"OutputKey": "CheckpointTableName", "OutputValue": table("checkpoints", "pk", "sk")},
		{"OutputKey": "EvaluateQueueUrl", "OutputValue": queue("evaluate", true)},
		{"OutputKey": "NudgeQueueUrl", "OutputValue": queue("nudge", true)},
		{"OutputKey": "TicketQueueUrl", "OutputValue": queue("ticket", true)},
		{"OutputKey": "HelpdeskQueueUrl", "OutputValue": queue("helpdesk", true)},
		{"OutputKey": "NudgeOutboxQueueUrl", "OutputValue": queue("outbox", true)},
		{"OutputKey": "IngestDeadLetterQueueUrl", "OutputValue": queue("ingest-dlq", false)},
		{"OutputKey": "StackDescription", "OutputValue": "ignored"},
	}
	b, _ := json.Marshal(list)
	outputs = filepath.Join(t.TempDir(), "outputs.json")
	if err := os.WriteFile(outputs, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return outputs, db
}

// doctorEnv points the AWS clients at the local servers and Graph at a
// graphtest server of the sample tenant.
func doctorEnv(t *testing.T, opts ...graphtest.Option) *graphtest.Server {
	t.Helper()
	dir, err := graphjson.LoadDirectory(sampleTenant)
	if err != nil {
		t.Fatal(err)
	}
	// The administrator doctor reads has a PC, so that its properties are
	// read (the sample tenant does not know anyone's devices).
	a, _ := dir.FindUser(admin)
	a.Devices = []model.Device{{ID: "5e1f-pc", DisplayName: "ALLAN-PC", OperatingSystem: "Windows", TrustType: "AzureAd", Registered: true}}
	srv := graphtest.NewServer(t, dir, append([]graphtest.Option{graphtest.WithToken("test-token")}, opts...)...)
	for k, v := range map[string]string{
		"HOME": t.TempDir(), "AWS_ACCESS_KEY_ID": "credrestest", "AWS_SECRET_ACCESS_KEY": "credrestest",
		"AWS_REGION": awstest.Region, "AWS_EC2_METADATA_DISABLED": "true",
		"CREDRES_AWS_ENDPOINT": os.Getenv(awstest.EnvDynamoDBEndpoint), "CREDRES_SQS_ENDPOINT": os.Getenv(awstest.EnvSQSEndpoint),
		"CREDRES_GRAPH_URL": srv.URL(), "CREDRES_GRAPH_TOKEN": "test-token", "AZURE_TENANT_ID": dir.Tenant.ID,
		"AZURE_CLIENT_ID": "00000000-0000-4000-8000-000000000002", "CREDRES_MAIL_SENDER": "adele.vance@contoso.example",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"CREDRES_EVENTHUB_NAMESPACE", "CREDRES_EVENTHUB_CONNECTION_SECRET_ARN", "CREDRES_EVENTHUB_CLIENT_ID", "CREDRES_EVENTHUB_CREDENTIAL_SECRET_ARN", "CREDRES_GRAPH_SECRET_ARN", "AZURE_CLIENT_SECRET"} {
		t.Setenv(k, "")
	}
	return srv
}

func TestDoctorPasses(t *testing.T) {
	outputs, _ := localStack(t)
	srv := doctorEnv(t)
	code, out, errOut := credres(t, "", "doctor", "--outputs", outputs, "--user", admin)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	t.Logf("credres doctor:\n%s", out)
	for _, want := range []string{
		"ok    graph token", "ok    graph AuditLog.Read.All", "ok    graph UserAuthenticationMethod.Read.All", "ok    graph Policy.Read.All", "ok    graph User.Read.All",
		"ok    graph RoleManagement.Read.Directory", "ok    graph Device.Read.All", "ok    mail sender", "skip  event hubs",
		"ok    table CREDRES_STATE_TABLE", "ok    table CREDRES_CHECKPOINT_TABLE", "ok    queue CREDRES_EVALUATE_QUEUE_URL",
		"ok    queue CREDRES_INGEST_DEAD_LETTER_QUEUE_URL", "All 17 checks passed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor does not say %q:\n%s", want, out)
		}
	}
	// One harmless read per permission (two for the roles: active and
	// eligible), and the mailbox: within any budget.
	if n := len(srv.Requests()); n > 8 {
		t.Errorf("doctor made %d Graph requests, want at most 8", n)
	}
	if len(srv.Mail()) != 0 {
		t.Error("doctor sent mail")
	}
}

func TestDoctorFails(t *testing.T) {
	outputs, db := localStack(t)
	doctorEnv(t, graphtest.WithLimitedRoleInfo())
	// A table the stack's outputs name is gone, and a queue URL is wrong.
	var list []map[string]string
	b, _ := os.ReadFile(outputs)
	json.Unmarshal(b, &list)
	for _, o := range list {
		switch o["OutputKey"] {
		case "ClaimsTableName":
			if _, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(o["OutputValue"])}); err != nil {
				t.Fatal(err)
			}
		case "TicketQueueUrl":
			o["OutputValue"] += "-gone"
		}
	}
	b, _ = json.Marshal(list)
	os.WriteFile(outputs, b, 0o600)
	t.Setenv("CREDRES_MAIL_SENDER", "nobody@contoso.example")
	t.Setenv("CREDRES_EVENTHUB_NAMESPACE", "not-qualified")

	code, out, _ := credres(t, "", "doctor", "--outputs", outputs, "--user", admin)
	t.Logf("credres doctor:\n%s", out)
	if code != exitBadInput {
		t.Errorf("exit %d, want %d", code, exitBadInput)
	}
	for _, want := range []string{
		"FAIL  graph RoleManagement.Read.Directory", "without their names", "fix: grant it and its admin consent: infra/grant-graph-permissions.sh",
		"FAIL  mail sender", "must name an existing user with a mailbox",
		"FAIL  event hubs", "is not fully qualified",
		"FAIL  table CREDRES_CLAIMS_TABLE", "does not exist", "fix: deploy the stack",
		"FAIL  queue CREDRES_TICKET_QUEUE_URL",
		"ok    table CREDRES_STATE_TABLE", "5 of 18 checks failed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor does not say %q:\n%s", want, out)
		}
	}
}

func TestDoctorWithoutAToken(t *testing.T) {
	doctorEnv(t)
	t.Setenv("CREDRES_GRAPH_TOKEN", "wrong-token")
	code, out, _ := credres(t, "", "doctor")
	if code != exitBadInput || !strings.Contains(out, "FAIL  graph AuditLog.Read.All") || !strings.Contains(out, "401") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "skip  table CREDRES_STATE_TABLE") {
		t.Errorf("no outputs, yet tables are checked:\n%s", out)
	}
}
