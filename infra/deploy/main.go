// Command deploy deploys credres in one command per cloud, after checking
// that the deployment will work: `make deploy` and `make deploy-azure` run
// it (docs/DEPLOY.md).
//
//	go run ./infra/deploy aws   [--config samconfig.toml] [--dry-run]
//	go run ./infra/deploy azure --resource-group RG --location REGION --namespace NAME
//	                            (--app-id ID | --create-app NAME) [--receiver-principal-id ID] [--dry-run]
//
// aws reads the SAM CLI configuration (samconfig.toml.example shows one),
// refuses while a required value is missing or still a <placeholder>, or
// when template.yaml's parameter patterns or Rules would refuse the values,
// and otherwise runs `sam build` and `sam deploy` with that configuration.
// azure grants the app registration its Graph permissions, deploys
// infra/main.bicep into the resource group and creates the Entra diagnostic
// setting. --dry-run checks and prints the commands without running them.
//
// Exit status: 0 done (or would be), 1 refused or a command failed, 2
// usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/credres/credres/infra/templatetest"
	"github.com/credres/credres/pkg/rules"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, execRunner{}))
}

// runner runs a command; tests record instead.
type runner interface {
	lookPath(name string) (string, error)
	run(stdout, stderr io.Writer, name string, args ...string) error
}

type execRunner struct{}

func (execRunner) lookPath(name string) (string, error) { return exec.LookPath(name) }

func (execRunner) run(stdout, stderr io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	return cmd.Run()
}

func run(args []string, stdout, stderr io.Writer, r runner) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: deploy aws|azure [flags] (--help for each)")
		return 2
	}
	switch args[0] {
	case "aws":
		return deployAWS(args[1:], stdout, stderr, r)
	case "azure":
		return deployAzure(args[1:], stdout, stderr, r)
	}
	fmt.Fprintf(stderr, "deploy: unknown target %q: aws or azure\n", args[0])
	return 2
}

// plan is the commands a deployment runs, in order.
type plan [][]string

func (p plan) print(w io.Writer) {
	for _, c := range p {
		quoted := make([]string, len(c))
		for i, a := range c {
			quoted[i] = shellQuote(a)
		}
		fmt.Fprintln(w, "+ "+strings.Join(quoted, " "))
	}
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

func shellQuote(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// execute prints the plan and, unless dry, runs it, stopping at the first
// failure.
func (p plan) execute(dry bool, stdout, stderr io.Writer, r runner) int {
	if dry {
		fmt.Fprintln(stdout, "Dry run: the checks passed; these commands would run:")
		p.print(stdout)
		return 0
	}
	for _, c := range p {
		plan{c}.print(stderr)
		if err := r.run(stdout, stderr, c[0], c[1:]...); err != nil {
			fmt.Fprintf(stderr, "deploy: %s failed: %v\n", c[0], err)
			return 1
		}
	}
	return 0
}

// refuse prints why a deployment cannot start and returns 1.
func refuse(stderr io.Writer, what string, problems []string) int {
	fmt.Fprintf(stderr, "deploy: %s: refusing to deploy:\n", what)
	for _, p := range problems {
		fmt.Fprintf(stderr, "  - %s\n", p)
	}
	return 1
}

// placeholder matches a value still as the example file has it.
var placeholder = regexp.MustCompile(`<[^>]*>`)

// The names SAM allows for a stack: letters, digits and hyphens, starting
// with a letter; credres keeps them to 50 characters so that function
// names (<stack>-evaluate) stay within Lambda's 64.
var (
	stackName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,49}$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
)

func deployAWS(args []string, stdout, stderr io.Writer, r runner) int {
	fs := flag.NewFlagSet("deploy aws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "samconfig.toml", "the SAM CLI configuration (copy samconfig.toml.example)")
	template := fs.String("template", "template.yaml", "the SAM template")
	dry := fs.Bool("dry-run", false, "check, and print the sam commands instead of running them")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	raw, err := os.ReadFile(*config)
	if errors.Is(err, os.ErrNotExist) {
		return refuse(stderr, *config, []string{fmt.Sprintf("%s does not exist: cp samconfig.toml.example %s, and fill in every <...>", *config, *config)})
	}
	if err != nil {
		return refuse(stderr, *config, []string{err.Error()})
	}
	cfg, err := parseSAMConfig(string(raw))
	if err != nil {
		return refuse(stderr, *config, []string{err.Error()})
	}
	tpl, err := os.ReadFile(*template)
	if err != nil {
		return refuse(stderr, *template, []string{err.Error()})
	}
	params, problems := awsParameters(cfg)
	if len(problems) == 0 {
		d, err := templatetest.Deploy(tpl, params)
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			problems = append(problems, d.Refused...)
			problems = append(problems, startupProblems(params, d)...)
			problems = append(problems, leastPrivilegeProblems(params)...)
		}
	}
	if len(problems) > 0 {
		return refuse(stderr, *config, problems)
	}
	abs, err := filepath.Abs(*config)
	if err != nil {
		return refuse(stderr, *config, []string{err.Error()})
	}
	build := []string{"sam", "build", "--config-file", abs, "--template-file", *template}
	if b, _ := cfg["default.build.parameters"]["build_in_source"].(bool); !b {
		// Without it, SAM copies the whole repository, .cache included, for
		// every function.
		build = append(build, "--build-in-source")
	}
	p := plan{build, {"sam", "deploy", "--config-file", abs}}
	if !*dry {
		if _, err := r.lookPath("sam"); err != nil {
			return refuse(stderr, "sam", []string{"the AWS SAM CLI (1.104 or later) is not installed: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"})
		}
	}
	if code := p.execute(*dry, stdout, stderr, r); code != 0 || *dry {
		return code
	}
	stack := cfg.str("default.deploy.parameters", "stack_name")
	if stack == "" {
		stack = cfg.str("default.global.parameters", "stack_name")
	}
	fmt.Fprintf(stdout, "\nDeployed. Check it before the first event (docs/DEPLOY.md, B3):\n"+
		"  aws cloudformation describe-stacks --stack-name %s --query 'Stacks[0].Outputs' > outputs.json\n"+
		"  bin/credres doctor --outputs outputs.json\n", shellQuote(stack))
	return 0
}

// awsParameters checks the stack's name and region and returns the
// template parameters the configuration overrides.
func awsParameters(cfg samconfig) (map[string]string, []string) {
	var problems []string
	setting := func(key string) string {
		for _, table := range []string{"default.deploy.parameters", "default.global.parameters"} {
			if v := cfg.str(table, key); v != "" {
				return v
			}
		}
		return ""
	}
	stack, region := setting("stack_name"), setting("region")
	switch {
	case stack == "":
		problems = append(problems, "stack_name is not set")
	case !stackName.MatchString(stack):
		problems = append(problems, fmt.Sprintf("stack_name %q: letters, digits and hyphens, starting with a letter, at most 50", stack))
	}
	switch {
	case region == "" || placeholder.MatchString(region):
		problems = append(problems, "region is not set: the AWS region to deploy to, e.g. eu-west-1")
	case !regionName.MatchString(region):
		problems = append(problems, fmt.Sprintf("region %q is not an AWS region name", region))
	}
	var overrides []string
	switch v := cfg["default.deploy.parameters"]["parameter_overrides"].(type) {
	case []string:
		overrides = v
	case string:
		overrides = strings.Fields(v)
	case nil:
		problems = append(problems, "[default.deploy.parameters] has no parameter_overrides: TenantId, ClientId and GraphSecretArn are required")
	default:
		problems = append(problems, "parameter_overrides must be a list of \"Name=Value\" strings")
	}
	params := map[string]string{}
	for _, o := range overrides {
		name, value, ok := strings.Cut(o, "=")
		if !ok || name == "" {
			problems = append(problems, fmt.Sprintf("parameter_overrides: %q is not Name=Value", o))
			continue
		}
		if _, dup := params[name]; dup {
			problems = append(problems, fmt.Sprintf("parameter_overrides: %s is given twice", name))
		}
		if placeholder.MatchString(value) {
			problems = append(problems, fmt.Sprintf("%s is still the example's placeholder %q: give the real value (docs/DEPLOY.md, B2)", name, value))
			continue
		}
		params[name] = value
	}
	if c := setting("capabilities"); !strings.Contains(c, "CAPABILITY_IAM") && !strings.Contains(c, "CAPABILITY_NAMED_IAM") {
		problems = append(problems, "capabilities must include CAPABILITY_IAM: the template creates one IAM role per function")
	}
	if _, s3 := cfg["default.deploy.parameters"]["resolve_s3"].(bool); !s3 && setting("s3_bucket") == "" {
		problems = append(problems, "neither resolve_s3 = true nor s3_bucket: sam deploy needs a bucket for the function packages")
	}
	return params, problems
}

func deployAzure(args []string, stdout, stderr io.Writer, r runner) int {
	fs := flag.NewFlagSet("deploy azure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	group := fs.String("resource-group", "", "the resource group of the Event Hubs namespace (created when missing)")
	location := fs.String("location", "", "its Azure region, e.g. westeurope")
	namespace := fs.String("namespace", "", "the Event Hubs namespace name, globally unique (6 to 50 characters)")
	appID := fs.String("app-id", "", "the application (client) id of an existing credres app registration")
	createApp := fs.String("create-app", "", "or: the display name of a new app registration")
	receiver := fs.String("receiver-principal-id", "", "the service principal object id of the Event Hubs app registration (not the Graph app), for the Entra mode of Event Hubs (needs Owner or User Access Administrator)")
	dry := fs.Bool("dry-run", false, "check, and print the commands instead of running them")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var problems []string
	for _, f := range []struct{ name, value, what string }{
		{"resource-group", *group, "RESOURCE_GROUP"}, {"location", *location, "LOCATION"}, {"namespace", *namespace, "NAMESPACE"},
	} {
		if strings.TrimSpace(f.value) == "" {
			problems = append(problems, fmt.Sprintf("--%s is required (make deploy-azure %s=...)", f.name, f.what))
		}
	}
	if *namespace != "" && !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$`).MatchString(*namespace) {
		problems = append(problems, fmt.Sprintf("--namespace %q: 6 to 50 letters, digits and hyphens, starting with a letter and ending with a letter or digit", *namespace))
	}
	if (*appID == "") == (*createApp == "") {
		problems = append(problems, "give exactly one of --app-id (APP_ID=) and --create-app (APP_NAME=)")
	}
	guid := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	for _, f := range []struct{ name, value string }{{"app-id", *appID}, {"receiver-principal-id", *receiver}} {
		if f.value != "" && !guid.MatchString(f.value) {
			problems = append(problems, fmt.Sprintf("--%s %q is not a GUID", f.name, f.value))
		}
	}
	if len(problems) > 0 {
		return refuse(stderr, "azure", problems)
	}
	grant := []string{"infra/grant-graph-permissions.sh"}
	if *appID != "" {
		grant = append(grant, "--app-id", *appID)
	} else {
		grant = append(grant, "--create", *createApp)
	}
	bicep := []string{"az", "deployment", "group", "create", "--resource-group", *group, "--name", "credres",
		"--template-file", "infra/main.bicep", "--parameters", "namespaceName=" + *namespace}
	if *receiver != "" {
		bicep = append(bicep, "receiverPrincipalId="+*receiver)
	}
	p := plan{
		grant,
		{"az", "group", "create", "--name", *group, "--location", *location},
		bicep,
		// The diagnostic setting sends with the policy the deployment made.
		{"infra/entra-diagnostic-setting.sh", "--rule-id", "$(az deployment group show --resource-group " + *group + " --name credres --query properties.outputs.diagnosticsRuleId.value -o tsv)"},
		{"az", "deployment", "group", "show", "--resource-group", *group, "--name", "credres", "--query", "properties.outputs", "-o", "table"},
	}
	if *dry {
		return p.execute(true, stdout, stderr, r)
	}
	if _, err := r.lookPath("az"); err != nil {
		return refuse(stderr, "az", []string{"the Azure CLI is not installed, or not on PATH: https://learn.microsoft.com/cli/azure/install-azure-cli"})
	}
	// The rule id is known only after the Bicep deployment.
	for i, c := range p {
		if c[0] == "infra/entra-diagnostic-setting.sh" {
			var out strings.Builder
			if err := r.run(&out, stderr, "az", "deployment", "group", "show", "--resource-group", *group, "--name", "credres",
				"--query", "properties.outputs.diagnosticsRuleId.value", "-o", "tsv"); err != nil {
				fmt.Fprintf(stderr, "deploy: reading the deployment's diagnosticsRuleId: %v\n", err)
				return 1
			}
			p[i] = []string{c[0], "--rule-id", strings.TrimSpace(out.String())}
		}
		if code := (plan{p[i]}).execute(false, stdout, stderr, r); code != 0 {
			return code
		}
	}
	return 0
}

// Lambda's limit on a function's environment: all names and values
// together.
const envLimit = 4096

// resourceValueSize stands for a value the stack fills in (a queue URL, a
// table name), which Deploy leaves as <LogicalId>: a queue URL with a
// 50-character stack name is about 130 bytes.
const resourceValueSize = 130

// leastPrivilegeProblems refuses what would give ingest, which parses
// untrusted stream data and reads no Graph, the Graph app's credential
// under another name: its Event Hubs secret or app being the Graph app's.
func leastPrivilegeProblems(params map[string]string) []string {
	var problems []string
	graphSecret := strings.TrimSpace(params["GraphSecretArn"])
	for _, p := range []string{"EventHubSecretArn", "EventHubCredentialSecretArn"} {
		if v := strings.TrimSpace(params[p]); v != "" && v == graphSecret {
			problems = append(problems, fmt.Sprintf("%s is GraphSecretArn: ingest must never hold the Graph credential; give it a Listen-only connection string or the credential of an app registration of its own (docs/DEPLOY.md, A5)", p))
		}
	}
	if v := strings.TrimSpace(params["EventHubClientId"]); v != "" && strings.EqualFold(v, strings.TrimSpace(params["ClientId"])) {
		problems = append(problems, "EventHubClientId is ClientId: ingest reads the hub as an app registration of its own, which holds only Azure Event Hubs Data Receiver (docs/DEPLOY.md, A5)")
	}
	return problems
}

// startupProblems finds what the template's Rules cannot see but the
// functions would refuse at start-up, or Lambda at deployment: a policy
// that does not parse, and an environment over 4 KB.
func startupProblems(params map[string]string, d *templatetest.Deployment) []string {
	var problems []string
	if p := params["PolicyYaml"]; strings.TrimSpace(p) != "" {
		if _, err := rules.ParsePolicy([]byte(p)); err != nil {
			problems = append(problems, fmt.Sprintf("PolicyYaml: %v (check it with bin/credres assess --directory events/tenant.json --policy FILE)", err))
		}
	}
	fns := make([]string, 0, len(d.Env))
	for fn := range d.Env {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	for _, fn := range fns {
		size := 0
		for k, v := range d.Env[fn] {
			if strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">") {
				size += len(k) + resourceValueSize
			} else {
				size += len(k) + len(v)
			}
		}
		if size > envLimit {
			problems = append(problems, fmt.Sprintf("%s's environment would take about %d bytes, over Lambda's %d: shorten PolicyYaml (one line of JSON: yq -o=json -I=0 policy.yaml)", fn, size, envLimit))
		}
	}
	return problems
}
