package templatetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

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

// ---------------------------------------------------------------- functions

func (t *tpl) checkFunctions() {
	t.deployed = map[string]bool{}
	for _, fn := range t.functions() {
		t.checkRuntime(fn)
		t.checkBuild(fn)
		role := t.checkRole(fn)
		t.checkEvents(fn)
		lg := t.checkLogGroup(fn)
		if role != nil && lg != "" {
			t.checkLogsScope(fn, role, lg)
		}
		t.checkFunctionAlarm(fn)
		t.checkEnv(fn)
	}
}

func (t *tpl) checkRuntime(fn *resource) {
	want := func(key, value string) {
		k, v := t.prop(fn, key)
		switch {
		case v == nil:
			t.fail(RuleFunctionRuntime, fn.id, fn.line, "%s is not set (want %s)", key, value)
		case scalar(v) != value:
			t.fail(RuleFunctionRuntime, fn.id, k.Line, "%s is %q, want %q", key, describe(v), value)
		}
	}
	want("Runtime", "provided.al2023")
	want("Handler", "bootstrap")
	if fn.typ == samFunction {
		want("CodeUri", ".")
	}
	k, v := t.prop(fn, "Architectures")
	switch {
	case v == nil:
		t.fail(RuleFunctionRuntime, fn.id, fn.line, "Architectures is not set (want [arm64])")
	case v.Kind != yaml.SequenceNode || len(v.Content) != 1 || scalar(v.Content[0]) != "arm64":
		t.fail(RuleFunctionRuntime, fn.id, k.Line, "Architectures is %s, want [arm64]", describe(v))
	}
	mk, method := entry(get(fn.node, "Metadata"), "BuildMethod")
	switch {
	case method == nil:
		t.fail(RuleFunctionRuntime, fn.id, fn.line, "Metadata.BuildMethod is not set (want makefile)")
	case scalar(method) != "makefile":
		t.fail(RuleFunctionRuntime, fn.id, mk.Line, "Metadata.BuildMethod is %q, want makefile", describe(method))
	}
}

func (t *tpl) checkBuild(fn *resource) {
	target := "build-" + fn.id
	recipe, ok := t.make.targets[target]
	if !ok {
		t.fail(RuleBuildTarget, fn.id, fn.line, "the Makefile has no %s target, which sam build runs", target)
		return
	}
	cmd := t.make.expand(strings.Join(recipe, "\n"))
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "lambda.norpc", "$(ARTIFACTS_DIR)/bootstrap"} {
		if !strings.Contains(cmd, want) {
			t.fail(RuleBuildRecipe, fn.id, fn.line, "the Makefile target %s does not build with %s", target, want)
		}
	}
}

// checkRole returns the function's role when it is one of this template's.
func (t *tpl) checkRole(fn *resource) *resource {
	if k, v := entry(fn.props, "Policies"); v != nil {
		t.fail(RuleFunctionRole, fn.id, k.Line, "SAM Policies hide their actions (policy templates, managed policies); use an explicit Role with inline statements")
	}
	k, v := t.prop(fn, "Role")
	if v == nil {
		t.fail(RuleFunctionRole, fn.id, fn.line, "no Role: SAM would create one with AWSLambdaBasicExecutionRole, whose log rights are not scoped")
		return nil
	}
	id, attr, ok := getAtt(v)
	if !ok || attr != "Arn" {
		t.fail(RuleFunctionRole, fn.id, k.Line, "Role must be !GetAtt <role>.Arn of a role in this template")
		return nil
	}
	r := t.resources[id]
	if r == nil || r.typ != "AWS::IAM::Role" {
		t.fail(RuleFunctionRole, fn.id, k.Line, "Role names %s, which is not an AWS::IAM::Role of this template", id)
		return nil
	}
	return r
}

func (t *tpl) checkEvents(fn *resource) {
	events := t.eventsOf(fn)
	if len(events) == 0 {
		t.fail(RuleEventSource, fn.id, fn.line, "no Events: nothing invokes the function")
		return
	}
	for _, ev := range events {
		if ev.kind == "SQS" {
			t.checkSQSSource(fn, ev.name, ev.props)
		}
	}
}

func (t *tpl) checkSQSSource(fn *resource, name, p *yaml.Node) {
	qk, qv := entry(p, "Queue")
	if qv == nil {
		qk, qv = entry(p, "EventSourceArn")
	}
	if qv == nil {
		t.fail(RuleEventSource, fn.id, name.Line, "SQS event %s has no Queue", name.Value)
		return
	}
	id, attr, ok := getAtt(qv)
	q := t.resources[id]
	if !ok || attr != "Arn" || q == nil || q.typ != "AWS::SQS::Queue" {
		t.fail(RuleEventSource, fn.id, qk.Line, "SQS event %s must name a queue of this template as !GetAtt <queue>.Arn", name.Value)
		return
	}
	if _, rp := entry(q.props, "RedrivePolicy"); rp == nil {
		t.fail(RuleSourceDLQ, fn.id, qk.Line, "SQS event %s reads %s, which has no RedrivePolicy: a poison message would be retried forever", name.Value, q.id)
	}
	types := get(p, "FunctionResponseTypes")
	if !slices.Contains(scalars(types), "ReportBatchItemFailures") {
		t.fail(RuleBatchFailures, fn.id, name.Line, "SQS event %s lacks FunctionResponseTypes [ReportBatchItemFailures]: the handlers' BatchItemFailures would be ignored and failed messages deleted", name.Value)
	}
	timeout := 3 // Lambda's default
	if _, v := t.prop(fn, "Timeout"); v != nil {
		timeout = intOf(v, timeout)
	}
	visibility := 30 // SQS's default
	vk, vv := entry(q.props, "VisibilityTimeout")
	line := q.line
	if vv != nil {
		visibility = intOf(vv, visibility)
		line = vk.Line
	}
	if visibility < 6*timeout {
		t.fail(RuleVisibilityTimeout, q.id, line, "VisibilityTimeout %d s is below 6 x the %s timeout of %d s (AWS recommends at least %d)", visibility, fn.id, timeout, 6*timeout)
	}
	mk, mv := entry(get(p, "ScalingConfig"), "MaximumConcurrency")
	if _, rv := t.prop(fn, "ReservedConcurrentExecutions"); mv != nil && rv != nil {
		if m, r := intOf(mv, 0), intOf(rv, 0); m > r {
			t.fail(RuleMaxConcurrency, fn.id, mk.Line, "MaximumConcurrency %d exceeds ReservedConcurrentExecutions %d: throttled batches would use up receive counts and reach the dead-letter queue", m, r)
		}
	}
}

// checkLogGroup returns the logical id of the function's log group.
func (t *tpl) checkLogGroup(fn *resource) string {
	lk, lc := t.prop(fn, "LoggingConfig")
	if lc == nil {
		t.fail(RuleLogGroup, fn.id, fn.line, "no LoggingConfig naming an explicit log group")
		return ""
	}
	if f := scalar(get(lc, "LogFormat")); f != "JSON" {
		t.fail(RuleLogGroup, fn.id, lk.Line, "LoggingConfig.LogFormat is %q, want JSON", f)
	}
	gk, gv := entry(lc, "LogGroup")
	id, ok := ref(gv)
	g := t.resources[id]
	if !ok || g == nil || g.typ != "AWS::Logs::LogGroup" {
		t.fail(RuleLogGroup, fn.id, lk.Line, "LoggingConfig.LogGroup must be !Ref of an AWS::Logs::LogGroup of this template")
		return ""
	}
	if _, r := entry(g.props, "RetentionInDays"); r == nil {
		t.fail(RuleLogGroup, fn.id, gk.Line, "log group %s has no RetentionInDays: logs would be kept forever", g.id)
	}
	name := subText(get(g.props, "LogGroupName"))
	var want string
	if fname := subText(get(fn.props, "FunctionName")); fname != "" {
		want = "/aws/lambda/" + fname
	} else {
		want = "/aws/lambda/${" + fn.id + "}"
	}
	if name != want {
		t.fail(RuleLogGroup, fn.id, gk.Line, "log group %s is named %q, want %q (the function's own group)", g.id, name, want)
	}
	return g.id
}

func (t *tpl) checkLogsScope(fn, role *resource, logGroup string) {
	for _, st := range roleStatements(role) {
		logs := false
		for _, a := range scalars(get(st, "Action")) {
			if strings.HasPrefix(strings.ToLower(a), "logs:") {
				logs = true
			}
		}
		if !logs {
			continue
		}
		rk, rv := entry(st, "Resource")
		line := st.Line
		if rk != nil {
			line = rk.Line
		}
		for _, res := range leaves(rv) {
			refs := refsIn(res)
			if len(refs) != 1 || refs[0] != logGroup {
				t.fail(RuleLogsScope, role.id, line, "CloudWatch Logs rights for %s must name only its own log group %s", fn.id, logGroup)
				break
			}
		}
	}
}

func (t *tpl) checkFunctionAlarm(fn *resource) {
	for _, a := range t.ofType("AWS::CloudWatch::Alarm") {
		if scalar(get(a.props, "Namespace")) != "AWS/Lambda" || scalar(get(a.props, "MetricName")) != "Errors" {
			continue
		}
		if v := dimension(a, "FunctionName"); v != nil {
			if id, ok := ref(v); ok && id == fn.id {
				return
			}
		}
	}
	t.fail(RuleFunctionAlarm, fn.id, fn.line, "no AWS/Lambda Errors alarm for this function")
}

func (t *tpl) checkEnv(fn *resource) {
	set := map[string]bool{}
	var varsLine int
	for _, vars := range []*yaml.Node{get(get(t.globals, "Environment"), "Variables"), get(get(fn.props, "Environment"), "Variables")} {
		if vars == nil || vars.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(vars.Content); i += 2 {
			k := vars.Content[i]
			set[k.Value] = true
			t.deployed[k.Value] = true
			if !t.opt.KnownEnv[k.Value] {
				t.fail(RuleEnvUnknown, fn.id, k.Line, "%s is not a setting the code reads", k.Value)
			}
			if slices.Contains(t.opt.SecretEnv, k.Value) {
				t.fail(RuleEnvSecret, fn.id, k.Line, "%s would put a secret in plain text in the function's configuration; use Secrets Manager", k.Value)
			}
		}
	}
	if k, _ := entry(get(fn.props, "Environment"), "Variables"); k != nil {
		varsLine = k.Line
	} else {
		varsLine = fn.line
	}
	for _, name := range t.opt.RequiredEnv[fn.id] {
		if !set[name] {
			t.fail(RuleEnvRequired, fn.id, varsLine, "%s is required by this function but not set", name)
		}
	}
}

func (t *tpl) checkDeployed() {
	for _, name := range t.opt.Deployed {
		if !t.deployed[name] {
			t.fail(RuleEnvUnset, "Resources", t.resLine, "no function is given %s", name)
		}
	}
}

// ---------------------------------------------------------------- queues

func (t *tpl) checkQueues() {
	queues := t.ofType("AWS::SQS::Queue")
	dlq := map[string]bool{}
	for _, q := range queues {
		// A queue named *DeadLetterQueue is a dead-letter store even when
		// the application, not a redrive policy, writes to it.
		if strings.HasSuffix(q.id, "DeadLetterQueue") {
			dlq[q.id] = true
		}
		if id, _, ok := getAtt(get(get(q.props, "RedrivePolicy"), "deadLetterTargetArn")); ok {
			dlq[id] = true
		}
	}
	for _, q := range queues {
		if !truthy(get(q.props, "SqsManagedSseEnabled")) && get(q.props, "KmsMasterKeyId") == nil {
			t.fail(RuleQueueEncryption, q.id, q.line, "neither SqsManagedSseEnabled nor KmsMasterKeyId: messages are stored unencrypted")
		}
		if dlq[q.id] {
			t.checkDLQAlarm(q)
			continue
		}
		rk, rp := entry(q.props, "RedrivePolicy")
		if rp == nil {
			t.fail(RuleQueueDLQ, q.id, q.line, "no RedrivePolicy: a message that always fails would never leave the queue")
			continue
		}
		_, tv := entry(rp, "deadLetterTargetArn")
		id, attr, ok := getAtt(tv)
		target := t.resources[id]
		if !ok || attr != "Arn" || target == nil || target.typ != "AWS::SQS::Queue" {
			t.fail(RuleQueueDLQ, q.id, rk.Line, "RedrivePolicy.deadLetterTargetArn must be !GetAtt <queue>.Arn of a queue in this template")
			continue
		}
		if _, mv := entry(rp, "maxReceiveCount"); mv == nil || intOf(mv, 0) < 1 {
			t.fail(RuleQueueDLQ, q.id, rk.Line, "RedrivePolicy without a positive maxReceiveCount")
		}
	}
}

func (t *tpl) checkDLQAlarm(q *resource) {
	for _, a := range t.ofType("AWS::CloudWatch::Alarm") {
		if scalar(get(a.props, "Namespace")) != "AWS/SQS" || scalar(get(a.props, "MetricName")) != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		if id, attr, ok := getAtt(dimension(a, "QueueName")); ok && id == q.id && attr == "QueueName" {
			return
		}
	}
	t.fail(RuleDLQAlarm, q.id, q.line, "dead-letter queue without an ApproximateNumberOfMessagesVisible alarm")
}

// dimension returns the value node of an alarm dimension.
func dimension(alarm *resource, name string) *yaml.Node {
	dims := get(alarm.props, "Dimensions")
	if dims == nil || dims.Kind != yaml.SequenceNode {
		return nil
	}
	for _, d := range dims.Content {
		if scalar(get(d, "Name")) == name {
			return get(d, "Value")
		}
	}
	return nil
}

// ---------------------------------------------------------------- IAM

func (t *tpl) checkIAM() {
	for _, r := range t.order {
		var docs []*yaml.Node
		switch r.typ {
		case "AWS::IAM::Role":
			if k, v := entry(r.props, "ManagedPolicyArns"); v != nil {
				t.fail(RuleManagedPolicy, r.id, k.Line, "ManagedPolicyArns hide their actions from review; write inline statements")
			}
			docs = append(docs, get(r.props, "AssumeRolePolicyDocument"))
			for _, p := range seq(get(r.props, "Policies")) {
				docs = append(docs, get(p, "PolicyDocument"))
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy", "AWS::KMS::Key", "AWS::SecretsManager::ResourcePolicy":
			docs = append(docs, get(r.props, "PolicyDocument"), get(r.props, "KeyPolicy"), get(r.props, "ResourcePolicy"))
		default:
			continue
		}
		for _, d := range docs {
			for _, st := range statements(get(d, "Statement")) {
				t.checkStatement(r, st)
			}
		}
	}
}

func (t *tpl) checkStatement(r *resource, st *yaml.Node) {
	if k, _ := entry(st, "NotAction"); k != nil {
		t.fail(RuleWildcardAction, r.id, k.Line, "NotAction grants every action not listed")
	}
	if k, _ := entry(st, "NotResource"); k != nil {
		t.fail(RuleWildcardResource, r.id, k.Line, "NotResource applies to every resource not listed")
	}
	for _, a := range leaves(get(st, "Action")) {
		if strings.Contains(a.Value, "*") {
			t.fail(RuleWildcardAction, r.id, a.Line, "action %q is a wildcard; name each action", a.Value)
		}
	}
	for _, res := range leaves(get(st, "Resource")) {
		if res.Tag == "!!str" && strings.Contains(res.Value, "*") {
			t.fail(RuleWildcardResource, r.id, res.Line, "resource %q is a wildcard; name the resource through !GetAtt, !Ref or !Sub", res.Value)
		}
	}
}

// ---------------------------------------------------------------- secrets

// secretUse is a secret named in a function's environment, or granted by a
// role, under the conditions of the !If branches that lead to it.
type secretUse struct {
	key   string // the secret: "!Ref Param", a literal ARN, ...
	guard string // the conditions, "" for always
	line  int
	owner string // the function or role
	via   string // the variable naming it (environment side)
}

// checkSecretGrants compares, per role, the secrets its functions'
// environments name through the SecretRefEnv variables with the secrets
// the role lets them read (secretsmanager:GetSecretValue). Each must match
// the other under the same conditions: a secret named but not granted
// fails at start-up, one granted but not named is a right nobody uses.
func (t *tpl) checkSecretGrants() {
	if len(t.opt.SecretRefEnv) == 0 {
		return
	}
	given := map[string][]secretUse{} // role id -> secrets its functions are given
	for _, fn := range t.functions() {
		_, rv := t.prop(fn, "Role")
		id, attr, ok := getAtt(rv)
		if role := t.resources[id]; !ok || attr != "Arn" || role == nil || role.typ != "AWS::IAM::Role" {
			continue // RuleFunctionRole reports it
		}
		if _, seen := given[id]; !seen {
			given[id] = []secretUse{}
		}
		for _, vars := range []*yaml.Node{get(get(t.globals, "Environment"), "Variables"), get(get(fn.props, "Environment"), "Variables")} {
			vars = deref(vars)
			if vars == nil || vars.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(vars.Content); i += 2 {
				k := vars.Content[i]
				if !slices.Contains(t.opt.SecretRefEnv, k.Value) {
					continue
				}
				for _, g := range guardedLeaves(vars.Content[i+1], nil) {
					if key := secretKey(g.node); key != "" {
						given[id] = append(given[id], secretUse{key: key, guard: guardText(g.terms), line: k.Line, owner: fn.id, via: k.Value})
					}
				}
			}
		}
	}
	same := func(list []secretUse, u secretUse) bool {
		return slices.ContainsFunc(list, func(o secretUse) bool { return o.key == u.key && o.guard == u.guard })
	}
	for _, role := range t.ofType("AWS::IAM::Role") {
		names, used := given[role.id]
		if !used {
			continue // not a function's role
		}
		var grants []secretUse
		for _, p := range seq(get(role.props, "Policies")) {
			for _, st := range guardedStatements(get(get(p, "PolicyDocument"), "Statement"), nil) {
				if !strings.EqualFold(scalar(get(st.node, "Effect")), "Allow") || !slices.ContainsFunc(scalars(get(st.node, "Action")), isGetSecretValue) {
					continue
				}
				for _, r := range guardedLeaves(get(st.node, "Resource"), st.terms) {
					if key := secretKey(r.node); key != "" {
						grants = append(grants, secretUse{key: key, guard: guardText(r.terms), line: r.node.Line, owner: role.id})
					}
				}
			}
		}
		for _, u := range names {
			if !same(grants, u) {
				t.fail(RuleSecretGrant, u.owner, u.line, "%s names the secret %s (%s), but %s does not grant secretsmanager:GetSecretValue on it under the same conditions: the function could not read it", u.via, u.key, when(u.guard), role.id)
			}
		}
		for _, g := range grants {
			if !same(names, g) {
				t.fail(RuleSecretGrant, role.id, g.line, "secretsmanager:GetSecretValue on %s (%s), but no function of this role is given that secret under the same conditions: grant a secret only to the function that reads it, under the condition that sets its variable", g.key, when(g.guard))
			}
		}
	}
}

func isGetSecretValue(action string) bool {
	return strings.EqualFold(action, "secretsmanager:GetSecretValue")
}

// secretKey identifies the secret a value names, "" for none.
func secretKey(n *yaml.Node) string {
	n = deref(n)
	if id, ok := ref(n); ok {
		return "!Ref " + id
	}
	if id, attr, ok := getAtt(n); ok {
		return "!GetAtt " + id + "." + attr
	}
	if n.Tag == "!Sub" || n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::Sub" {
		return "!Sub " + subText(n)
	}
	return scalar(n)
}

// guarded is a node with the !If conditions that lead to it: "Cond" for
// the true branch, "!Cond" for the false one, sorted.
type guarded struct {
	node  *yaml.Node
	terms []string
}

// guardText writes a guard for comparison and messages; "" is always.
func guardText(terms []string) string { return strings.Join(terms, " and ") }

func when(guard string) string {
	if guard == "" {
		return "always"
	}
	return "when " + guard
}

// within adds a condition term to a guard; false when the guard already
// holds its negation, so that the branch can never be taken.
func within(terms []string, term string) ([]string, bool) {
	neg := "!" + term
	if strings.HasPrefix(term, "!") {
		neg = term[1:]
	}
	if slices.Contains(terms, neg) {
		return nil, false
	}
	out := append(slices.Clone(terms), term)
	slices.Sort(out)
	return slices.Compact(out), true
}

// branches returns the branches of an !If that can be taken, each with its
// guard; ok is false when n is not an !If.
func branches(n *yaml.Node, terms []string) (out []guarded, ok bool) {
	args := ifArgs(n)
	if args == nil {
		return nil, false
	}
	cond := scalar(args[0])
	if g, ok := within(terms, cond); ok {
		out = append(out, guarded{args[1], g})
	}
	if g, ok := within(terms, "!"+cond); ok {
		out = append(out, guarded{args[2], g})
	}
	return out, true
}

// guardedLeaves is leaves, with the conditions that lead to each leaf.
func guardedLeaves(n *yaml.Node, terms []string) []guarded {
	n = deref(n)
	if n == nil {
		return nil
	}
	if bs, ok := branches(n, terms); ok {
		var out []guarded
		for _, b := range bs {
			out = append(out, guardedLeaves(b.node, b.terms)...)
		}
		return out
	}
	if n.Kind == yaml.SequenceNode && !isIntrinsic(n) {
		var out []guarded
		for _, c := range n.Content {
			out = append(out, guardedLeaves(c, terms)...)
		}
		return out
	}
	if id, ok := ref(n); ok && id == "AWS::NoValue" {
		return nil
	}
	return []guarded{{n, terms}}
}

// guardedStatements is statements, with the conditions that lead to each.
func guardedStatements(n *yaml.Node, terms []string) []guarded {
	n = deref(n)
	if n == nil {
		return nil
	}
	if bs, ok := branches(n, terms); ok {
		var out []guarded
		for _, b := range bs {
			out = append(out, guardedStatements(b.node, b.terms)...)
		}
		return out
	}
	switch n.Kind {
	case yaml.SequenceNode:
		var out []guarded
		for _, c := range n.Content {
			out = append(out, guardedStatements(c, terms)...)
		}
		return out
	case yaml.MappingNode:
		if id, ok := ref(n); ok && id == "AWS::NoValue" {
			return nil
		}
		return []guarded{{n, terms}}
	}
	return nil
}

// roleStatements returns the statements of a role's inline policies.
func roleStatements(role *resource) []*yaml.Node {
	var out []*yaml.Node
	for _, p := range seq(get(role.props, "Policies")) {
		out = append(out, statements(get(get(p, "PolicyDocument"), "Statement"))...)
	}
	return out
}

// statements flattens a Statement value: a list, a single statement, and
// statements chosen by !If (both branches; AWS::NoValue dropped).
func statements(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil {
		return nil
	}
	if args := ifArgs(n); args != nil {
		return append(statements(args[1]), statements(args[2])...)
	}
	switch n.Kind {
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, statements(c)...)
		}
		return out
	case yaml.MappingNode:
		if id, ok := ref(n); ok && id == "AWS::NoValue" {
			return nil
		}
		return []*yaml.Node{n}
	}
	return nil
}

// ---------------------------------------------------------------- Makefile

type makefile struct {
	vars    map[string]string
	targets map[string][]string // target -> recipe lines
}

var assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(:=|\?=|\+=|=)\s*(.*)$`)

// parseMakefile reads variable assignments and explicit rules; it is
// enough for the Makefile this project writes, not for make in general.
func parseMakefile(b []byte) makefile {
	m := makefile{vars: map[string]string{}, targets: map[string][]string{}}
	var current []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	var cont string
	for sc.Scan() {
		line := cont + sc.Text()
		cont = ""
		if strings.HasSuffix(line, "\\") {
			cont = strings.TrimSuffix(line, "\\") + " "
			continue
		}
		if strings.HasPrefix(line, "\t") {
			for _, tg := range current {
				m.targets[tg] = append(m.targets[tg], strings.TrimPrefix(line, "\t"))
			}
			continue
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if a := assignment.FindStringSubmatch(line); a != nil {
			current = nil
			switch a[2] {
			case "?=":
				if _, ok := m.vars[a[1]]; !ok {
					m.vars[a[1]] = a[3]
				}
			case "+=":
				m.vars[a[1]] = strings.TrimSpace(m.vars[a[1]] + " " + a[3])
			default:
				m.vars[a[1]] = a[3]
			}
			continue
		}
		head, rest, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(head, ".") {
			current = nil
			continue
		}
		current = strings.Fields(head)
		for _, tg := range current {
			if _, seen := m.targets[tg]; !seen {
				m.targets[tg] = nil
			}
		}
		// An inline recipe after ';' belongs to the targets too.
		if i := strings.Index(rest, "#"); i >= 0 {
			rest = rest[:i]
		}
		if _, inline, ok := strings.Cut(rest, ";"); ok {
			for _, tg := range current {
				m.targets[tg] = append(m.targets[tg], strings.TrimSpace(inline))
			}
		}
	}
	return m
}

var makeVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand substitutes the Makefile's own variables; others (ARTIFACTS_DIR,
// set by sam build) stay as written.
func (m makefile) expand(s string) string {
	for range 10 {
		next := makeVar.ReplaceAllStringFunc(s, func(v string) string {
			if val, ok := m.vars[v[2:len(v)-1]]; ok {
				return val
			}
			return v
		})
		if next == s {
			return s
		}
		s = next
	}
	return s
}

// ---------------------------------------------------------------- yaml helpers

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// entry returns the key and value nodes of a mapping entry.
func entry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], deref(m.Content[i+1])
		}
	}
	return nil, nil
}

func get(m *yaml.Node, key string) *yaml.Node {
	_, v := entry(m, key)
	return v
}

func seq(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// scalar is the text of an untagged (plain or quoted) scalar, "" otherwise.
func scalar(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return ""
	}
	return n.Value
}

func truthy(n *yaml.Node) bool { return strings.EqualFold(scalar(n), "true") }

func intOf(n *yaml.Node, def int) int {
	if v, err := strconv.Atoi(scalar(n)); err == nil {
		return v
	}
	return def
}

// describe renders a node briefly for a message.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return ""
	case n.Kind == yaml.ScalarNode && n.Tag != "" && !strings.HasPrefix(n.Tag, "!!"):
		return n.Tag + " " + n.Value
	case n.Kind == yaml.ScalarNode:
		return n.Value
	case n.Kind == yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = describe(c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return n.Tag
}

// scalars returns the untagged scalar values under n.
func scalars(n *yaml.Node) []string {
	var out []string
	for _, l := range leaves(n) {
		if s := scalar(l); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// leaves returns the values a property can take: the node itself, the items
// of a list, both branches of !If (its condition name left out) and the
// node of an intrinsic function as one leaf.
func leaves(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil {
		return nil
	}
	if args := ifArgs(n); args != nil {
		return append(leaves(args[1]), leaves(args[2])...)
	}
	if n.Kind == yaml.SequenceNode && !isIntrinsic(n) {
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, leaves(c)...)
		}
		return out
	}
	if id, ok := ref(n); ok && id == "AWS::NoValue" {
		return nil
	}
	return []*yaml.Node{n}
}

func isIntrinsic(n *yaml.Node) bool {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		return k == "Ref" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// ifArgs returns the three arguments of !If / Fn::If.
func ifArgs(n *yaml.Node) []*yaml.Node {
	var args *yaml.Node
	switch {
	case n.Tag == "!If":
		args = n
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::If":
		args = deref(n.Content[1])
	default:
		return nil
	}
	if args.Kind != yaml.SequenceNode || len(args.Content) != 3 {
		return nil
	}
	return args.Content
}

// ref returns the logical id of !Ref X or {Ref: X}.
func ref(n *yaml.Node) (string, bool) {
	n = deref(n)
	switch {
	case n == nil:
		return "", false
	case n.Tag == "!Ref" && n.Kind == yaml.ScalarNode:
		return n.Value, true
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Ref":
		return n.Content[1].Value, true
	}
	return "", false
}

// getAtt returns the logical id and attribute of !GetAtt X.Attr,
// !GetAtt [X, Attr] or {Fn::GetAtt: [X, Attr]}.
func getAtt(n *yaml.Node) (string, string, bool) {
	n = deref(n)
	if n == nil {
		return "", "", false
	}
	var arg *yaml.Node
	switch {
	case n.Tag == "!GetAtt":
		arg = n
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::GetAtt":
		arg = deref(n.Content[1])
	default:
		return "", "", false
	}
	switch arg.Kind {
	case yaml.ScalarNode:
		id, attr, ok := strings.Cut(arg.Value, ".")
		return id, attr, ok
	case yaml.SequenceNode:
		if len(arg.Content) == 2 {
			return arg.Content[0].Value, arg.Content[1].Value, true
		}
	}
	return "", "", false
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// subText returns the template string of !Sub / Fn::Sub, or a plain
// scalar's text, so that names built from the stack name can be compared.
func subText(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return ""
	case n.Tag == "!Sub" && n.Kind == yaml.ScalarNode:
		return n.Value
	case n.Tag == "!Sub" && n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		return n.Content[0].Value
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::Sub":
		return subText(&yaml.Node{Kind: n.Content[1].Kind, Tag: "!Sub", Value: n.Content[1].Value, Content: n.Content[1].Content})
	}
	return scalar(n)
}

// refsIn returns the logical ids a value refers to through !Ref, !GetAtt
// or !Sub (pseudo parameters left out).
func refsIn(n *yaml.Node) []string {
	n = deref(n)
	if n == nil {
		return nil
	}
	if id, ok := ref(n); ok {
		return []string{id}
	}
	if id, _, ok := getAtt(n); ok {
		return []string{id}
	}
	if s := subText(n); s != "" && (n.Tag == "!Sub" || n.Kind == yaml.MappingNode) {
		var out []string
		for _, m := range subVar.FindAllStringSubmatch(s, -1) {
			id, _, _ := strings.Cut(m[1], ".")
			if !strings.HasPrefix(id, "AWS::") {
				out = append(out, id)
			}
		}
		return out
	}
	return nil
}
