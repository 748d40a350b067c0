package templatetest

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The checks of each function: runtime, build, role, event sources, log
// group, alarm and environment.

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
