package templatetest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCfnLint runs cfn-lint, AWS's CloudFormation linter, which knows every
// resource type's schema, on template.yaml (it applies the SAM transform
// itself) and fails on any error, warning or informational finding.
// Without cfn-lint the test says so and skips; `pip install cfn-lint`
// installs it.
func TestCfnLint(t *testing.T) {
	t.Parallel()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed (pip install cfn-lint): template.yaml is not linted")
	}
	cmd := exec.Command(lint, "--format", "parseable", "--", filepath.Join(repo, "template.yaml"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("cfn-lint: %v", err)
	}
	if findings := strings.TrimSpace(string(out)); findings != "" || err != nil {
		t.Errorf("cfn-lint found problems in template.yaml (%v):\n%s\n%s", err, findings, stderr.String())
	}
}

// translate runs the AWS SAM translator on a template through
// scripts/sam-translate.py, or skips the test when Python or the
// samtranslator package is missing.
func translate(t *testing.T, template string) []byte {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the SAM translation is not checked")
	}
	cmd := exec.Command(python, filepath.Join(repo, "scripts/sam-translate.py"), template)
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=eu-west-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		t.Skipf("%s: the translated template is not checked", strings.TrimSpace(stderr.String()))
	case err != nil:
		t.Fatalf("the SAM translator refuses %s: %v\n%s", template, err, stderr.String())
	}
	return out
}

// TestTranslatedTemplate translates template.yaml as CloudFormation's SAM
// transform would, and applies the project's rules to the result, since
// that is what deploys: the schedules' and event source mappings' own
// resources, and the roles SAM adds for the schedules, must pass them too.
func TestTranslatedTemplate(t *testing.T) {
	t.Parallel()
	cfn := translate(t, filepath.Join(repo, "template.yaml"))
	problems, err := Check(cfn, readRepo(t, "Makefile"), repoOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("translated template.yaml %s", p)
	}
	// The transform must have made what the rules look at.
	d, err := Deploy(cfn, map[string]string{"TenantId": sampleGUID, "ClientId": sampleGUID, "GraphSecretArn": sampleSecret, "EventHubNamespace": "a.servicebus.windows.net"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Env) != 5 {
		t.Errorf("the translated template has %d functions, want 5", len(d.Env))
	}
	for _, want := range []string{`"AWS::Scheduler::Schedule"`, `"AWS::Lambda::EventSourceMapping"`, `"${AWS::StackName}-ingest"`, `"${AWS::StackName}-sweep"`} {
		if !bytes.Contains(cfn, []byte(want)) {
			t.Errorf("the translated template lacks %s", want)
		}
	}
}

// TestTranslatedFixtures checks that the rules find the same problems in a
// fixture's translation as in the fixture: a rule that only understood
// SAM's shorthand would pass every translated template.
func TestTranslatedFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"valid", "schedule-name", "batch-failures", "max-concurrency", "heartbeat-alarm", "event-source"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path, _ := filepath.Abs(filepath.Join("testdata", name+".yaml"))
			cfn := translate(t, path)
			mk, err := os.ReadFile(filepath.Join("testdata", "Makefile"))
			if err != nil {
				t.Fatal(err)
			}
			problems, err := Check(cfn, mk, fixtureOptions)
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, p := range problems {
				rules = append(rules, p.Rule)
			}
			if name == "valid" {
				if len(rules) != 0 {
					t.Errorf("translated valid.yaml: %v", problems)
				}
				return
			}
			found := false
			for _, r := range rules {
				found = found || r == name
			}
			if !found {
				t.Errorf("translated %s.yaml breaks %v, not %s", name, rules, name)
			}
		})
	}
}

// TestCfnLintCovers runs cfn-lint on the templates of testdata/cfnlint,
// each broken in a way the project's rules used to check and cfn-lint now
// does, and expects the finding its first line names ("# cfn-lint E3502").
func TestCfnLintCovers(t *testing.T) {
	t.Parallel()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not installed (pip install cfn-lint)")
	}
	files, err := filepath.Glob("testdata/cfnlint/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/cfnlint templates: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, code, ok := strings.Cut(string(b), "# cfn-lint ")
		if !ok {
			t.Fatalf("%s names no expected cfn-lint finding", f)
		}
		code = strings.Fields(code)[0]
		out, _ := exec.Command(lint, "--format", "parseable", "--", f).Output()
		if !strings.Contains(string(out), ":"+code+":") {
			t.Errorf("cfn-lint does not report %s on %s:\n%s", code, f, out)
		}
	}
}
