package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a runner that records the commands instead of running them.
type recorder struct {
	have  map[string]bool
	calls [][]string
	out   string // what a command prints
}

func (r *recorder) lookPath(name string) (string, error) {
	if r.have[name] {
		return "/usr/bin/" + name, nil
	}
	return "", errors.New("not found")
}

func (r *recorder) run(stdout, _ io.Writer, name string, args ...string) error {
	r.calls = append(r.calls, append([]string{name}, args...))
	io.WriteString(stdout, r.out)
	return nil
}

// filled is the example configuration with every placeholder filled in.
func filled(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../samconfig.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, new := range map[string]string{
		"<aws region, e.g. eu-west-1>":                          "eu-west-1",
		"<tenant id, a GUID>":                                   "00000000-0000-4000-8000-000000000001",
		"<application (client) id, a GUID>":                     "00000000-0000-4000-8000-000000000002",
		"<arn:aws:secretsmanager:...>":                          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/graph-AbCdEf",
		"<namespace host>":                                      "contoso-credres-audit.servicebus.windows.net",
		"<arn:aws:secretsmanager:... of the connection string>": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/eventhubs-AbCdEf",
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("samconfig.toml.example no longer holds %q", old)
		}
		s = strings.ReplaceAll(s, old, new)
	}
	return s
}

func deployWith(t *testing.T, config string, r runner, extra ...string) (int, string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "samconfig.toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{"aws", "--config", path, "--template", "../../template.yaml"}, extra...)
	code := run(args, &stdout, &stderr, r)
	return code, stdout.String(), stderr.String()
}

func TestAWSDryRunPrintsTheCommands(t *testing.T) {
	t.Parallel()
	code, out, errOut := deployWith(t, filled(t), &recorder{}, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"+ sam build --config-file ", " --template-file ../../template.yaml\n", "+ sam deploy --config-file "} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not print %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--build-in-source") {
		t.Errorf("build_in_source is in the configuration; the flag is redundant:\n%s", out)
	}
}

func TestAWSRunsSAM(t *testing.T) {
	t.Parallel()
	r := &recorder{have: map[string]bool{"sam": true}}
	code, out, errOut := deployWith(t, filled(t), r)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "bin/credres doctor --outputs outputs.json") || !strings.Contains(out, "--stack-name credres ") {
		t.Errorf("no pointer to credres doctor after deploying:\n%s", out)
	}
	if len(r.calls) != 2 || r.calls[0][1] != "build" || r.calls[1][1] != "deploy" {
		t.Errorf("ran %q, want sam build then sam deploy", r.calls)
	}
	// Without sam, a clear message and nothing run.
	r = &recorder{}
	code, _, errOut = deployWith(t, filled(t), r)
	if code != 1 || !strings.Contains(errOut, "the AWS SAM CLI (1.104 or later) is not installed") || len(r.calls) != 0 {
		t.Errorf("exit %d, ran %q: %s", code, r.calls, errOut)
	}
}

func TestAWSRefuses(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile("../../samconfig.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"the-example-unchanged", string(example), []string{
			"region is not set", `TenantId is still the example's placeholder`, `ClientId is still`, `GraphSecretArn is still`, `EventHubNamespace is still`,
			`EventHubSecretArn is still`,
		}},
		{"no-event-hubs-credential", strings.Replace(filled(t), `"EventHubSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/eventhubs-AbCdEf",`, "", 1), []string{"rule EventHubsCredential: Give EventHubSecretArn"}},
		{"event-hubs-with-the-graph-secret", strings.Replace(filled(t), "secret:credres/eventhubs-AbCdEf", "secret:credres/graph-AbCdEf", 1), []string{"EventHubSecretArn is GraphSecretArn"}},
		{"event-hubs-as-the-graph-app", strings.Replace(filled(t), `"EventHubSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/eventhubs-AbCdEf",`,
			`"EventHubClientId=00000000-0000-4000-8000-000000000002", "EventHubCredentialSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/graph-AbCdEf",`, 1),
			[]string{"EventHubCredentialSecretArn is GraphSecretArn", "EventHubClientId is ClientId"}},
		{"no-tenant", strings.Replace(filled(t), `"TenantId=00000000-0000-4000-8000-000000000001",`, "", 1), []string{"parameter TenantId: no value and no default"}},
		{"tenant-not-a-guid", strings.Replace(filled(t), "TenantId=00000000-0000-4000-8000-000000000001", "TenantId=contoso.onmicrosoft.com", 1), []string{`parameter TenantId: "contoso.onmicrosoft.com" does not match its AllowedPattern`}},
		// Without a connection string to name it, the namespace is required.
		{"no-event-hubs-address", strings.NewReplacer(`"EventHubNamespace=contoso-credres-audit.servicebus.windows.net",`, "",
			`"EventHubSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/eventhubs-AbCdEf",`,
			`"EventHubClientId=00000000-0000-4000-8000-000000000009", "EventHubCredentialSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/eventhubs-app-AbCdEf",`).Replace(filled(t)),
			[]string{"rule EventHubsAddress: Give EventHubNamespace"}},
		{"jira-without-settings", strings.Replace(filled(t), `"DryRun=false",`, `"DryRun=false", "TicketChannel=jira",`, 1), []string{"rule JiraSettings: TicketChannel=jira needs JiraUrl."}},
		{"teams-without-sender", strings.Replace(filled(t), `"DryRun=false",`, `"DryRun=false", "TeamsNudges=true",`, 1), []string{"rule TeamsNeedsMailSender"}},
		{"no-capabilities", strings.Replace(filled(t), `capabilities = "CAPABILITY_IAM"`, "", 1), []string{"capabilities must include CAPABILITY_IAM"}},
		{"long-stack-name", strings.Replace(filled(t), `stack_name = "credres"`, `stack_name = "`+strings.Repeat("x", 51)+`"`, 1), []string{"stack_name"}},
		{"unknown-parameter", strings.Replace(filled(t), `"DryRun=false",`, `"DryRun=false", "Tenant=x",`, 1), []string{"the template has no parameter Tenant"}},
		{"not-toml", "[default.deploy.parameters\n", []string{"line 1"}},
		{"bad-policy", strings.Replace(filled(t), `"DryRun=false",`, `"DryRun=false", 'PolicyYaml={"tiers": [{"name": "x", "minDiversity": "two"}]}',`, 1), []string{"PolicyYaml: "}},
		{"policy-too-long", strings.Replace(filled(t), `"DryRun=false",`, `"DryRun=false", "PolicyYaml=`+longPolicy+`",`, 1), []string{"EvaluateFunction's environment would take about", "over Lambda's 4096"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{have: map[string]bool{"sam": true}}
			code, out, errOut := deployWith(t, tc.config, r)
			if code != 1 || len(r.calls) != 0 || out != "" {
				t.Errorf("exit %d, ran %q, printed %q", code, r.calls, out)
			}
			if !strings.Contains(errOut, "refusing to deploy") {
				t.Errorf("no refusal: %s", errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("the refusal does not say %q:\n%s", w, errOut)
				}
			}
		})
	}
	code, _, errOut := func() (int, string, string) {
		var stdout, stderr bytes.Buffer
		return run([]string{"aws", "--config", filepath.Join(t.TempDir(), "samconfig.toml")}, &stdout, &stderr, &recorder{}), stdout.String(), stderr.String()
	}()
	if code != 1 || !strings.Contains(errOut, "cp samconfig.toml.example") {
		t.Errorf("a missing configuration: exit %d: %s", code, errOut)
	}
}

// longPolicy is a valid policy in one line, padded past Lambda's 4 KB.
var longPolicy = `{\"tiers\": [{\"name\": \"` + strings.Repeat("x", 4000) + `\", \"match\": {\"all\": true}, \"minDiversity\": 2}]}`

func TestAWSAcceptsAValidPolicy(t *testing.T) {
	t.Parallel()
	config := strings.Replace(filled(t), `"DryRun=false",`, `"DryRun=false", 'PolicyYaml={"tiers": [{"name": "all", "match": {"all": true}, "minDiversity": 2, "onViolation": "nudge"}]}',`, 1)
	if code, _, errOut := deployWith(t, config, &recorder{}, "--dry-run"); code != 0 {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

func TestAzure(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run([]string{"azure", "--resource-group", "rg-credres", "--location", "westeurope", "--namespace", "contoso-credres-audit",
		"--create-app", "credres", "--dry-run"}, &stdout, &stderr, &recorder{})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{
		"+ infra/grant-graph-permissions.sh --create credres\n",
		"+ az group create --name rg-credres --location westeurope\n",
		"+ az deployment group create --resource-group rg-credres --name credres --template-file infra/main.bicep --parameters namespaceName=contoso-credres-audit\n",
		"+ infra/entra-diagnostic-setting.sh --rule-id '$(az deployment group show",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the dry run lacks %q:\n%s", want, stdout.String())
		}
	}
	// A real run reads the rule id from the deployment before the script.
	r := &recorder{have: map[string]bool{"az": true}, out: "/subscriptions/s/resourceGroups/rg-credres/providers/Microsoft.EventHub/namespaces/contoso-credres-audit/authorizationRules/entra-diagnostics\n"}
	code = run([]string{"azure", "--resource-group", "rg-credres", "--location", "westeurope", "--namespace", "contoso-credres-audit",
		"--app-id", "00000000-0000-4000-8000-000000000002", "--receiver-principal-id", "00000000-0000-4000-8000-000000000003"}, &stdout, &stderr, r)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got []string
	for _, c := range r.calls {
		got = append(got, strings.Join(c, " "))
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{
		"infra/grant-graph-permissions.sh --app-id 00000000-0000-4000-8000-000000000002",
		"namespaceName=contoso-credres-audit receiverPrincipalId=00000000-0000-4000-8000-000000000003",
		"infra/entra-diagnostic-setting.sh --rule-id /subscriptions/s/resourceGroups/rg-credres/providers/Microsoft.EventHub/namespaces/contoso-credres-audit/authorizationRules/entra-diagnostics",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("ran:\n%s\nwant %q", joined, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"azure"}, "--resource-group is required (make deploy-azure RESOURCE_GROUP=...)"},
		{[]string{"azure", "--resource-group", "g", "--location", "l", "--namespace", "ns"}, "give exactly one of --app-id"},
		{[]string{"azure", "--resource-group", "g", "--location", "l", "--namespace", "n_s!", "--app-id", "x"}, `--namespace "n_s!"`},
		{[]string{"azure", "--resource-group", "g", "--location", "l", "--namespace", "contoso-ns", "--app-id", "x"}, `--app-id "x" is not a GUID`},
	} {
		stderr.Reset()
		r := &recorder{have: map[string]bool{"az": true}}
		if code := run(tc.args, &stdout, &stderr, r); code != 1 || len(r.calls) != 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, ran %q: %s", tc.args, code, r.calls, stderr.String())
		}
	}
}

func TestParseSAMConfig(t *testing.T) {
	t.Parallel()
	cfg, err := parseSAMConfig(`
version = 0.1 # a number
[default.deploy.parameters]
stack_name = "credres" # a comment
confirm = false
literal = 'a "quoted" #not-a-comment'
list = [
  "A=1", # one
  'B={"x": "y # z"}',
]
inline = ["C=3"]
`)
	if err != nil {
		t.Fatal(err)
	}
	d := cfg["default.deploy.parameters"]
	if d["stack_name"] != "credres" || d["confirm"] != false || d["literal"] != `a "quoted" #not-a-comment` {
		t.Errorf("scalars: %#v", d)
	}
	if l := d["list"].([]string); len(l) != 2 || l[1] != `B={"x": "y # z"}` {
		t.Errorf("list: %q", l)
	}
	if l := d["inline"].([]string); len(l) != 1 || l[0] != "C=3" {
		t.Errorf("inline: %q", l)
	}
	for _, bad := range []string{"a = ", "a = [\"x\"", "[t\n", "a = \"x", "a = 1\na = 2", "a = bare"} {
		if _, err := parseSAMConfig(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
