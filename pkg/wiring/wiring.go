// Package wiring is the edge between AWS Lambda and the pipeline, and the one
// package that reads the functions' environment. It reads the settings
// (settings.go, channels.go), builds the AWS clients once per execution
// environment, the DynamoDB store, the SQS queues, the policy, the templates
// and the delivery channels (senders.go), builds each function's stage
// (functions.go) and adapts it to Lambda's events (handler.go). Every
// functions/<name>/main.go is one call of Main.
//
// The linker keeps only what a function calls, so the functions that do not
// read Graph or Event Hubs do not carry those SDKs' code.
package wiring

import (
	"context"
	"fmt"
	stdlog "log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/notify"
	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/queue"
	"github.com/credres/credres/pkg/rules"
	"github.com/credres/credres/pkg/secrets"
	"github.com/credres/credres/pkg/store"
)

// Environment variables of the AWS side and the templates.
const (
	// EnvTemplatesDir names a folder of nudge and ticket templates that
	// override the built-in ones (for example from a Lambda layer).
	EnvTemplatesDir = "CREDRES_TEMPLATES_DIR"
	// EnvAWSEndpoint points the DynamoDB client at another endpoint: the
	// local DynamoDB-compatible server in end-to-end tests.
	EnvAWSEndpoint = "CREDRES_AWS_ENDPOINT"
)

// Logger returns the function's JSON logger at CREDRES_LOG_LEVEL (info by
// default). Handlers add the request id per invocation.
//
// The standard library's logger, which aws-lambda-go reports handler errors
// through, is sent to the same JSON log, so that every line CloudWatch gets
// can be queried alike.
func Logger(function string) zerolog.Logger {
	level, err := zerolog.ParseLevel(os.Getenv(EnvLogLevel))
	if err != nil || level == zerolog.NoLevel {
		level = zerolog.InfoLevel
	}
	l := zerolog.New(os.Stdout).Level(level).With().Timestamp().Str("function", function).Logger()
	stdlog.SetFlags(0)
	stdlog.SetOutput(runtimeLog{l})
	return l
}

// runtimeLog turns the standard logger's lines (aws-lambda-go's reports of
// handler errors) into error-level JSON lines.
type runtimeLog struct{ l zerolog.Logger }

func (r runtimeLog) Write(p []byte) (int, error) {
	r.l.Error().Str("source", "runtime").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

const sdkSource = "aws-sdk"

// sdkLogger writes the AWS SDK's own messages (retries, warnings) as JSON.
type sdkLogger struct{ l zerolog.Logger }

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	ev := s.l.Info()
	if c == logging.Warn {
		ev = s.l.Warn()
	}
	ev.Str("source", sdkSource).Msgf(format, v...)
}

// Env is a function's environment with its AWS clients.
type Env struct {
	*Settings
	AWS      aws.Config
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	Secrets  *secrets.Manager
	Tenant   model.Tenant
	Engine   *rules.Engine
	Now      func() time.Time
}

// Load reads the environment and builds the AWS clients.
func Load(ctx context.Context, getenv func(string) string) (*Env, error) {
	e := &Env{Settings: NewSettings(getenv), Now: time.Now}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(sdkLogger{*zerolog.Ctx(ctx)}))
	if err != nil {
		return nil, fmt.Errorf("deploy: AWS configuration: %w", err)
	}
	e.AWS = cfg
	endpoint := getenv(EnvAWSEndpoint)
	e.DynamoDB = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	e.SQS = sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if v := getenv(EnvSQSEndpoint); v != "" {
			o.BaseEndpoint = aws.String(v)
		}
	})
	e.Secrets = secrets.NewManager(secretsmanager.NewFromConfig(cfg))
	e.Tenant = e.Settings.Tenant()
	e.Engine = e.Settings.Engine()
	return e, nil
}

// EnvSQSEndpoint points the SQS client at another endpoint (tests).
const EnvSQSEndpoint = "CREDRES_SQS_ENDPOINT"

// store is the state table, with the claims table for the stages that
// claim deliveries (nudge and ticket). Evaluate and sweep are not given the
// claims table (template.yaml), and must not need it to start.
func (e *Env) store(claims bool) *store.DynamoDB {
	var claimsTable string
	if claims {
		claimsTable = e.Required(EnvClaimsTable)
	}
	return store.NewDynamoDB(e.DynamoDB, e.Required(EnvStateTable), claimsTable, e.Now)
}

func (e *Env) queue(name string) *queue.SQS { return queue.NewSQS(e.SQS, e.Required(name)) }

// source is the function's own source queue, named by the same setting
// its producer sends to; unset (local tools, tests), throttled messages are
// not delayed.
func (e *Env) source(name string) Redelivery {
	url := e.Optional(name, "")
	if url == "" {
		return nil
	}
	return queue.NewSQS(e.SQS, url)
}

// dead is the function's dead-letter queue (EnvDeadLetterQueue), or nil.
func (e *Env) dead() pipeline.DeadLetters {
	url := e.Optional(EnvDeadLetterQueue, "")
	if url == "" {
		return nil
	}
	return queue.NewSQS(e.SQS, url)
}

// Renderer builds the nudge and ticket renderer from the policy and the
// optional template folder.
func (e *Env) Renderer() (*notify.Renderer, error) {
	return notify.NewRenderer(e.Engine.Policy().Nudges, e.Optional(EnvTemplatesDir, ""))
}

// Evaluate builds the evaluate stage over a live user reader (Graph).
func (e *Env) Evaluate(users pipeline.UserReader) (*pipeline.Evaluate, error) {
	state := e.store(false)
	st := &pipeline.Evaluate{
		Users: users, Store: state, Engine: e.Engine, Tenant: e.Tenant,
		Nudges: e.queue(EnvNudgeQueue), Tickets: e.queue(EnvTicketQueue), Dead: e.dead(), Now: e.Now,
		Usage: state, PolicyChanges: state, RegistrationCache: state, Observed: state,
	}
	// Graph also reads the tenant's own policy (cached for its PolicyTTL).
	if p, ok := users.(pipeline.TenantPolicyReader); ok {
		st.Policy = p
	}
	if url := e.Optional(EnvEvaluateQueue, ""); url != "" {
		own := queue.NewSQS(e.SQS, url)
		// In a storm the users who can wait go to the back of their own
		// queue (docs/DEPLOY.md, "Event storms").
		st.Drain, st.Requeue, st.Triage = &pipeline.DrainGauge{Queue: own, UnitsPerHour: e.fleetUnitsPerHour()}, own, &pipeline.StormTriage{}
	}
	return st, e.Err()
}

// fleetUnitsPerHour is the evaluators' share of Graph's reports budget, all
// processes together (CREDRES_EVALUATE_FLEET_BUDGET, 4/10s), in units an
// hour: what the backlog's drain time is estimated against.
func (e *Env) fleetUnitsPerHour() float64 {
	v := e.Optional(EnvEvaluateFleetBudget, "4/10s")
	l, err := graph.ParseLimit(v)
	if err != nil {
		e.fail(EnvEvaluateFleetBudget, "%v", err)
		return 0
	}
	return float64(l.Requests) * float64(time.Hour) / float64(l.Per)
}

// Nudge builds the nudge stage over a sender (mail, Teams, or the outbox
// queue); a dry run records instead of sending.
func (e *Env) Nudge(sender pipeline.NudgeSender) (*pipeline.NudgeStage, error) {
	r, err := e.Renderer()
	if err != nil {
		return nil, err
	}
	st := &pipeline.NudgeStage{Store: e.store(true), Sender: sender, Render: r, Dead: e.dead(), Now: e.Now}
	if e.Bool(EnvDryRun, false) {
		st.DryRun = st.Store.(*store.DynamoDB)
	}
	return st, e.Err()
}

// NudgeSender chooses how nudges leave: by mail through Graph (and the Teams
// activity feed where enabled) once CREDRES_MAIL_SENDER names the sender
// mailbox, otherwise onto the nudge outbox queue for another system to
// deliver.
func (e *Env) NudgeSender(mail notify.Mailer, teamsTokens notify.TokenSource) (pipeline.NudgeSender, error) {
	if e.Bool(EnvTeams, false) {
		// Teams notifications are sent as the app, like mail: without a
		// sender mailbox every nudge would quietly go to the outbox queue.
		e.Required(EnvMailSender)
	}
	if e.Optional(EnvMailSender, "") == "" {
		return e.NudgeOutboxQueue(), e.Err()
	}
	return NewNudgeSender(e.NudgeChannels(), mail, teamsTokens, http.DefaultClient)
}

// TicketSender chooses the helpdesk: the helpdesk queue (CREDRES_TICKET_CHANNEL
// sqs, the default), ServiceNow, Jira or a webhook; and the security team's
// destination for the emergency access set's tickets, when configured.
func (e *Env) TicketSender() (pipeline.TicketSender, error) {
	cfg := e.TicketChannels()
	if err := e.Err(); err != nil {
		return nil, err
	}
	security, err := e.securitySender()
	if err != nil {
		return nil, err
	}
	if cfg.TicketChannel == TicketSQS {
		return &pipeline.TicketRouter{Helpdesk: e.HelpdeskQueue(), Security: security}, e.Err()
	}
	s, err := NewTicketSender(cfg, e.Secrets, http.DefaultClient)
	if err != nil && cfg.DryRun {
		// A dry run records tickets and sends none, so the chosen channel
		// may still lack its settings (the template's Rules allow it).
		s, err = unsentTickets{channel: cfg.TicketChannel, err: err}, nil
	}
	if err != nil {
		return nil, err
	}
	// The emergency access set's tickets go to the security team's
	// destination when there is one (emergency.go).
	return &pipeline.TicketRouter{Helpdesk: s, Security: security}, nil
}

// unsentTickets stands for a ticket channel that a dry run cannot build;
// the stage records every ticket instead of sending it.
type unsentTickets struct {
	channel string
	err     error
}

func (u unsentTickets) SendTicket(context.Context, model.DecisionMessage, model.TicketRecord) error {
	return fmt.Errorf("deploy: dry run: the %s channel cannot send: %w", u.channel, u.err)
}

// Ticket builds the ticket stage over a sender (the helpdesk queue,
// ServiceNow, Jira or a webhook).
func (e *Env) Ticket(sender pipeline.TicketSender) (*pipeline.TicketStage, error) {
	r, err := e.Renderer()
	if err != nil {
		return nil, err
	}
	state := e.store(true)
	st := &pipeline.TicketStage{Store: state, Sender: sender, Render: r, Dead: e.dead(), Now: e.Now, PolicyChanges: state}
	if e.Bool(EnvDryRun, false) {
		st.DryRun = st.Store.(*store.DynamoDB)
	}
	return st, e.Err()
}

// HelpdeskQueue is the ticket sender that puts ticket events on the
// helpdesk queue.
func (e *Env) HelpdeskQueue() *queue.HelpdeskQueue {
	return queue.NewHelpdeskQueue(e.SQS, e.Required(EnvHelpdeskQueue))
}

// NudgeOutboxQueue is the nudge sender that puts nudges on the outbox queue.
func (e *Env) NudgeOutboxQueue() *queue.NudgeOutboxQueue {
	return queue.NewNudgeOutboxQueue(e.SQS, e.Required(EnvNudgeOutbox))
}

// Sweep builds the sweep stage over the registration report (Graph). A
// reader that reads the report page by page (Graph does) makes the sweep
// resumable: each invocation walks for CREDRES_SWEEP_BUDGET (less than the
// function's timeout), keeps its cursor in the state table and returns;
// the next scheduled run continues it (docs/DEPLOY.md, "The sweep").
func (e *Env) Sweep(regs pipeline.RegistrationReader) (*pipeline.Sweep, error) {
	state := e.store(false)
	st := &pipeline.Sweep{
		Registrations: regs, Store: state, Queue: e.queue(EnvEvaluateQueue),
		MaxAge: e.Duration(EnvSweepMaxAge, 7*24*time.Hour), Now: e.Now, PolicyChanges: state,
	}
	if pages, ok := regs.(pipeline.RegistrationPager); ok {
		st.Pages, st.Checkpoints, st.RegistrationCache = pages, state, state
		st.Budget = e.Duration(EnvSweepBudget, 13*time.Minute)
		// A storm of events has the frequent runs walk the report for
		// evaluate's triage.
		st.Backlog = &pipeline.DrainGauge{Queue: queue.NewSQS(e.SQS, e.Required(EnvEvaluateQueue)), UnitsPerHour: e.fleetUnitsPerHour()}
	}
	st.Emergency = e.emergency(regs, state)
	return st, e.Err()
}

// Ingest builds the ingest stage; malformed records go to the ingest
// dead-letter queue, method usage from sign-ins to the state table.
func (e *Env) Ingest() (*pipeline.Ingest, time.Duration, error) {
	state := e.store(false)
	st := &pipeline.Ingest{
		Queue: e.queue(EnvEvaluateQueue), Dead: e.queue(EnvIngestDLQ), TenantID: e.Tenant.ID,
		Usage: state, ProofWindow: e.Engine.Policy().ShortestProofWindow(), PolicyChanges: state, Now: e.Now,
	}
	budget := e.Duration(EnvIngestBudget, 50*time.Second)
	// Ingest parses untrusted stream data and reads no Graph: it must not
	// hold the credential that can.
	if strings.TrimSpace(e.get(EnvGraphSecretARN)) != "" {
		e.fail(EnvGraphSecretARN, "ingest reads no Graph and is never given the Graph credential; it reads the hub with %s, or with %s and %s", EnvEventHubConnectionSecret, EnvEventHubClientID, EnvEventHubCredentialSecret)
	}
	return st, budget, e.Err()
}

// Main starts a Lambda function: it builds the function's handler once per
// execution environment with build, then serves invocations with it. A
// start-up failure (a missing setting, an unreadable secret) is logged with
// what is wrong and ends the process, which Lambda reports as an init error.
func Main(function string, build func(ctx context.Context, env *Env, log zerolog.Logger) (any, error)) {
	log := Logger(function)
	ctx := log.WithContext(context.Background())
	h, err := func() (any, error) {
		env, err := Load(ctx, os.Getenv)
		if err != nil {
			return nil, err
		}
		return build(ctx, env, log)
	}()
	if err != nil {
		log.Error().Err(err).Msg("start-up failed")
		os.Exit(1)
	}
	lambda.Start(h)
}
