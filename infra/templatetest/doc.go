// Package templatetest checks credres's AWS SAM template (template.yaml)
// against the project's own rules, the ones a broken deployment would
// otherwise teach the hard way. What any template must satisfy (resource
// schemas, property values, FIFO dead-letter queues for FIFO queues, ...)
// is cfn-lint's job: the package's tests run cfn-lint on template.yaml and
// fail on any finding, and run the project's rules both on the template and
// on the CloudFormation the AWS SAM translator makes of it
// (scripts/sam-translate.py), since that is what deploys. Where cfn-lint or
// the translator is not installed, those tests say so and skip.
//
// The template is parsed with yaml.v3 into yaml.Node trees, which keep
// CloudFormation's short tags (!Ref, !GetAtt, !Sub, !If) and every line
// number, and Check walks them; the translated template's JSON is read the
// same way, with its long-form intrinsics.
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
// function may; every schedule is named after the stack; every queue alarms
// on the age of its oldest message, and the functions that must keep
// running alarm on missing invocations. Each Problem names the rule, the
// resource and the template line.
//
// Deploy evaluates the template's parameters, Rules and Conditions for a
// set of parameter values, and the environment each function would get, so
// that a test can compare what a deployment refuses with what the
// functions refuse at start-up.
//
// The package's tests apply Check to the repository's template and
// Makefile, and to small broken templates in testdata/, one per rule.
package templatetest
