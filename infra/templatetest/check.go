package templatetest

import (
	"errors"
	"fmt"
	"sort"

	"gopkg.in/yaml.v3"
)

// Rules, the Problem.Rule values.
const (
	RuleFunctionRuntime   = "function-runtime"   // not provided.al2023 / arm64 / bootstrap / BuildMethod makefile / CodeUri .
	RuleBuildTarget       = "build-target"       // the Makefile has no build-<LogicalId> target
	RuleBuildRecipe       = "build-recipe"       // the target does not build a static linux bootstrap into $(ARTIFACTS_DIR)
	RuleFunctionRole      = "function-role"      // no explicit role of this template, or SAM Policies
	RuleEventSource       = "event-source"       // nothing invokes the function, or its SQS source is not a queue here
	RuleSourceDLQ         = "source-dlq"         // an SQS source queue without a redrive policy
	RuleBatchFailures     = "batch-failures"     // an SQS source without ReportBatchItemFailures
	RuleVisibilityTimeout = "visibility-timeout" // source queue visibility timeout below 6x the function timeout
	RuleMaxConcurrency    = "max-concurrency"    // SQS maximum concurrency above the reserved concurrency
	RuleWildcardAction    = "wildcard-action"    // an IAM action containing *, or NotAction
	RuleWildcardResource  = "wildcard-resource"  // a literal IAM resource containing *, or NotResource
	RuleManagedPolicy     = "managed-policy"     // ManagedPolicyArns on a role
	RuleLogsScope         = "logs-scope"         // CloudWatch Logs rights beyond the function's own log group
	RuleQueueDLQ          = "queue-dlq"          // a queue without a dead-letter queue
	RuleQueueEncryption   = "queue-encryption"   // a queue without server-side encryption
	RuleDLQAlarm          = "dlq-alarm"          // a dead-letter queue without a depth alarm
	RuleFunctionAlarm     = "function-alarm"     // a function without an Errors alarm
	RuleLogGroup          = "log-group"          // no explicit log group with retention and JSON format
	RuleEnvUnknown        = "env-unknown"        // a variable the code does not read
	RuleEnvSecret         = "env-secret"         // a variable that would carry a secret
	RuleEnvRequired       = "env-required"       // a function lacks a variable it needs
	RuleEnvUnset          = "env-unset"          // a setting no function is given
	RuleSecretGrant       = "secret-grant"       // a secret given without GetSecretValue on it, or granted to a function not given it
)

// Problem is one broken rule.
type Problem struct {
	Rule     string
	Resource string // logical id (or "Resources" for template-wide rules)
	Line     int    // 1-based line in the template
	Message  string
}

func (p Problem) String() string {
	return fmt.Sprintf("line %d: %s: %s [%s]", p.Line, p.Resource, p.Message, p.Rule)
}

// Options say what the code expects of the template.
type Options struct {
	// KnownEnv is every environment variable name the code reads.
	KnownEnv map[string]bool
	// SecretEnv names variables that would carry a secret in plain text;
	// secrets belong in Secrets Manager.
	SecretEnv []string
	// RequiredEnv lists, per function logical id, the variables it needs.
	RequiredEnv map[string][]string
	// Deployed lists variables that at least one function must be given.
	Deployed []string
	// SecretRefEnv names variables that name a secret (a Secrets Manager
	// ARN) the function reads: the function's role must grant
	// secretsmanager:GetSecretValue on exactly the secrets its environment
	// names, under the same conditions.
	SecretRefEnv []string
	// MustRun names the functions that must keep running (logical ids);
	// each needs an alarm on missing invocations.
	MustRun []string
}

// Check parses a SAM template and the Makefile beside it and returns every
// problem found, ordered by line. An error means the inputs could not be
// read as a template at all.
func Check(template, makefile []byte, opt Options) ([]Problem, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("templatetest: parse template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("templatetest: the template is not a YAML mapping")
	}
	root := doc.Content[0]
	resKey, resNode := entry(root, "Resources")
	if resNode == nil || resNode.Kind != yaml.MappingNode {
		return nil, errors.New("templatetest: the template has no Resources mapping")
	}
	t := &tpl{
		resources: map[string]*resource{},
		globals:   get(get(root, "Globals"), "Function"),
		resLine:   resKey.Line,
		make:      parseMakefile(makefile),
		opt:       opt,
	}
	for i := 0; i+1 < len(resNode.Content); i += 2 {
		k, v := resNode.Content[i], resNode.Content[i+1]
		r := &resource{id: k.Value, line: k.Line, node: v, typ: scalar(get(v, "Type")), props: get(v, "Properties")}
		t.resources[r.id] = r
		t.order = append(t.order, r)
	}
	t.checkFunctions()
	t.checkQueues()
	t.checkIAM()
	t.checkSecretGrants()
	t.checkDeployed()
	t.checkOperations()
	sort.SliceStable(t.problems, func(i, j int) bool { return t.problems[i].Line < t.problems[j].Line })
	return t.problems, nil
}

type resource struct {
	id    string
	line  int
	typ   string
	node  *yaml.Node
	props *yaml.Node
}

type tpl struct {
	resources map[string]*resource
	order     []*resource
	globals   *yaml.Node
	resLine   int
	make      makefile
	opt       Options
	problems  []Problem
	deployed  map[string]bool
}

func (t *tpl) fail(rule, res string, line int, format string, args ...any) {
	t.problems = append(t.problems, Problem{Rule: rule, Resource: res, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (t *tpl) ofType(typ string) []*resource {
	var out []*resource
	for _, r := range t.order {
		if r.typ == typ {
			out = append(out, r)
		}
	}
	return out
}

// prop returns a function property, falling back to Globals.Function.
func (t *tpl) prop(fn *resource, key string) (*yaml.Node, *yaml.Node) {
	if k, v := entry(fn.props, key); v != nil {
		return k, v
	}
	return entry(t.globals, key)
}
