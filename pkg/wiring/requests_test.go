package wiring

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/pipeline"
)

// counter is a reverse proxy in front of a local AWS-compatible server
// that counts the API calls passing through it by their X-Amz-Target.
type counter struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newCounter(t *testing.T, target string) *counter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{calls: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		c.mu.Lock()
		c.calls[op]++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

// directoryReader serves users from a snapshot, as Graph would.
type directoryReader struct{ users map[string]model.User }

func (d directoryReader) ReadUsers(_ context.Context, ids []string) []model.UserResult {
	out := make([]model.UserResult, len(ids))
	for i, id := range ids {
		u := d.users[id]
		out[i] = model.UserResult{User: u}
	}
	return out
}

// TestAWSRequestsPerEvaluatedUser measures the DynamoDB and SQS requests
// the pipeline's own code makes per evaluated user, against DynamoDB Local
// and the SQS server, for the cost table of docs/DEPLOY.md: every user of
// the sample tenant evaluated after an audit event (first assessment: the
// non-compliant ones are nudged or ticketed and the decisions delivered),
// then evaluated again with nothing changed. The requests Lambda's event
// source mappings make to receive and delete messages are AWS's and not
// counted here.
func TestAWSRequestsPerEvaluatedUser(t *testing.T) {
	db, q := awstest.DynamoDB(t), awstest.SQS(t)
	dbCount := newCounter(t, os.Getenv(awstest.EnvDynamoDBEndpoint))
	sqsCount := newCounter(t, os.Getenv(awstest.EnvSQSEndpoint))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := awstest.UniqueName(t)
	table := func(suffix string) string {
		name := base + "-" + suffix
		if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName: aws.String(name), BillingMode: dbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: dbtypes.ScalarAttributeTypeS}},
			KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: dbtypes.KeyTypeHash}},
		}); err != nil {
			t.Fatal(err)
		}
		return name
	}
	queue := func(suffix string) string {
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(base + "-" + suffix + ".fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
		if err != nil {
			t.Fatal(err)
		}
		return *out.QueueUrl
	}
	dir, err := graphjson.LoadDirectory("../../events/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		EnvTenantID: dir.Tenant.ID, EnvPasswordAuth: string(dir.Tenant.PasswordAuth),
		EnvStateTable: table("state"), EnvClaimsTable: table("claims"),
		EnvNudgeQueue: queue("nudge"), EnvTicketQueue: queue("ticket"),
		EnvNudgeOutbox: queue("outbox"), EnvHelpdeskQueue: queue("helpdesk"),
		EnvAWSEndpoint: dbCount.URL, EnvSQSEndpoint: sqsCount.URL,
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "credrestest")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "credrestest")
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	e, err := Load(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	users := directoryReader{users: map[string]model.User{}}
	for _, u := range dir.Users {
		users.users[u.ID] = u
	}
	evaluate, err := e.Evaluate(users)
	if err != nil {
		t.Fatal(err)
	}
	nudge, err := e.Nudge(e.NudgeOutboxQueue())
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := e.Ticket(e.HelpdeskQueue())
	if err != nil {
		t.Fatal(err)
	}
	dbCount.take()
	sqsCount.take()

	// Batches of 10, as the event source mapping delivers them.
	evaluateAll := func(round int) (decisions int) {
		var msgs []pipeline.Message
		for i, u := range dir.Users {
			body, _ := json.Marshal(model.EvaluationRequest{UserID: u.ID, TenantID: dir.Tenant.ID, Reason: model.ReasonAudit, AuditID: fmt.Sprintf("audit-%d-%d", round, i), Time: time.Now()})
			msgs = append(msgs, pipeline.Message{ID: fmt.Sprintf("m-%d-%d", round, i), GroupID: u.ID, Body: body})
		}
		for i := 0; i < len(msgs); i += 10 {
			outcomes, failures := evaluate.Handle(ctx, msgs[i:min(i+10, len(msgs))])
			if len(failures) > 0 {
				t.Fatalf("evaluate failed: %+v", failures)
			}
			for _, o := range outcomes {
				if o.Decision.Kind != "" && o.Decision.Kind != model.DecisionNone {
					decisions++
				}
			}
		}
		return decisions
	}
	deliver := func(queueURL string, handle func(context.Context, []pipeline.Message) []pipeline.Failure) int {
		n := 0
		for {
			out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				return n
			}
			var msgs []pipeline.Message
			for _, m := range out.Messages {
				msgs = append(msgs, pipeline.Message{ID: *m.MessageId, Body: []byte(*m.Body)})
			}
			if f := handle(ctx, msgs); len(f) > 0 {
				t.Fatalf("delivery failed: %+v", f)
			}
			for _, m := range out.Messages {
				q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
			}
			n += len(msgs)
		}
	}
	report := func(name string, evaluated, decisions int) (float64, float64) {
		dbCalls, sqsCalls := dbCount.take(), sqsCount.take()
		sum := func(m map[string]int) (n int, parts []string) {
			for op, c := range m {
				n += c
				parts = append(parts, fmt.Sprintf("%s %d", op, c))
			}
			sort.Strings(parts)
			return n, parts
		}
		dn, dp := sum(dbCalls)
		sn, sp := sum(sqsCalls)
		t.Logf("| %s | %d | %d | %d (%s) | %.2f | %d (%s) | %.2f |", name, evaluated, decisions,
			dn, strings.Join(dp, ", "), float64(dn)/float64(evaluated), sn, strings.Join(sp, ", "), float64(sn)/float64(evaluated))
		return float64(dn) / float64(evaluated), float64(sn) / float64(evaluated)
	}
	t.Log("| scenario | evaluated | decisions | DynamoDB requests | per user | SQS requests (sent by credres) | per user |")
	t.Log("|---|---|---|---|---|---|---|")
	decided := evaluateAll(1)
	delivered := deliver(env[EnvNudgeQueue], nudge.Handle) + deliver(env[EnvTicketQueue], ticket.Handle)
	if decided == 0 || delivered != decided {
		t.Fatalf("%d decisions, %d delivered", decided, delivered)
	}
	firstDB, firstSQS := report("first evaluation after an event, decisions delivered", len(dir.Users), decided)
	again := evaluateAll(2)
	againDelivered := deliver(env[EnvNudgeQueue], nudge.Handle) + deliver(env[EnvTicketQueue], ticket.Handle)
	againDB, againSQS := report("evaluated again, nothing changed", len(dir.Users), again)
	if againDelivered != again {
		t.Errorf("%d decisions, %d delivered", again, againDelivered)
	}
	// The cost table assumes at most these; a change that makes the
	// pipeline chattier must update docs/DEPLOY.md.
	if firstDB > 6 || firstSQS > 3 || againDB > 3 || againSQS > 1 {
		t.Errorf("more AWS requests per evaluated user than docs/DEPLOY.md's cost table assumes: %.2f/%.2f DynamoDB, %.2f/%.2f SQS", firstDB, againDB, firstSQS, againSQS)
	}
}
