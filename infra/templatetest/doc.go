// Package templatetest checks credres's AWS SAM template (template.yaml)
// against the rules the deployment depends on, without a SAM validator: the
// template is parsed with yaml.v3 into yaml.Node trees, which keep
// CloudFormation's short tags (!Ref, !GetAtt, !Sub, !If) and every line
// number, and Check walks them.
//
// The rules are the ones a broken deployment would otherwise teach the hard
// way: every function is a provided.al2023 arm64 bootstrap built by a
// Makefile target of its own; every SQS source reports partial batch
// failures and redrives to a dead-letter queue; every dead-letter queue and
// every function has an alarm; IAM names each action and resource (no
// wildcards, no managed policies or SAM policy templates whose actions a
// reader cannot see), and a function may write only to its own log group;
// every environment variable is one the code reads and none carries a
// secret; a function may read (secretsmanager:GetSecretValue) exactly the
// secrets its environment names, under the same !If conditions, and no other
// function may. Each Problem names the rule, the resource and the template
// line.
//
// The package's tests apply Check to the repository's template and
// Makefile, and to small broken templates in testdata/, one per rule.
package templatetest
