package templatetest

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// The checks of the queues: dead-letter queues and their alarms.

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
