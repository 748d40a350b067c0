package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/credres/credres/internal/awstest"
	"github.com/credres/credres/pkg/store"
	"github.com/credres/credres/pkg/wiring"
)

// awsTimeout bounds the test's own calls to the local servers.
const awsTimeout = 30 * time.Second

// receiveTimeout bounds how long receive waits for the messages it expects.
const receiveTimeout = 10 * time.Second

// stack is one test's deployment on the local servers: the tables and queues template.yaml
// declares, with names of their own, and a stand-in for every other AWS endpoint.
type stack struct {
	db    *dynamodb.Client
	sqs   *sqs.Client
	store *store.DynamoDB

	state, claims string // table names

	// Queue URLs. The queues between the functions are FIFO queues, as deployed. The helpdesk
	// and nudge outbox queues are standard queues here, though FIFO in the template: a FIFO
	// queue drops a repeated deduplication id for five minutes, which would hide a second
	// delivery of one decision; on a standard queue only the functions' own claims can.
	evaluate, nudges, tickets, helpdesk, outbox, ingestDLQ string

	aws *awsStandIn
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{db: awstest.DynamoDB(t), sqs: awstest.SQS(t)}
	ctx := awsContext(t)
	name := awstest.UniqueName(t)
	s.state, s.claims = name+"-state", name+"-claims"
	s.store = store.NewDynamoDB(s.db, s.state, s.claims, time.Now)
	for _, table := range []string{s.state, s.claims} {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), awsTimeout)
			defer cancel()
			_, err := s.db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
			var missing *dbtypes.ResourceNotFoundException
			if err != nil && !errors.As(err, &missing) {
				t.Errorf("delete table %s: %v", table, err)
			}
		})
	}
	if err := s.store.CreateTables(ctx); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	s.evaluate = s.createQueue(ctx, t, name+"-evaluate.fifo")
	s.nudges = s.createQueue(ctx, t, name+"-nudge.fifo")
	s.tickets = s.createQueue(ctx, t, name+"-ticket.fifo")
	s.helpdesk = s.createQueue(ctx, t, name+"-helpdesk")
	s.outbox = s.createQueue(ctx, t, name+"-outbox")
	s.ingestDLQ = s.createQueue(ctx, t, name+"-ingest-dlq")
	s.aws = newAWSStandIn(t)
	return s
}

func (s *stack) createQueue(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	attrs := map[string]string{}
	if strings.HasSuffix(name, ".fifo") {
		attrs["FifoQueue"], attrs["ContentBasedDeduplication"] = "true", "false"
	}
	out, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), awsTimeout)
		defer cancel()
		if _, err := s.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Errorf("delete queue %s: %v", name, err)
		}
	})
	return url
}

// env is the functions' environment on this stack, as template.yaml sets it in the cloud.
// Every AWS client is pointed at a local server: DynamoDB and SQS through the project's
// endpoint variables, any other client through AWS_ENDPOINT_URL at the stand-in, so that
// nothing reaches AWS. The emulator passes its whole environment to the function.
func (s *stack) env(t *testing.T) map[string]string {
	t.Helper()
	dir := sampleTenant(t)
	return map[string]string{
		"HOME":                        t.TempDir(), // no shared AWS configuration or credentials files
		"AWS_ACCESS_KEY_ID":           "credrestest",
		"AWS_SECRET_ACCESS_KEY":       "credrestest",
		"AWS_REGION":                  awstest.Region,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            s.aws.URL,
		"AWS_LAMBDA_FUNCTION_TIMEOUT": functionTimeout,

		wiring.EnvAWSEndpoint:  os.Getenv(awstest.EnvDynamoDBEndpoint),
		wiring.EnvSQSEndpoint:  os.Getenv(awstest.EnvSQSEndpoint),
		wiring.EnvLogLevel:     "debug", // every line the functions can write is checked
		wiring.EnvTenantID:     dir.Tenant.ID,
		wiring.EnvPasswordAuth: string(dir.Tenant.PasswordAuth),
		wiring.EnvPHSFallback:  strconv.FormatBool(dir.Tenant.PHSFallback),

		wiring.EnvStateTable:    s.state,
		wiring.EnvClaimsTable:   s.claims,
		wiring.EnvEvaluateQueue: s.evaluate,
		wiring.EnvNudgeQueue:    s.nudges,
		wiring.EnvTicketQueue:   s.tickets,
		wiring.EnvHelpdeskQueue: s.helpdesk,
		wiring.EnvNudgeOutbox:   s.outbox,
		wiring.EnvIngestDLQ:     s.ingestDLQ,
	}
}

// receive polls the queue until want messages arrived, deletes them, and checks that nothing
// else is in the queue.
func (s *stack) receive(t *testing.T, url string, want int) []sqstypes.Message {
	t.Helper()
	ctx := awsContext(t)
	var got []sqstypes.Message
	deadline := time.Now().Add(receiveTimeout)
	for len(got) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: received %d messages within %s, want %d", queueName(url), len(got), receiveTimeout, want)
		}
		out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive from %s: %v", queueName(url), err)
		}
		for _, m := range out.Messages {
			got = append(got, m)
			if _, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete a message from %s: %v", queueName(url), err)
			}
		}
	}
	if n := s.depth(t, url); n != 0 {
		t.Errorf("%s: %d messages more than the %d expected", queueName(url), n, want)
	}
	return got
}

// depth is the number of messages in the queue: visible, in flight and delayed.
func (s *stack) depth(t *testing.T, url string) int {
	t.Helper()
	names := []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}
	out, err := s.sqs.GetQueueAttributes(awsContext(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		t.Fatalf("attributes of %s: %v", queueName(url), err)
	}
	n := 0
	for _, name := range names {
		v, err := strconv.Atoi(out.Attributes[string(name)])
		if err != nil {
			t.Fatalf("%s of %s: %q", name, queueName(url), out.Attributes[string(name)])
		}
		n += v
	}
	return n
}

func queueName(url string) string { return url[strings.LastIndex(url, "/")+1:] }

func awsContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), awsTimeout)
	t.Cleanup(cancel)
	return ctx
}

// awsStandIn answers for every AWS service the functions have no local server for. It serves
// Secrets Manager's GetSecretValue from its secrets; any other request is recorded and fails
// the test, since it means a client that would have reached AWS.
type awsStandIn struct {
	*httptest.Server
	mu         sync.Mutex
	secrets    map[string]string
	secretGets []string
}

func newAWSStandIn(t *testing.T) *awsStandIn {
	a := &awsStandIn{secrets: map[string]string{}}
	var unexpected []string
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		target := r.Header.Get("X-Amz-Target")
		a.mu.Lock()
		defer a.mu.Unlock()
		if target == "secretsmanager.GetSecretValue" {
			var in struct{ SecretId string }
			json.Unmarshal(body, &in)
			a.secretGets = append(a.secretGets, in.SecretId)
			if v, ok := a.secrets[in.SecretId]; ok {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				json.NewEncoder(w).Encode(map[string]any{
					"ARN": in.SecretId, "Name": in.SecretId, "SecretString": v, "VersionId": "e2e",
					"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
				})
				return
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		unexpected = append(unexpected, r.Method+" "+r.URL.String()+" "+target)
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"UnrecognizedClientException","message":"no AWS service is served here"}`))
	}))
	t.Cleanup(func() {
		a.Close()
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, u := range unexpected {
			t.Errorf("a function called AWS outside the local servers: %s", u)
		}
	})
	return a
}

func (a *awsStandIn) setSecret(arn, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[arn] = value
}

func (a *awsStandIn) secretReads() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.secretGets...)
}
