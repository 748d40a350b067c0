package templatetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/credres/credres/pkg/pipeline"
	"github.com/credres/credres/pkg/wiring"
)

const repo = "../.."

// envName matches the names of environment variable constants: EnvX, or
// envX when unexported.
var envName = regexp.MustCompile(`^[Ee]nv[A-Z]`)

// envConstants reads the environment variable constants of the packages
// that read the functions' environment, keyed "pkg.Name": pkg/wiring, the
// one package that reads it (the pipeline settings; in channels.go the
// delivery channels'; in azure.go the app credential's, Graph's and Event
// Hubs'). It parses the source, so that every constant named Env… counts,
// exported or not.
func envConstants(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"pkg/wiring"} {
		pkg := filepath.Base(dir)
		files, err := filepath.Glob(filepath.Join(repo, dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatalf("parse %s: %v", f, err)
			}
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if !envName.MatchString(name.Name) || i >= len(vs.Values) {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatalf("%s: %s: %v", f, name.Name, err)
						}
						out[pkg+"."+name.Name] = v
					}
				}
			}
		}
	}
	return out
}

// repoOptions says what the code expects of template.yaml.
func repoOptions(t *testing.T) Options {
	t.Helper()
	consts := envConstants(t)
	name := func(key string) string {
		v, ok := consts[key]
		if !ok {
			t.Fatalf("%s is not defined: the template's settings no longer match the code", key)
		}
		return v
	}
	// The imported constants are checked by the compiler; the parsed ones
	// must agree with them.
	for key, compiled := range map[string]string{
		"wiring.EnvStateTable": wiring.EnvStateTable, "wiring.EnvDryRun": wiring.EnvDryRun,
		"wiring.EnvMailSender": wiring.EnvMailSender, "wiring.EnvGraphURL": wiring.EnvGraphURL,
	} {
		if got := name(key); got != compiled {
			t.Fatalf("parsed %s = %q, compiled %q", key, got, compiled)
		}
	}
	// Each variable has one name: pkg/wiring alone reads the environment, so
	// a setting the Graph client and the app credential share is one constant.
	known := map[string]bool{}
	for _, v := range consts {
		known[v] = true
	}
	// The app registration's credential (pkg/azcred), for Graph; Event
	// Hubs in Entra mode has an app registration of its own.
	app := []string{name("wiring.EnvAzureTenantID"), name("wiring.EnvAzureClientID"), name("wiring.EnvGraphSecretARN")}
	hubApp := []string{name("wiring.EnvAzureTenantID"), name("wiring.EnvEventHubClientID"), name("wiring.EnvEventHubCredentialSecret")}
	graph := append(slices.Clone(app), name("wiring.EnvGraphURL"), name("wiring.EnvGraphReportsBudget"))
	return Options{
		KnownEnv: known,
		// A webhook URL may carry a token: it comes from a secret
		// (EnvWebhookURLSecret), never a plain variable.
		SecretEnv: []string{
			name("wiring.EnvAzureClientSecret"), name("wiring.EnvAzureClientSecret"), name("wiring.EnvAzureCertificatePassword"), name("wiring.EnvGraphToken"),
			wiring.EnvWebhookURL, wiring.EnvSecurityWebhookURL,
		},
		SecretRefEnv: []string{
			name("wiring.EnvGraphSecretARN"), name("wiring.EnvGraphSecretARN"), name("wiring.EnvEventHubConnectionSecret"),
			name("wiring.EnvEventHubCredentialSecret"),
			wiring.EnvServiceNowSecret, wiring.EnvJiraSecret, wiring.EnvWebhookSecret, wiring.EnvWebhookURLSecret,
			wiring.EnvSecurityWebhookURLSecret,
		},
		RequiredEnv: map[string][]string{
			// Without a connection-string secret, ingest authenticates to
			// Event Hubs as an app registration of its own (functions/ingest).
			"IngestFunction": append([]string{
				wiring.EnvLogLevel, wiring.EnvTenantID, wiring.EnvCheckpointTable, wiring.EnvEvaluateQueue,
				wiring.EnvIngestDLQ, wiring.EnvIngestBudget,
				name("wiring.EnvEventHubNamespace"), name("wiring.EnvEventHubName"), name("wiring.EnvEventHubConsumerGroup"),
				name("wiring.EnvEventHubConnectionSecret"),
			}, hubApp...),
			"EvaluateFunction": append([]string{
				wiring.EnvLogLevel, wiring.EnvTenantID, wiring.EnvPasswordAuth, wiring.EnvPHSFallback, wiring.EnvPolicy,
				wiring.EnvStateTable, wiring.EnvNudgeQueue, wiring.EnvTicketQueue,
			}, graph...),
			// wiring.Load reads the tenant and the policy in every function;
			// nudge and ticket render messages with the policy's settings.
			// Nudge builds a Graph client (graph.FromEnv) for mail and Teams
			// and chooses the outbox queue when no sender mailbox is set.
			"NudgeFunction": append([]string{
				wiring.EnvLogLevel, wiring.EnvTenantID, wiring.EnvPolicy, wiring.EnvStateTable, wiring.EnvClaimsTable,
				wiring.EnvNudgeOutbox, wiring.EnvDryRun, wiring.EnvMailSender, wiring.EnvTeams, wiring.EnvGraphURL,
			}, app...),
			"TicketFunction": {
				wiring.EnvLogLevel, wiring.EnvTenantID, wiring.EnvPolicy, wiring.EnvStateTable, wiring.EnvClaimsTable,
				wiring.EnvHelpdeskQueue, wiring.EnvDryRun, wiring.EnvTicketChannel,
			},
			"SweepFunction": append([]string{
				wiring.EnvLogLevel, wiring.EnvTenantID, wiring.EnvStateTable, wiring.EnvEvaluateQueue, wiring.EnvSweepMaxAge,
				// The emergency access set (pkg/pipeline/emergency.go).
				wiring.EnvPolicy, wiring.EnvPasswordAuth, wiring.EnvPHSFallback, wiring.EnvTicketQueue,
			}, graph...),
		},
		Deployed: pipelineSettings,
		// Ingest drains the hub every minute; when it stops, audit events
		// wait in the hub until its retention ends.
		MustRun: []string{"IngestFunction"},
	}
}

// pipelineSettings are the pkg/wiring settings the deployed pipeline needs;
// each must be given to at least one function. (The channels' settings are
// optional; RequiredEnv names the ones nudge and ticket are always given.)
var pipelineSettings = []string{
	wiring.EnvTenantID, wiring.EnvPasswordAuth, wiring.EnvPHSFallback, wiring.EnvPolicy,
	wiring.EnvStateTable, wiring.EnvClaimsTable, wiring.EnvCheckpointTable,
	wiring.EnvEvaluateQueue, wiring.EnvNudgeQueue, wiring.EnvTicketQueue, wiring.EnvHelpdeskQueue,
	wiring.EnvNudgeOutbox, wiring.EnvIngestDLQ, wiring.EnvIngestBudget, wiring.EnvSweepMaxAge, wiring.EnvLogLevel,
}

func readRepo(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTemplate(t *testing.T) {
	t.Parallel()
	problems, err := Check(readRepo(t, "template.yaml"), readRepo(t, "Makefile"), repoOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("template.yaml %s", p)
	}
}

// loadTemplate parses the repository's template for the checks below that
// are about credres itself rather than rules for any template.
func loadTemplate(t *testing.T) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(readRepo(t, "template.yaml"), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestTemplateFunctions(t *testing.T) {
	t.Parallel()
	res := get(loadTemplate(t), "Resources")
	var fns []string
	for i := 0; i+1 < len(res.Content); i += 2 {
		if scalar(get(res.Content[i+1], "Type")) == "AWS::Serverless::Function" {
			fns = append(fns, res.Content[i].Value)
		}
	}
	want := []string{"IngestFunction", "EvaluateFunction", "NudgeFunction", "TicketFunction", "SweepFunction"}
	if !slices.Equal(fns, want) {
		t.Errorf("functions = %v, want %v", fns, want)
	}
	// Each build target builds the function's own directory.
	mk := parseMakefile(readRepo(t, "Makefile"))
	for _, fn := range want {
		dir := "./functions/" + strings.ToLower(strings.TrimSuffix(fn, "Function"))
		if recipe := strings.Join(mk.targets["build-"+fn], "\n"); !strings.HasSuffix(strings.TrimSpace(recipe), dir) {
			t.Errorf("build-%s builds %q, want %s", fn, recipe, dir)
		}
	}
	if _, ok := mk.targets["bootstraps"]; !ok {
		t.Error("the Makefile has no bootstraps target")
	}
}

// TestGraphBudget keeps the arithmetic of the template's header true: the
// processes that may call Graph at once, each paced by its
// CREDRES_GRAPH_REPORTS_BUDGET, stay inside Graph's 5 requests per 10 s per
// app per tenant for authentication methods and reports.
func TestGraphBudget(t *testing.T) {
	t.Parallel()
	// Functions that hold the app's credential but never read
	// authentication methods or reports.
	otherUse := map[string]string{
		"IngestFunction": "Event Hubs in Entra mode",
		"NudgeFunction":  "sendMail and Teams notifications (TestMailConcurrency)",
	}
	budgetVar := envConstants(t)["wiring.EnvGraphReportsBudget"]
	res := get(loadTemplate(t), "Resources")
	var total float64 // requests per second
	var parts []string
	for i := 0; i+1 < len(res.Content); i += 2 {
		id, r := res.Content[i].Value, res.Content[i+1]
		props := get(r, "Properties")
		v := scalar(get(get(get(props, "Environment"), "Variables"), budgetVar))
		if v == "" {
			if _, other := otherUse[id]; get(get(get(props, "Environment"), "Variables"), envConstants(t)["wiring.EnvGraphSecretARN"]) != nil && !other {
				t.Errorf("%s reads Graph without %s: its pacer would allow Graph's whole budget", id, budgetVar)
			}
			continue
		}
		n, per, ok := strings.Cut(v, "/")
		reqs, err1 := strconv.Atoi(n)
		window, err2 := time.ParseDuration(per)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("%s: %s=%q is not N/duration", id, budgetVar, v)
		}
		concurrency := 1
		if rc := get(props, "ReservedConcurrentExecutions"); rc != nil {
			concurrency = intOf(rc, 0)
		} else {
			for _, ev := range get(props, "Events").Content {
				if scalar(get(ev, "Type")) == "SQS" {
					t.Errorf("%s has an SQS source but no ReservedConcurrentExecutions: its Graph budget is unbounded", id)
				}
			}
		}
		for _, ev := range get(props, "Events").Content {
			if mc := get(get(get(ev, "Properties"), "ScalingConfig"), "MaximumConcurrency"); mc != nil && intOf(mc, 0) != concurrency {
				t.Errorf("%s: MaximumConcurrency %d differs from ReservedConcurrentExecutions %d", id, intOf(mc, 0), concurrency)
			}
		}
		total += float64(concurrency*reqs) / window.Seconds()
		parts = append(parts, fmt.Sprintf("%s %d x %s", id, concurrency, v))
	}
	if limit := 5.0 / 10; total > limit+1e-9 {
		t.Errorf("Graph budget: %s = %.2f requests/s, above Graph's 5/10s", strings.Join(parts, " + "), total)
	}
	if len(parts) == 0 {
		t.Error("no function sets " + budgetVar)
	}
}

// TestMailConcurrency keeps nudges by mail within Exchange Online's limit
// of 4 concurrent requests per app and mailbox: the nudge stage sends one
// message at a time, so the function's SQS sources must not run more than
// four execution environments at once.
func TestMailConcurrency(t *testing.T) {
	t.Parallel()
	const mailboxConcurrency = 4
	res := get(loadTemplate(t), "Resources")
	senders := 0
	for i := 0; i+1 < len(res.Content); i += 2 {
		id, props := res.Content[i].Value, get(res.Content[i+1], "Properties")
		if get(get(get(props, "Environment"), "Variables"), wiring.EnvMailSender) == nil {
			continue
		}
		senders++
		for _, ev := range get(props, "Events").Content {
			if scalar(get(ev, "Type")) != "SQS" {
				continue
			}
			mc := get(get(get(ev, "Properties"), "ScalingConfig"), "MaximumConcurrency")
			if n := intOf(mc, 0); mc == nil || n > mailboxConcurrency {
				t.Errorf("%s sends mail but its SQS source's MaximumConcurrency is %q: Exchange allows %d concurrent requests per mailbox", id, describe(mc), mailboxConcurrency)
			}
		}
	}
	if senders == 0 {
		t.Errorf("no function is given %s", wiring.EnvMailSender)
	}
}

// TestTimings checks the template's times against the code's: the delivery
// claim's lease must run out before SQS redelivers a message whose deliverer
// died (docs/STATE.md), and ingest's budget must end before its timeout, so
// that the last checkpoint is written.
func TestTimings(t *testing.T) {
	t.Parallel()
	res := get(loadTemplate(t), "Resources")
	for _, q := range []string{"NudgeQueue", "TicketQueue"} {
		vis := time.Duration(intOf(get(get(get(res, q), "Properties"), "VisibilityTimeout"), 30)) * time.Second
		if pipeline.DefaultClaimLease >= vis {
			t.Errorf("%s: VisibilityTimeout %s is not longer than the delivery claim lease %s", q, vis, pipeline.DefaultClaimLease)
		}
	}
	ingest := get(get(res, "IngestFunction"), "Properties")
	timeout := time.Duration(intOf(get(ingest, "Timeout"), 3)) * time.Second
	raw := scalar(get(get(get(ingest, "Environment"), "Variables"), wiring.EnvIngestBudget))
	budget, err := time.ParseDuration(raw)
	if err != nil {
		t.Fatalf("%s=%q: %v", wiring.EnvIngestBudget, raw, err)
	}
	if budget > timeout-5*time.Second {
		t.Errorf("ingest budget %s leaves less than 5 s of its %s timeout for the last checkpoint", budget, timeout)
	}
}

// TestSweepModes checks that each SweepMode's schedule input is a
// wiring.ScheduleInput that means what the mode says, and matches the
// events/lambda fixture of that mode.
func TestSweepModes(t *testing.T) {
	t.Parallel()
	modes := get(get(loadTemplate(t), "Mappings"), "SweepModes")
	want := map[string]wiring.ScheduleInput{
		"baseline": {Baseline: true},
		"normal":   {},
		"campaign": {Campaign: true},
	}
	fixtures := map[string]string{
		"baseline": "events/lambda/schedule-sweep-baseline.json",
		"campaign": "events/lambda/schedule-sweep-campaign.json",
		"normal":   "events/lambda/schedule-ingest.json", // {}: the same input
	}
	for mode, w := range want {
		raw := scalar(get(get(modes, mode), "Input"))
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		var got wiring.ScheduleInput
		if err := dec.Decode(&got); err != nil {
			t.Errorf("SweepModes.%s.Input %q: %v", mode, raw, err)
			continue
		}
		if got != w {
			t.Errorf("SweepModes.%s.Input = %+v, want %+v", mode, got, w)
		}
		var fixture wiring.ScheduleInput
		if err := json.Unmarshal(readRepo(t, fixtures[mode]), &fixture); err != nil {
			t.Fatal(err)
		}
		if fixture != got {
			t.Errorf("SweepModes.%s.Input = %+v, but %s holds %+v", mode, got, fixtures[mode], fixture)
		}
	}
	var allowed []string
	for _, v := range seq(get(get(get(loadTemplate(t), "Parameters"), "SweepMode"), "AllowedValues")) {
		allowed = append(allowed, v.Value)
	}
	slices.Sort(allowed)
	if !slices.Equal(allowed, []string{"baseline", "campaign", "normal"}) {
		t.Errorf("SweepMode AllowedValues = %v", allowed)
	}
}

// TestDeployDoc keeps docs/DEPLOY.md in step with the template: every
// parameter is explained and every environment variable the template sets,
// and every setting the pipeline needs, is in its table.
func TestDeployDoc(t *testing.T) {
	t.Parallel()
	doc := string(readRepo(t, "docs/DEPLOY.md"))
	root := loadTemplate(t)
	params := get(root, "Parameters")
	for i := 0; i < len(params.Content); i += 2 {
		if name := params.Content[i].Value; !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("docs/DEPLOY.md does not explain the parameter %s", name)
		}
	}
	names := map[string]bool{}
	res := get(root, "Resources")
	for i := 1; i < len(res.Content); i += 2 {
		vars := get(get(get(res.Content[i], "Properties"), "Environment"), "Variables")
		for j := 0; vars != nil && j < len(vars.Content); j += 2 {
			names[vars.Content[j].Value] = true
		}
	}
	for _, v := range pipelineSettings {
		names[v] = true
	}
	for name := range names {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("docs/DEPLOY.md's table of environment variables lacks %s", name)
		}
	}
}

// fixtureOptions describe the code the testdata templates pretend to serve.
var fixtureOptions = Options{
	KnownEnv: map[string]bool{
		"CREDRES_LOG_LEVEL": true, "CREDRES_WORK_QUEUE_URL": true, "AZURE_CLIENT_SECRET": true, "CREDRES_WORK_SECRET": true,
	},
	SecretEnv:    []string{"AZURE_CLIENT_SECRET"},
	SecretRefEnv: []string{"CREDRES_WORK_SECRET"},
	RequiredEnv:  map[string][]string{"WorkerFunction": {"CREDRES_WORK_QUEUE_URL"}},
	Deployed:     []string{"CREDRES_LOG_LEVEL"},
	MustRun:      []string{"WorkerFunction"},
}

var wantMarker = regexp.MustCompile(`# want: ([a-z-]+)`)

// markers returns the "line rule" pairs a fixture marks with # want.
func markers(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		for _, m := range wantMarker.FindAllStringSubmatch(sc.Text(), -1) {
			out = append(out, fmt.Sprintf("%d %s", line, m[1]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		rules[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tplBytes, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			mkPath := filepath.Join("testdata", name+".Makefile")
			if _, err := os.Stat(mkPath); err != nil {
				mkPath = filepath.Join("testdata", "Makefile")
			}
			mk, err := os.ReadFile(mkPath)
			if err != nil {
				t.Fatal(err)
			}
			problems, err := Check(tplBytes, mk, fixtureOptions)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, fmt.Sprintf("%d %s", p.Line, p.Rule))
				if p.Resource == "" || p.Message == "" {
					t.Errorf("problem without resource or message: %+v", p)
				}
			}
			slices.Sort(got)
			got = slices.Compact(got)
			want := markers(tplBytes)
			if name != "valid" && len(want) == 0 {
				t.Fatal("a broken fixture must mark its lines with # want: <rule>")
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems at %q, want %q", got, want)
				for _, p := range problems {
					t.Logf("%s", p)
				}
			}
			// A fixture is about its own rule; a related rule may break too
			// (a source queue without a redrive policy is a queue without one).
			if name != "valid" && !slices.ContainsFunc(want, func(w string) bool { return strings.HasSuffix(w, " "+name) }) {
				t.Errorf("fixture %s does not break rule %s", name, name)
			}
		})
	}
	// Every rule has a fixture that breaks it.
	for _, r := range []string{
		RuleFunctionRuntime, RuleBuildTarget, RuleBuildRecipe, RuleFunctionRole, RuleEventSource, RuleSourceDLQ,
		RuleBatchFailures, RuleVisibilityTimeout, RuleMaxConcurrency, RuleWildcardAction, RuleWildcardResource,
		RuleManagedPolicy, RuleLogsScope, RuleQueueDLQ, RuleQueueEncryption, RuleDLQAlarm,
		RuleFunctionAlarm, RuleLogGroup, RuleEnvUnknown, RuleEnvSecret, RuleEnvRequired, RuleEnvUnset,
		RuleSecretGrant, RuleScheduleName, RuleQueueAgeAlarm, RuleHeartbeat,
	} {
		if !rules[r] {
			t.Errorf("no testdata/%s.yaml breaks rule %s", r, r)
		}
	}
}

func TestCheckRejectsNonTemplates(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not-yaml":     "Resources: [unclosed",
		"a-list":       "- a\n- b\n",
		"no-resources": "AWSTemplateFormatVersion: \"2010-09-09\"\n",
	} {
		if _, err := Check([]byte(in), nil, Options{}); err == nil {
			t.Errorf("%s: Check accepted %q", name, in)
		}
	}
}

func TestShortAndLongFormIntrinsics(t *testing.T) {
	t.Parallel()
	parse := func(s string) *yaml.Node {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Content[0]
	}
	for _, tc := range []struct{ name, in, id, attr string }{
		{"short-dotted", "!GetAtt Queue.Arn", "Queue", "Arn"},
		{"short-list", "!GetAtt [Queue, Arn]", "Queue", "Arn"},
		{"long", "Fn::GetAtt: [Queue, Arn]", "Queue", "Arn"},
	} {
		id, attr, ok := getAtt(parse(tc.in))
		if !ok || id != tc.id || attr != tc.attr {
			t.Errorf("%s: getAtt(%s) = %q %q %v", tc.name, tc.in, id, attr, ok)
		}
	}
	if id, ok := ref(parse("Ref: Table")); !ok || id != "Table" {
		t.Errorf("long Ref = %q %v", id, ok)
	}
	if got := refsIn(parse(`!Sub "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}:*"`)); !slices.Equal(got, []string{"Group"}) {
		t.Errorf("refsIn(!Sub) = %v", got)
	}
	if got := scalars(parse("!If [Cond, [a, b], !Ref AWS::NoValue]")); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("scalars(!If) = %v", got)
	}
}
