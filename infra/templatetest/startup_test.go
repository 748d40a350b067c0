package templatetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/wiring"
)

// startupError builds a function's stages from the environment the
// template gives it, as the function's main does before its first event,
// without the network: what it returns is what the function would refuse
// at start-up (Lambda reports an init error, and every invocation fails).
func startupError(t *testing.T, function string, env map[string]string) error {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	e, err := wiring.Load(context.Background(), getenv)
	if err != nil {
		t.Fatalf("wiring.Load: %v", err)
	}
	switch function {
	case "IngestFunction":
		if _, _, err := e.Ingest(); err != nil {
			return err
		}
		_, err = wiring.HubConfig(getenv)
		return err
	case "EvaluateFunction":
		_, err = e.Evaluate(nil)
		return err
	case "NudgeFunction":
		sender, err := e.NudgeSender(noMail{}, noTokens{})
		if err != nil {
			return err
		}
		_, err = e.Nudge(sender)
		return err
	case "TicketFunction":
		sender, err := e.TicketSender()
		if err != nil {
			return err
		}
		_, err = e.Ticket(sender)
		return err
	case "SweepFunction":
		_, err = e.Sweep(nil)
		return err
	}
	t.Fatalf("no start-up for %s", function)
	return nil
}

type noMail struct{}

func (noMail) SendMail(context.Context, string, model.Mail) error { return errors.New("not sent") }

type noTokens struct{}

func (noTokens) Token(context.Context) (string, error) { return "", errors.New("no token") }

// Sample parameter values, valid unless named otherwise.
const (
	sampleSecret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/x-AbCdEf"
	sampleGUID   = "00000000-0000-4000-8000-000000000001"
	// The Event Hubs app registration and its credential's secret.
	sampleHubGUID   = "00000000-0000-4000-8000-000000000002"
	sampleHubSecret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:credres/eventhubs-AbCdEf"
)

// startupScenarios vary the parameters whose combinations the code checks
// at start-up, each over values that matter; every combination of a
// scenario's values is tried. The other parameters keep their defaults.
var startupScenarios = []struct {
	name   string
	params map[string][]string
}{
	{"event-hubs", map[string][]string{
		"EventHubNamespace": {"", "contoso-audit.servicebus.windows.net", "contoso-audit.servicebus.usgovcloudapi.net"},
		"EventHubSecretArn": {"", sampleSecret},
		"EventHubStartAt":   {"earliest", "latest"},
	}},
	{"event-hubs-credential", map[string][]string{
		"EventHubSecretArn":           {"", sampleSecret},
		"EventHubClientId":            {"", sampleHubGUID},
		"EventHubCredentialSecretArn": {"", sampleHubSecret},
	}},
	{"mail-and-teams", map[string][]string{
		"MailSender":  {"", "credres@contoso.example", sampleGUID},
		"TeamsNudges": {"false", "true"},
		"TeamsWebUrl": {"", "https://teams.microsoft.com/l/entity/x"},
		"DryRun":      {"false", "true"},
	}},
	{"servicenow", map[string][]string{
		"TicketChannel":       {"servicenow"},
		"ServiceNowUrl":       {"", "https://contoso.service-now.com"},
		"ServiceNowSecretArn": {"", sampleSecret},
		"DryRun":              {"false", "true"},
	}},
	{"jira", map[string][]string{
		"TicketChannel":      {"jira"},
		"JiraUrl":            {"", "https://contoso.atlassian.net"},
		"JiraProject":        {"", "SEC"},
		"JiraDoneTransition": {"", "31"},
		"JiraSecretArn":      {"", sampleSecret},
		"DryRun":             {"false", "true"},
	}},
	{"webhook", map[string][]string{
		"TicketChannel":       {"webhook"},
		"WebhookUrlSecretArn": {"", sampleSecret},
		"WebhookSecretArn":    {"", sampleSecret},
		"DryRun":              {"false", "true"},
	}},
	{"security-team", map[string][]string{
		"SecurityTicketChannel":             {"", "sqs", "servicenow", "jira", "webhook"},
		"ServiceNowUrl":                     {"", "https://contoso.service-now.com"},
		"ServiceNowSecretArn":               {sampleSecret},
		"SecurityServiceNowAssignmentGroup": {"", "Security Operations"},
		"JiraUrl":                           {"https://contoso.atlassian.net"},
		"SecurityJiraProject":               {"", "SEC"},
		"JiraDoneTransition":                {"31"},
		"JiraSecretArn":                     {sampleSecret},
		"SecurityWebhookUrlSecretArn":       {"", sampleSecret},
		"WebhookSecretArn":                  {sampleSecret},
		"DryRun":                            {"false", "true"},
	}},
	{"graph-url", map[string][]string{
		"GraphUrl":   {"https://graph.microsoft.com/v1.0", "https://graph.microsoft.us/v1.0", "http://graph.microsoft.com/v1.0", "graph.microsoft.com", "https://graph.microsoft.com/v1.0?x=1"},
		"MailSender": {"credres@contoso.example"},
	}},
	{"sweep-max-age", map[string][]string{
		"SweepMaxAge": {"7d", "36h", "1d12h", "0d", "0s", "seven days", "-1h"},
	}},
	{"password-auth", map[string][]string{
		"PasswordAuth": {"cloud", "phs", "pta", "federated", "adfs"},
		"PHSFallback":  {"false", "true", "maybe"},
	}},
}

// combinations returns every assignment of one value to each parameter.
func combinations(params map[string][]string) []map[string]string {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []map[string]string{{}}
	for _, n := range names {
		var next []map[string]string
		for _, c := range out {
			for _, v := range params[n] {
				m := map[string]string{n: v}
				for k, w := range c {
					m[k] = w
				}
				next = append(next, m)
			}
		}
		out = next
	}
	return out
}

// TestRulesAgreeWithStartUp keeps the template's deploy-time checks (the
// parameters' AllowedValues and AllowedPattern, and its Rules) in step with
// what the functions refuse at start-up: every combination the code would
// refuse, the deployment refuses, so that no deployment succeeds only to
// fail every minute; and every combination the deployment refuses, the
// code would refuse too, so that the Rules forbid nothing that works.
func TestRulesAgreeWithStartUp(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	template := readRepo(t, "template.yaml")
	base := map[string]string{
		"TenantId": sampleGUID, "ClientId": sampleGUID, "GraphSecretArn": sampleSecret,
		"EventHubNamespace": "contoso-audit.servicebus.windows.net",
		"EventHubClientId":  sampleHubGUID, "EventHubCredentialSecretArn": sampleHubSecret,
	}
	tried := 0
	for _, sc := range startupScenarios {
		for _, combo := range combinations(sc.params) {
			params := map[string]string{}
			for k, v := range base {
				params[k] = v
			}
			for k, v := range combo {
				params[k] = v
			}
			d, err := Deploy(template, params)
			if err != nil {
				t.Fatalf("%s %v: %v", sc.name, combo, err)
			}
			var refusals []string
			if len(d.Refused) == 0 {
				for fn, env := range d.Env {
					if err := startupError(t, fn, env); err != nil {
						refusals = append(refusals, fmt.Sprintf("%s: %v", fn, err))
					}
				}
			} else {
				// Refused at deployment: would the code have refused it too?
				// Evaluate the environments without the refusal.
				for fn, env := range d.Env {
					if err := startupError(t, fn, env); err != nil {
						refusals = append(refusals, fmt.Sprintf("%s: %v", fn, err))
					}
				}
			}
			tried++
			switch deployRefused, codeRefused := len(d.Refused) > 0, len(refusals) > 0; {
			case codeRefused && !deployRefused:
				t.Errorf("%s %v: the deployment goes ahead, but the functions refuse to start:\n  %s", sc.name, combo, strings.Join(refusals, "\n  "))
			case deployRefused && !codeRefused:
				t.Errorf("%s %v: the deployment is refused (%s), but the functions would start", sc.name, combo, strings.Join(d.Refused, "; "))
			}
		}
	}
	t.Logf("%d combinations of parameters tried", tried)
}

// TestIngestNeverHoldsTheGraphCredential: ingest parses untrusted stream
// data and reads no Graph, so in either mode of Event Hubs authentication
// its environment names no Graph app or credential and its role grants no
// Graph secret; the webhook URL, which may carry a token, reaches ticket
// only through its secret.
func TestIngestNeverHoldsTheGraphCredential(t *testing.T) {
	t.Parallel()
	template := readRepo(t, "template.yaml")
	for _, mode := range []map[string]string{
		{"EventHubClientId": sampleHubGUID, "EventHubCredentialSecretArn": sampleHubSecret},
		{"EventHubSecretArn": sampleHubSecret},
	} {
		params := map[string]string{"TenantId": sampleGUID, "ClientId": sampleGUID, "GraphSecretArn": sampleSecret,
			"EventHubNamespace": "a.servicebus.windows.net", "TicketChannel": "webhook",
			"WebhookUrlSecretArn": sampleSecret, "WebhookSecretArn": sampleSecret}
		for k, v := range mode {
			params[k] = v
		}
		d, err := Deploy(template, params)
		if err != nil || len(d.Refused) != 0 {
			t.Fatalf("%v: %v %v", mode, err, d.Refused)
		}
		for k, v := range d.Env["IngestFunction"] {
			if v == sampleSecret || v == sampleGUID && k != "AZURE_TENANT_ID" && k != "CREDRES_TENANT_ID" {
				t.Errorf("%v: ingest is given %s=%s, the Graph app's", mode, k, v)
			}
		}
		ticket := d.Env["TicketFunction"]
		if _, set := ticket["CREDRES_WEBHOOK_URL"]; set || ticket["CREDRES_WEBHOOK_URL_SECRET"] != sampleSecret {
			t.Errorf("ticket's webhook URL: %q, its secret %q", ticket["CREDRES_WEBHOOK_URL"], ticket["CREDRES_WEBHOOK_URL_SECRET"])
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		t.Fatal(err)
	}
	role := get(get(doc.Content[0], "Resources"), "IngestRole")
	if role == nil {
		t.Fatal("no IngestRole")
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.Tag == "!Ref" && (n.Value == "GraphSecretArn" || n.Value == "ClientId") {
			t.Errorf("IngestRole line %d refers to %s", n.Line, n.Value)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(role)
}

// TestDeployEvaluates checks Deploy itself on the repository's template:
// defaults, conditions and the refusals of a missing required parameter.
func TestDeployEvaluates(t *testing.T) {
	t.Parallel()
	template := readRepo(t, "template.yaml")
	d, err := Deploy(template, map[string]string{"TenantId": sampleGUID, "ClientId": sampleGUID, "GraphSecretArn": sampleSecret, "EventHubNamespace": "a.servicebus.windows.net",
		"EventHubClientId": sampleHubGUID, "EventHubCredentialSecretArn": sampleHubSecret})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Refused) != 0 {
		t.Fatalf("refused: %v", d.Refused)
	}
	ingest := d.Env["IngestFunction"]
	if got := ingest["CREDRES_EVALUATE_QUEUE_URL"]; got != "<EvaluateQueue>" {
		t.Errorf("ingest's evaluate queue = %q", got)
	}
	if _, set := ingest["CREDRES_EVENTHUB_CONNECTION_SECRET_ARN"]; set {
		t.Error("the connection-string secret is set without EventHubSecretArn")
	}
	if ingest["CREDRES_EVENTHUB_CLIENT_ID"] != sampleHubGUID || ingest["CREDRES_EVENTHUB_CREDENTIAL_SECRET_ARN"] != sampleHubSecret {
		t.Errorf("ingest in Entra mode reads the Event Hubs app %q with %q", ingest["CREDRES_EVENTHUB_CLIENT_ID"], ingest["CREDRES_EVENTHUB_CREDENTIAL_SECRET_ARN"])
	}
	d, err = Deploy(template, map[string]string{"TenantId": "not-a-guid"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ClientId: no value", "GraphSecretArn: no value", "TenantId: \"not-a-guid\" does not match", "rule EventHubsAddress", "rule EventHubsCredential"}
	for _, w := range want {
		if !strings.Contains(strings.Join(d.Refused, "\n"), w) {
			t.Errorf("refusals %q lack %q", d.Refused, w)
		}
	}
	if _, err := Deploy(template, map[string]string{"NoSuchParameter": "x"}); err == nil {
		t.Error("Deploy accepted an unknown parameter")
	}
}
