package templatetest

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Rules about running the stack rather than deploying it: what a second
// stack in the same account needs, and what must alarm before something is
// lost without a word.
const (
	RuleScheduleName  = "schedule-name"   // a schedule without a Name of its own stack
	RuleQueueAgeAlarm = "queue-age-alarm" // a queue without an alarm on its oldest message's age, or one that fires too late
	RuleHeartbeat     = "heartbeat-alarm" // a function that must run without an alarm on missing invocations
)

// checkOperations applies the rules above.
func (t *tpl) checkOperations() {
	t.checkScheduleNames()
	t.checkQueueAgeAlarms()
	t.checkHeartbeats()
}

// checkScheduleNames requires every EventBridge Scheduler schedule to be
// named after the stack. Without a Name, SAM names a ScheduleV2 event
// <Function><Event> in the account's default schedule group, so a second
// stack in the same account and region (a test stack, a second tenant)
// fails on a name the first one holds.
func (t *tpl) checkScheduleNames() {
	check := func(owner string, line int, props *yaml.Node) {
		k, v := entry(props, "Name")
		switch {
		case v == nil:
			t.fail(RuleScheduleName, owner, line, "the schedule has no Name: SAM would name it after its logical id in the default schedule group, where a second stack's schedule collides with it")
		case !strings.Contains(subText(v), "${AWS::StackName}"):
			t.fail(RuleScheduleName, owner, k.Line, "the schedule's Name %q does not contain ${AWS::StackName}: a second stack's schedule would collide with it", describe(v))
		}
	}
	for _, fn := range t.functions() {
		events := get(fn.props, "Events")
		if events == nil || events.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(events.Content); i += 2 {
			name, ev := events.Content[i], events.Content[i+1]
			if scalar(get(ev, "Type")) == "ScheduleV2" {
				check(fn.id, name.Line, get(ev, "Properties"))
			}
		}
	}
	for _, s := range t.ofType("AWS::Scheduler::Schedule") {
		check(s.id, s.line, s.props)
	}
}

// checkQueueAgeAlarms requires an ApproximateAgeOfOldestMessage alarm on
// every queue that is not a dead-letter queue (those have depth alarms),
// firing by half the queue's retention at the latest: SQS deletes a
// message at the end of its retention without a word, so a queue nobody
// consumes would otherwise lose everything quietly.
func (t *tpl) checkQueueAgeAlarms() {
	for _, q := range t.ofType("AWS::SQS::Queue") {
		if t.isDeadLetterQueue(q) {
			continue
		}
		retention := 345600 // SQS's default, 4 days
		if v := get(q.props, "MessageRetentionPeriod"); v != nil {
			retention = intOf(v, retention)
		}
		var alarm *resource
		for _, a := range t.ofType("AWS::CloudWatch::Alarm") {
			if scalar(get(a.props, "Namespace")) != "AWS/SQS" || scalar(get(a.props, "MetricName")) != "ApproximateAgeOfOldestMessage" {
				continue
			}
			if id, attr, ok := getAtt(dimension(a, "QueueName")); ok && id == q.id && attr == "QueueName" {
				alarm = a
				break
			}
		}
		if alarm == nil {
			t.fail(RuleQueueAgeAlarm, q.id, q.line, "no ApproximateAgeOfOldestMessage alarm: messages nobody consumes expire after %d s unnoticed", retention)
			continue
		}
		tk, tv := entry(alarm.props, "Threshold")
		line := alarm.line
		if tk != nil {
			line = tk.Line
		}
		threshold := intOf(tv, -1)
		if op := scalar(get(alarm.props, "ComparisonOperator")); op != "GreaterThanThreshold" && op != "GreaterThanOrEqualToThreshold" {
			t.fail(RuleQueueAgeAlarm, alarm.id, alarm.line, "ComparisonOperator %q: an age alarm fires when the age grows above its threshold", op)
		}
		if threshold < 0 || 2*threshold > retention {
			t.fail(RuleQueueAgeAlarm, alarm.id, line, "Threshold %s s is not at most half of %s's retention of %d s: the alarm would fire too late to act before messages expire", describe(tv), q.id, retention)
		}
	}
}

// isDeadLetterQueue reports whether a queue receives another queue's
// failures, or is named as the application's own dead-letter queue.
func (t *tpl) isDeadLetterQueue(q *resource) bool {
	if strings.HasSuffix(q.id, "DeadLetterQueue") {
		return true
	}
	for _, o := range t.ofType("AWS::SQS::Queue") {
		if id, _, ok := getAtt(get(get(o.props, "RedrivePolicy"), "deadLetterTargetArn")); ok && id == q.id {
			return true
		}
	}
	return false
}

// checkHeartbeats requires, for each function the project names as one
// that must keep running (Options.MustRun), an alarm on its Invocations
// that treats missing data as breaching: a function that is not invoked at
// all reports no data, and an alarm that ignores missing data never fires.
func (t *tpl) checkHeartbeats() {
	for _, id := range t.opt.MustRun {
		fn := t.resources[id]
		if fn == nil {
			t.fail(RuleHeartbeat, id, t.resLine, "no function %s, which must keep running", id)
			continue
		}
		found := false
		for _, a := range t.ofType("AWS::CloudWatch::Alarm") {
			if scalar(get(a.props, "Namespace")) != "AWS/Lambda" || scalar(get(a.props, "MetricName")) != "Invocations" {
				continue
			}
			if fid, ok := ref(dimension(a, "FunctionName")); !ok || fid != fn.id {
				continue
			}
			found = true
			if m := scalar(get(a.props, "TreatMissingData")); m != "breaching" {
				t.fail(RuleHeartbeat, a.id, a.line, "TreatMissingData is %q, want breaching: a function that never runs reports no invocations at all", m)
			}
			if op := scalar(get(a.props, "ComparisonOperator")); op != "LessThanThreshold" {
				t.fail(RuleHeartbeat, a.id, a.line, "ComparisonOperator %q, want LessThanThreshold (fewer invocations than expected)", op)
			}
		}
		if !found {
			t.fail(RuleHeartbeat, fn.id, fn.line, "no AWS/Lambda Invocations alarm: nothing notices when the function stops running")
		}
	}
}

// The function types: a SAM template's, and CloudFormation's after the SAM
// transform.
const (
	samFunction    = "AWS::Serverless::Function"
	lambdaFunction = "AWS::Lambda::Function"
)

// functions returns the template's functions, of either type.
func (t *tpl) functions() []*resource {
	var out []*resource
	for _, r := range t.order {
		if r.typ == samFunction || r.typ == lambdaFunction {
			out = append(out, r)
		}
	}
	return out
}

// event is one way a function is invoked: a SAM event, or, after the
// transform, the event source mapping or schedule SAM made of it.
type event struct {
	name  *yaml.Node // the SAM event's key, or the resource's
	kind  string     // SQS, ScheduleV2, ...
	props *yaml.Node
}

// eventsOf returns what invokes a function: its Events, or the event
// source mappings and schedules of the translated template that name it.
func (t *tpl) eventsOf(fn *resource) []event {
	var out []event
	if events := get(fn.props, "Events"); events != nil && events.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(events.Content); i += 2 {
			ev := events.Content[i+1]
			out = append(out, event{name: events.Content[i], kind: scalar(get(ev, "Type")), props: get(ev, "Properties")})
		}
	}
	names := func(n *yaml.Node) bool {
		if id, ok := ref(n); ok {
			return id == fn.id
		}
		id, _, ok := getAtt(n)
		return ok && id == fn.id
	}
	for _, r := range t.order {
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: r.id, Line: r.line}
		switch r.typ {
		case "AWS::Lambda::EventSourceMapping":
			if !names(get(r.props, "FunctionName")) {
				continue
			}
			kind := "EventSourceMapping"
			if id, _, ok := getAtt(get(r.props, "EventSourceArn")); ok && t.resources[id] != nil && t.resources[id].typ == "AWS::SQS::Queue" {
				kind = "SQS"
			}
			out = append(out, event{name: key, kind: kind, props: r.props})
		case "AWS::Scheduler::Schedule":
			if names(get(get(r.props, "Target"), "Arn")) {
				out = append(out, event{name: key, kind: "ScheduleV2", props: r.props})
			}
		}
	}
	return out
}
