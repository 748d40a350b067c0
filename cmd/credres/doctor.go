package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/credres/credres/internal/bounded"
	"github.com/credres/credres/pkg/azcred"
	"github.com/credres/credres/pkg/eventhubs"
	"github.com/credres/credres/pkg/secrets"
	"github.com/credres/credres/pkg/wiring"
)

// stackOutputs maps the stack's outputs (template.yaml) to the settings the
// functions are given.
var stackOutputs = map[string]string{
	"StateTableName":           wiring.EnvStateTable,
	"ClaimsTableName":          wiring.EnvClaimsTable,
	"CheckpointTableName":      wiring.EnvCheckpointTable,
	"EvaluateQueueUrl":         wiring.EnvEvaluateQueue,
	"NudgeQueueUrl":            wiring.EnvNudgeQueue,
	"TicketQueueUrl":           wiring.EnvTicketQueue,
	"HelpdeskQueueUrl":         wiring.EnvHelpdeskQueue,
	"NudgeOutboxQueueUrl":      wiring.EnvNudgeOutbox,
	"IngestDeadLetterQueueUrl": wiring.EnvIngestDLQ,
}

func runDoctor(e env, args []string) int {
	fs := flags(e, "doctor")
	outputs := fs.String("outputs", "", "the stack's outputs as JSON (describe-stacks Outputs, or an object of name to value)")
	user := fs.String("user", "", "a user to read (object `id` or UPN); default: the first user of the registration report")
	timeout := fs.Duration("timeout", 30*time.Second, "how long each check may take")
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	settings := map[string]string{}
	if *outputs != "" {
		if err := readOutputs(*outputs, settings); err != nil {
			return inputError(e, err)
		}
	}
	getenv := func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return settings[k]
	}
	d := &doctor{out: e.stdout, getenv: getenv, timeout: *timeout, user: *user}
	d.run()
	if d.failed > 0 {
		fmt.Fprintf(e.stdout, "\n%d of %d checks failed.\n", d.failed, d.checks)
		return exitBadInput
	}
	fmt.Fprintf(e.stdout, "\nAll %d checks passed.\n", d.checks)
	return exitOK
}

// readOutputs reads describe-stacks' Outputs list, or a plain object.
func readOutputs(path string, into map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	defer f.Close()
	b, err := bounded.ReadAll(f, 16<<20) // a stack's outputs are a few kilobytes
	if err != nil {
		return fmt.Errorf("doctor: %s: %w", path, err)
	}
	var list []struct{ OutputKey, OutputValue string }
	if err := json.Unmarshal(b, &list); err != nil {
		var obj map[string]string
		if err2 := json.Unmarshal(b, &obj); err2 != nil {
			return fmt.Errorf("doctor: %s: neither a list of {OutputKey, OutputValue} nor an object of strings: %w", path, err)
		}
		for k, v := range obj {
			list = append(list, struct{ OutputKey, OutputValue string }{k, v})
		}
	}
	for _, o := range list {
		if env, ok := stackOutputs[o.OutputKey]; ok {
			into[env] = o.OutputValue
		}
	}
	return nil
}

type doctor struct {
	out     io.Writer
	getenv  func(string) string
	timeout time.Duration
	user    string

	checks, failed int
	aws            *aws.Config
}

func (d *doctor) ok(name, format string, args ...any) {
	d.checks++
	fmt.Fprintf(d.out, "ok    %-40s %s\n", name, fmt.Sprintf(format, args...))
}

func (d *doctor) skip(name, format string, args ...any) {
	fmt.Fprintf(d.out, "skip  %-40s %s\n", name, fmt.Sprintf(format, args...))
}

func (d *doctor) fail(name string, err error, fix string) {
	d.checks++
	d.failed++
	fmt.Fprintf(d.out, "FAIL  %-40s %v\n      fix: %s\n", name, err, fix)
}

func (d *doctor) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d.timeout)
}

func (d *doctor) run() {
	d.graph()
	d.eventHubs()
	d.tables()
	d.queues()
}

// awsConfig loads the AWS configuration once (credentials and region from
// the usual places).
func (d *doctor) awsConfig() (aws.Config, error) {
	if d.aws != nil {
		return *d.aws, nil
	}
	ctx, cancel := d.ctx()
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	d.aws = &cfg
	return cfg, nil
}

// ---------------------------------------------------------------- Event Hubs

func (d *doctor) eventHubs() {
	ns, secret := d.getenv(wiring.EnvEventHubNamespace), d.getenv(wiring.EnvEventHubConnectionSecret)
	if ns == "" && secret == "" {
		d.skip("event hubs", "CREDRES_EVENTHUB_NAMESPACE and CREDRES_EVENTHUB_CONNECTION_SECRET_ARN are not set")
		return
	}
	cfg, err := wiring.HubConfig(d.getenv)
	if err != nil {
		d.fail("event hubs", err, "set the Event Hubs settings as the stack's parameters do (docs/DEPLOY.md, A1 and A5)")
		return
	}
	if cfg.ConnectionSecretARN != "" {
		acfg, err := d.awsConfig()
		if err != nil {
			d.fail("event hubs", err, "configure AWS credentials and region to read CREDRES_EVENTHUB_CONNECTION_SECRET_ARN")
			return
		}
		cfg.Secrets = secrets.NewManager(secretsmanager.NewFromConfig(acfg))
	}
	ctx, cancel := d.ctx()
	defer cancel()
	if cfg.ConnectionSecretARN == "" && cfg.ConnectionString == "" {
		// Entra mode: the Event Hubs app registration reads the hub, as
		// ingest does; never the Graph app.
		acfg, err := d.awsConfig()
		if err != nil {
			d.fail("event hubs", err, "configure AWS credentials and region to read CREDRES_EVENTHUB_CREDENTIAL_SECRET_ARN")
			return
		}
		cred, _, err := azcred.Credential(ctx, wiring.HubApp(d.getenv, secrets.NewManager(secretsmanager.NewFromConfig(acfg))))
		if err != nil {
			d.fail("event hubs", err, "set AZURE_TENANT_ID, CREDRES_EVENTHUB_CLIENT_ID and CREDRES_EVENTHUB_CREDENTIAL_SECRET_ARN, or CREDRES_EVENTHUB_CONNECTION_SECRET_ARN (docs/DEPLOY.md, A5)")
			return
		}
		cfg.Credential = cred
	}
	partitions, err := eventhubs.Probe(ctx, cfg)
	if err != nil {
		d.fail("event hubs", err, "check the namespace, the hub, the consumer group and the credential: Listen on the hub for a connection string, or the role Azure Event Hubs Data Receiver for the Event Hubs app (docs/DEPLOY.md, A5)")
		return
	}
	d.ok("event hubs", "hub %s has %d partitions; consumer group %s opened", cfg.EventHub, len(partitions), cfg.ConsumerGroup)
}

// ---------------------------------------------------------------- DynamoDB

func (d *doctor) tables() {
	tables := []struct {
		env  string
		keys []string
	}{
		{wiring.EnvStateTable, []string{"pk"}},
		{wiring.EnvClaimsTable, []string{"pk"}},
		{wiring.EnvCheckpointTable, []string{"pk", "sk"}},
	}
	envs := make([]string, len(tables))
	for i, tb := range tables {
		envs[i] = tb.env
	}
	var client *dynamodb.Client
	d.eachSet("table", envs, func(i int, label, name string, cfg aws.Config) {
		if client == nil {
			client = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
				if ep := d.getenv(wiring.EnvAWSEndpoint); ep != "" {
					o.BaseEndpoint = aws.String(ep)
				}
			})
		}
		ctx, cancel := d.ctx()
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		cancel()
		var notFound *dbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &notFound):
			d.fail(label, fmt.Errorf("table %s does not exist", name), "deploy the stack, or give the table name from its outputs")
			return
		case err != nil:
			d.fail(label, err, "check the region and the AWS credentials (dynamodb:DescribeTable)")
			return
		}
		var keys []string
		for _, k := range out.Table.KeySchema {
			keys = append(keys, aws.ToString(k.AttributeName))
		}
		if strings.Join(keys, ",") != strings.Join(tables[i].keys, ",") {
			d.fail(label, fmt.Errorf("table %s has the key %v, credres needs %v", name, keys, tables[i].keys), "give the table the stack made (its outputs)")
			return
		}
		d.ok(label, "%s (%s)", name, out.Table.TableStatus)
	})
}

// eachSet runs check on each of the environment variables envs that is set,
// labelled "<what> <variable>", with the AWS configuration read once; an
// unset one is skipped, and when the configuration cannot be read the rest
// are not checked.
func (d *doctor) eachSet(what string, envs []string, check func(i int, label, value string, cfg aws.Config)) {
	var cfg *aws.Config
	for i, env := range envs {
		value := d.getenv(env)
		label := what + " " + env
		if value == "" {
			d.skip(label, "not set (--outputs gives the stack's)")
			continue
		}
		if cfg == nil {
			c, err := d.awsConfig()
			if err != nil {
				d.fail(label, err, "configure AWS credentials and region (aws configure)")
				return
			}
			cfg = &c
		}
		check(i, label, value, *cfg)
	}
}

// ---------------------------------------------------------------- SQS

func (d *doctor) queues() {
	queues := []string{wiring.EnvEvaluateQueue, wiring.EnvNudgeQueue, wiring.EnvTicketQueue, wiring.EnvHelpdeskQueue, wiring.EnvNudgeOutbox, wiring.EnvIngestDLQ}
	var client *sqs.Client
	d.eachSet("queue", queues, func(i int, label, u string, cfg aws.Config) {
		if client == nil {
			client = sqs.NewFromConfig(cfg, func(o *sqs.Options) {
				if ep := d.getenv(wiring.EnvSQSEndpoint); ep != "" {
					o.BaseEndpoint = aws.String(ep)
				}
			})
		}
		ctx, cancel := d.ctx()
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(u),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameFifoQueue},
		})
		cancel()
		var missing *sqstypes.QueueDoesNotExist
		switch {
		case errors.As(err, &missing):
			d.fail(label, fmt.Errorf("queue %s does not exist", u), "deploy the stack, or give the queue URL from its outputs")
			return
		case err != nil:
			d.fail(label, err, "check the queue URL, the region and the AWS credentials (sqs:GetQueueAttributes)")
			return
		}
		fifo := out.Attributes[string(sqstypes.QueueAttributeNameFifoQueue)] == "true"
		if want := queues[i] != wiring.EnvIngestDLQ; fifo != want {
			d.fail(label, fmt.Errorf("queue %s: FIFO is %t, want %t", u, fifo, want), "give the queue the stack made (its outputs)")
			return
		}
		d.ok(label, "%s messages waiting", out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	})
}
