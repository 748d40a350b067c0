package templatetest

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// The checks of the IAM policy statements.

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
