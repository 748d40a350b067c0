package wiring

// Settings: every setting has one name, documented in docs/DEPLOY.md and set
// by template.yaml; a function asks only for what it needs, and a missing or
// malformed value is reported with its name at start-up.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// Environment variable names.
const (
	EnvTenantID        = "CREDRES_TENANT_ID"
	EnvPasswordAuth    = "CREDRES_PASSWORD_AUTH"
	EnvPHSFallback     = "CREDRES_PHS_FALLBACK"
	EnvPolicy          = "CREDRES_POLICY"
	EnvStateTable      = "CREDRES_STATE_TABLE"
	EnvClaimsTable     = "CREDRES_CLAIMS_TABLE"
	EnvCheckpointTable = "CREDRES_CHECKPOINT_TABLE"
	EnvEvaluateQueue   = "CREDRES_EVALUATE_QUEUE_URL"
	// EnvDeadLetterQueue is the dead-letter queue of an SQS-triggered
	// function's source queue: messages that can never succeed go there at
	// once (pipeline's error kinds).
	EnvDeadLetterQueue = "CREDRES_DEAD_LETTER_QUEUE_URL"
	EnvNudgeQueue      = "CREDRES_NUDGE_QUEUE_URL"
	EnvTicketQueue     = "CREDRES_TICKET_QUEUE_URL"
	EnvHelpdeskQueue   = "CREDRES_HELPDESK_QUEUE_URL"
	EnvNudgeOutbox     = "CREDRES_NUDGE_OUTBOX_QUEUE_URL"
	EnvIngestDLQ       = "CREDRES_INGEST_DEAD_LETTER_QUEUE_URL"
	EnvIngestBudget    = "CREDRES_INGEST_BUDGET"
	EnvSweepMaxAge     = "CREDRES_SWEEP_MAX_AGE"
	EnvSweepBudget     = "CREDRES_SWEEP_BUDGET"
	// EnvEvaluateFleetBudget is the evaluators' share of Graph's reports
	// budget, all processes together, for the backlog's drain estimate.
	EnvEvaluateFleetBudget = "CREDRES_EVALUATE_FLEET_BUDGET"
	EnvLogLevel            = "CREDRES_LOG_LEVEL"
)

// Settings reads settings from a getenv function (os.Getenv in main, a map in
// tests) and collects every problem instead of stopping at the first.
type Settings struct {
	get  func(string) string
	errs []error
}

// NewSettings returns Settings over getenv.
func NewSettings(getenv func(string) string) *Settings { return &Settings{get: getenv} }

// Err returns every problem found so far, or nil.
func (e *Settings) Err() error { return errors.Join(e.errs...) }

func (e *Settings) fail(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("config: %s: %w: %s", name, model.ErrInvalidInput, fmt.Sprintf(format, args...)))
}

// Required returns a setting that must be present.
func (e *Settings) Required(name string) string {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		e.fail(name, "required but not set")
	}
	return v
}

// Optional returns a setting or its default.
func (e *Settings) Optional(name, def string) string {
	if v := strings.TrimSpace(e.get(name)); v != "" {
		return v
	}
	return def
}

// Bool reads true/false (also 1/0, yes/no).
func (e *Settings) Bool(name string, def bool) bool {
	v := strings.ToLower(strings.TrimSpace(e.get(name)))
	switch v {
	case "":
		return def
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	e.fail(name, "%q is not true or false", v)
	return def
}

// Duration reads "50s", "7d", "1d12h".
func (e *Settings) Duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return def
	}
	d, err := rules.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(name, "%q is not a positive duration", v)
		return def
	}
	return d
}

// Int reads a whole number.
func (e *Settings) Int(name string, def int) int {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(name, "%q is not a whole number", v)
		return def
	}
	return n
}

// Tenant reads the tenant facts that change users' dependencies. Graph does
// not expose whether pass-through authentication or password hash sync is
// on, so the administrator states it.
func (e *Settings) Tenant() model.Tenant {
	t := model.Tenant{
		ID:           e.Required(EnvTenantID),
		PasswordAuth: model.PasswordAuth(e.Optional(EnvPasswordAuth, string(model.PasswordCloud))),
		PHSFallback:  e.Bool(EnvPHSFallback, false),
	}
	switch t.PasswordAuth {
	case model.PasswordCloud, model.PasswordPHS, model.PasswordPTA, model.PasswordFederated:
	default:
		e.fail(EnvPasswordAuth, "%q is not cloud, phs, pta or federated", t.PasswordAuth)
	}
	return t
}

// Engine builds the rules engine from the inline policy YAML, or the
// embedded default policy when none is set.
func (e *Settings) Engine() *rules.Engine {
	yaml := e.get(EnvPolicy)
	if strings.TrimSpace(yaml) == "" {
		return rules.New(nil)
	}
	p, err := rules.ParsePolicy([]byte(yaml))
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("config: %s: %w", EnvPolicy, err))
		return rules.New(nil)
	}
	return rules.New(p)
}
