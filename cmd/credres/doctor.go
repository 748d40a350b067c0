package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
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

// ---------------------------------------------------------------- Graph

// graphPermissions are the application permissions credres reads with
// (docs/GRAPH.md), each with the one read that needs it.
var graphPermissions = []struct{ name, read string }{
	{"AuditLog.Read.All", "the first row of the authentication methods registration report"},
	{"User.Read.All", "one user's profile"},
	{"RoleManagement.Read.Directory", "the names of one user's directory roles"},
	{"UserAuthenticationMethod.Read.All", "one user's authentication methods"},
	{"Policy.Read.All", "the Conditional Access policies"},
}

const grantFix = "grant it and its admin consent: infra/grant-graph-permissions.sh --app-id $AZURE_CLIENT_ID (docs/DEPLOY.md, A3)"

func (d *doctor) graph() {
	ctx, cancel := d.ctx()
	defer cancel()
	g, ok := d.graphToken(ctx)
	if !ok {
		return
	}
	userID := d.graphReports(ctx, g)
	if userID == "" {
		d.skip("graph "+graphPermissions[1].name, "no user to read: give --user")
		d.skip("graph "+graphPermissions[2].name, "no user to read: give --user")
		d.skip("graph "+graphPermissions[3].name, "no user to read: give --user")
	} else {
		d.graphUser(ctx, g, userID)
		d.graphRoles(ctx, g, userID)
	}
	d.mailSender(ctx, g)
}

// graphToken acquires a token for the app registration as the functions
// do; ok is false when Graph is not configured or the token fails.
func (d *doctor) graphToken(ctx context.Context) (graphReader, bool) {
	if d.getenv(wiring.EnvAzureClientID) == "" && d.getenv(wiring.EnvGraphToken) == "" {
		d.skip("graph token", "AZURE_CLIENT_ID is not set: Graph is not checked")
		return graphReader{}, false
	}
	var src model.SecretSource
	if d.getenv(wiring.EnvGraphSecretARN) != "" {
		cfg, err := d.awsConfig()
		if err != nil {
			d.fail("graph token", err, "configure AWS credentials and region (aws configure) to read CREDRES_GRAPH_SECRET_ARN")
			return graphReader{}, false
		}
		src = secrets.NewManager(secretsmanager.NewFromConfig(cfg))
	}
	client, err := wiring.NewGraph(ctx, d.getenv, src)
	if err != nil {
		d.fail("graph token", err, "set AZURE_TENANT_ID, AZURE_CLIENT_ID and CREDRES_GRAPH_SECRET_ARN (or AZURE_CLIENT_SECRET) as for the functions (docs/GRAPH.md)")
		return graphReader{}, false
	}
	token, err := client.Token(ctx)
	if err != nil {
		d.fail("graph token", err, "check the tenant id, the application id and the credential in the secret; a client secret may have expired (docs/DEPLOY.md, A4)")
		return graphReader{}, false
	}
	d.ok("graph token", "acquired for the app registration")
	base := strings.TrimSuffix(d.getenv(wiring.EnvGraphURL), "/")
	if base == "" {
		base = graph.DefaultBaseURL
	}
	return graphReader{base: base, token: token}, true
}

// graphReports checks the tenant-wide reads: the Conditional Access
// policies and the registration report. It returns the user to check the
// per-user reads with: --user, or the report's first row.
func (d *doctor) graphReports(ctx context.Context, g graphReader) string {
	// AuditLog.Read.All: one row of the report (one unit
	// of the 5-per-10-seconds budget).
	var report struct {
		Value []struct {
			ID                string `json:"id"`
			UserPrincipalName string `json:"userPrincipalName"`
		} `json:"value"`
	}
	// Policy.Read.All: the Conditional Access policies, the one policy read
	// that no lower permission allows (docs/GRAPH.md).
	var caPolicies struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := g.get(ctx, "/identity/conditionalAccess/policies", &caPolicies); err != nil {
		d.fail("graph "+graphPermissions[4].name, err, grantFix)
	} else {
		d.ok("graph "+graphPermissions[4].name, "read %s (%d)", graphPermissions[4].read, len(caPolicies.Value))
	}
	userID := d.user
	if err := g.get(ctx, "/reports/authenticationMethods/userRegistrationDetails?$top=1&$select=id,userPrincipalName", &report); err != nil {
		d.fail("graph "+graphPermissions[0].name, err, grantFix)
	} else {
		d.ok("graph "+graphPermissions[0].name, "read %s", graphPermissions[0].read)
		if userID == "" && len(report.Value) > 0 {
			userID = report.Value[0].ID
		}
	}
	return userID
}

// graphUser checks the reads of one user: their methods and profile.
func (d *doctor) graphUser(ctx context.Context, g graphReader, userID string) {
	// The application permission Graph documents for reading another
	// user's methods; the report above needs AuditLog.Read.All instead.
	var methods struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := g.get(ctx, "/users/"+url.PathEscape(userID)+"/authentication/methods", &methods); err != nil {
		d.fail("graph "+graphPermissions[3].name, err, grantFix)
	} else {
		d.ok("graph "+graphPermissions[3].name, "read %s", graphPermissions[3].read)
	}
	var profile struct {
		ID string `json:"id"`
	}
	if err := g.get(ctx, "/users/"+url.PathEscape(userID)+"?$select=id,userPrincipalName", &profile); err != nil {
		d.fail("graph "+graphPermissions[1].name, err, grantFix)
	} else {
		d.ok("graph "+graphPermissions[1].name, "read %s", graphPermissions[1].read)
	}
}

// graphRoles checks that the user's directory roles come with their names.
func (d *doctor) graphRoles(ctx context.Context, g graphReader, userID string) {
	// Without RoleManagement.Read.Directory, Graph still lists a user's
	// directory roles, but without their names.
	var member struct {
		Value []struct {
			Type        string  `json:"@odata.type"`
			DisplayName *string `json:"displayName"`
		} `json:"value"`
	}
	if err := g.get(ctx, "/users/"+url.PathEscape(userID)+"/transitiveMemberOf?$select=id,displayName", &member); err != nil {
		d.fail("graph "+graphPermissions[2].name, err, grantFix)
	} else {
		unnamed := 0
		roles := 0
		for _, m := range member.Value {
			if m.Type == "#microsoft.graph.directoryRole" {
				roles++
				if m.DisplayName == nil || *m.DisplayName == "" {
					unnamed++
				}
			}
		}
		switch {
		case unnamed > 0:
			d.fail("graph "+graphPermissions[2].name, fmt.Errorf("%d of the user's %d directory roles come from Graph without their names", unnamed, roles), grantFix)
		case roles == 0:
			d.ok("graph "+graphPermissions[2].name, "read the user's memberships (the user holds no directory role, so the role names were not tested; --user an administrator tests them)")
		default:
			d.ok("graph "+graphPermissions[2].name, "read %s", graphPermissions[2].read)
		}
	}
}

// mailSender checks the mailbox nudges are sent from, when one is set.
func (d *doctor) mailSender(ctx context.Context, g graphReader) {
	sender := d.getenv(wiring.EnvMailSender)
	if sender == "" {
		d.skip("mail sender", "CREDRES_MAIL_SENDER is not set: nudges go to the outbox queue")
		return
	}
	var mailbox struct {
		ID   string  `json:"id"`
		Mail *string `json:"mail"`
	}
	switch err := g.get(ctx, "/users/"+url.PathEscape(sender)+"?$select=id,mail", &mailbox); {
	case err != nil:
		d.fail("mail sender", err, "CREDRES_MAIL_SENDER (MailSender) must name an existing user with a mailbox")
	case mailbox.Mail == nil || *mailbox.Mail == "":
		d.fail("mail sender", fmt.Errorf("%s has no mail address", sender), "give MailSender a user with an Exchange Online mailbox")
	default:
		// Sending would send mail; Mail.Send for this mailbox is checked
		// by Exchange when the first nudge goes out.
		d.ok("mail sender", "the mailbox exists (Mail.Send itself is not tested: that would send mail)")
	}
}

// graphReader makes plain GET requests to Graph with a bearer token.
type graphReader struct {
	base, token string
}

func (g graphReader) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var ge struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &ge)
		msg := ge.Error.Code
		if ge.Error.Message != "" {
			msg += ": " + ge.Error.Message
		}
		return fmt.Errorf("GET %s: %s %s", strings.SplitN(path, "?", 2)[0], resp.Status, msg)
	}
	return json.Unmarshal(body, into)
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
