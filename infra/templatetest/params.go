package templatetest

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Deployment is what CloudFormation makes of a template with a set of
// parameter values, as far as credres's start-up depends on it: whether
// the parameters and the template's Rules refuse the deployment, and, when
// they do not, the environment each function is given.
type Deployment struct {
	// Refused lists why CloudFormation would refuse the deployment: a
	// parameter outside its AllowedValues or AllowedPattern, or a Rules
	// assertion that fails. Empty when it would go ahead.
	Refused []string
	// Env holds, per function logical id, the environment variables it is
	// given (variables set to AWS::NoValue are absent). A value that names
	// a resource of the stack is "<LogicalId>".
	Env map[string]map[string]string
}

// Deploy evaluates a template's parameters, Rules, Conditions and the
// functions' environments with the given parameter values (missing ones
// take their defaults), as CloudFormation would before creating anything.
// It understands the intrinsic functions credres's template uses in those
// places: Ref, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition,
// Fn::Sub, Fn::GetAtt and Fn::FindInMap.
func Deploy(template []byte, params map[string]string) (*Deployment, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, fmt.Errorf("templatetest: parse template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("templatetest: empty template")
	}
	root := doc.Content[0]
	e := &evaluator{root: root, params: map[string]string{}, conds: map[string]bool{}, resources: map[string]bool{}}
	d := &Deployment{Env: map[string]map[string]string{}}
	if err := e.parameters(d, params); err != nil {
		return nil, err
	}
	res := get(root, "Resources")
	for i := 0; res != nil && i+1 < len(res.Content); i += 2 {
		e.resources[res.Content[i].Value] = true
	}
	if err := e.conditions(); err != nil {
		return nil, err
	}
	if err := e.rules(d); err != nil {
		return nil, err
	}
	for i := 0; res != nil && i+1 < len(res.Content); i += 2 {
		id, r := res.Content[i].Value, res.Content[i+1]
		if t := scalar(get(r, "Type")); t != "AWS::Serverless::Function" && t != "AWS::Lambda::Function" {
			continue
		}
		env, err := e.environment(r)
		if err != nil {
			return nil, fmt.Errorf("templatetest: %s: %w", id, err)
		}
		d.Env[id] = env
	}
	return d, nil
}

// parameters takes each parameter's value, given or its default, and adds
// to d.Refused the values CloudFormation would refuse. A value given for a
// parameter the template does not have is an error.
func (e *evaluator) parameters(d *Deployment, params map[string]string) error {
	ps := get(e.root, "Parameters")
	for i := 0; ps != nil && i+1 < len(ps.Content); i += 2 {
		name, p := ps.Content[i].Value, ps.Content[i+1]
		v, given := params[name]
		if !given {
			def := get(p, "Default")
			if def == nil {
				d.Refused = append(d.Refused, fmt.Sprintf("parameter %s: no value and no default", name))
				e.params[name] = ""
				continue
			}
			v = def.Value
		}
		e.params[name] = v
		if allowed := seq(get(p, "AllowedValues")); allowed != nil && !slices.ContainsFunc(allowed, func(n *yaml.Node) bool { return n.Value == v }) {
			d.Refused = append(d.Refused, fmt.Sprintf("parameter %s: %q is not one of its AllowedValues", name, v))
		}
		if pat := get(p, "AllowedPattern"); pat != nil {
			re, err := regexp.Compile(`^(?:` + pat.Value + `)$`)
			if err != nil {
				return fmt.Errorf("templatetest: parameter %s: AllowedPattern: %w", name, err)
			}
			if !re.MatchString(v) {
				d.Refused = append(d.Refused, fmt.Sprintf("parameter %s: %q does not match its AllowedPattern", name, v))
			}
		}
	}
	for name := range params {
		if _, ok := e.params[name]; !ok {
			return fmt.Errorf("templatetest: the template has no parameter %s", name)
		}
	}
	return nil
}

// rules adds to d.Refused the assertions of the Rules section that fail,
// in the rules whose RuleCondition holds.
func (e *evaluator) rules(d *Deployment) error {
	rules := get(e.root, "Rules")
	for i := 0; rules != nil && i+1 < len(rules.Content); i += 2 {
		name, r := rules.Content[i].Value, rules.Content[i+1]
		if c := get(r, "RuleCondition"); c != nil {
			ok, err := e.boolean(c)
			if err != nil {
				return fmt.Errorf("templatetest: rule %s: %w", name, err)
			}
			if !ok {
				continue
			}
		}
		for _, a := range seq(get(r, "Assertions")) {
			ok, err := e.boolean(get(a, "Assert"))
			if err != nil {
				return fmt.Errorf("templatetest: rule %s: %w", name, err)
			}
			if !ok {
				d.Refused = append(d.Refused, fmt.Sprintf("rule %s: %s", name, scalar(get(a, "AssertDescription"))))
			}
		}
	}
	return nil
}

// environment evaluates a function's environment variables, leaving out
// those set to AWS::NoValue.
func (e *evaluator) environment(fn *yaml.Node) (map[string]string, error) {
	env := map[string]string{}
	vars := get(get(get(fn, "Properties"), "Environment"), "Variables")
	for j := 0; vars != nil && j+1 < len(vars.Content); j += 2 {
		v, set, err := e.value(vars.Content[j+1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", vars.Content[j].Value, err)
		}
		if set {
			env[vars.Content[j].Value] = v
		}
	}
	return env, nil
}

type evaluator struct {
	root      *yaml.Node
	params    map[string]string
	conds     map[string]bool
	resources map[string]bool
}

// conditions evaluates the Conditions section, in any order of reference.
func (e *evaluator) conditions() error {
	cs := get(e.root, "Conditions")
	pending := map[string]*yaml.Node{}
	for i := 0; cs != nil && i+1 < len(cs.Content); i += 2 {
		pending[cs.Content[i].Value] = cs.Content[i+1]
	}
	for len(pending) > 0 {
		progress := false
		for name, n := range pending {
			v, err := e.boolean(n)
			if errors.Is(err, errPending) {
				continue
			}
			if err != nil {
				return fmt.Errorf("templatetest: condition %s: %w", name, err)
			}
			e.conds[name] = v
			delete(pending, name)
			progress = true
		}
		if !progress {
			return errors.New("templatetest: conditions refer to each other in a circle or to undefined ones")
		}
	}
	return nil
}

var errPending = errors.New("condition not evaluated yet")

// intrinsic returns the function name and argument of a short (!Ref) or
// long ({Ref: ...}) intrinsic, "" for none.
func intrinsic(n *yaml.Node) (string, *yaml.Node) {
	n = deref(n)
	if n == nil {
		return "", nil
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		return name, n
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		if k := n.Content[0].Value; k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, deref(n.Content[1])
		}
	}
	return "", nil
}

func (e *evaluator) boolean(n *yaml.Node) (bool, error) {
	fn, arg := intrinsic(n)
	args := seq(arg)
	switch fn {
	case "Fn::Equals":
		if len(args) != 2 {
			return false, errors.New("Fn::Equals needs two arguments")
		}
		a, _, err := e.value(args[0])
		if err != nil {
			return false, err
		}
		b, _, err := e.value(args[1])
		return a == b, err
	case "Fn::Not":
		if len(args) != 1 {
			return false, errors.New("Fn::Not needs one argument")
		}
		v, err := e.boolean(args[0])
		return !v, err
	case "Fn::And", "Fn::Or":
		and := fn == "Fn::And"
		out := and
		for _, a := range args {
			v, err := e.boolean(a)
			if err != nil {
				return false, err
			}
			if and {
				out = out && v
			} else {
				out = out || v
			}
		}
		return out, nil
	case "Condition":
		v, ok := e.conds[arg.Value]
		if !ok {
			return false, errPending
		}
		return v, nil
	}
	if s := scalar(n); s == "true" || s == "false" {
		return s == "true", nil
	}
	return false, fmt.Errorf("not a condition: %s", describe(n))
}

// value evaluates a scalar-valued expression; set is false for
// AWS::NoValue.
func (e *evaluator) value(n *yaml.Node) (v string, set bool, err error) {
	fn, arg := intrinsic(n)
	switch fn {
	case "":
		if n.Kind != yaml.ScalarNode {
			return "", false, fmt.Errorf("not a scalar: %s", describe(n))
		}
		return n.Value, true, nil
	case "Ref":
		return e.ref(arg.Value)
	case "Fn::GetAtt":
		id, attr, ok := getAtt(n)
		if !ok {
			return "", false, fmt.Errorf("bad Fn::GetAtt %s", describe(n))
		}
		return "<" + id + "." + attr + ">", true, nil
	case "Fn::If":
		args := ifArgs(n)
		if args == nil {
			return "", false, errors.New("Fn::If needs three arguments")
		}
		c, ok := e.conds[args[0].Value]
		if !ok {
			return "", false, fmt.Errorf("Fn::If on unknown condition %s", args[0].Value)
		}
		if c {
			return e.value(args[1])
		}
		return e.value(args[2])
	case "Fn::Sub":
		v, err := e.sub(subText(n))
		return v, true, err
	case "Fn::FindInMap":
		v, err := e.findInMap(seq(arg))
		return v, err == nil, err
	}
	return "", false, fmt.Errorf("%s is not supported here", fn)
}

// ref evaluates a Ref to a pseudo parameter, a resource or a parameter.
func (e *evaluator) ref(name string) (v string, set bool, err error) {
	switch {
	case name == "AWS::NoValue":
		return "", false, nil
	case strings.HasPrefix(name, "AWS::"):
		return pseudo[name], true, nil
	case e.resources[name]:
		return "<" + name + ">", true, nil
	}
	v, ok := e.params[name]
	if !ok {
		return "", false, fmt.Errorf("unknown %s in a Ref", name)
	}
	return v, true, nil
}

// sub replaces the ${...} of an Fn::Sub text; it returns the text as far as
// it could replace, and an error naming the first variable it could not.
func (e *evaluator) sub(text string) (string, error) {
	var firstErr error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := pseudo[name]; ok {
			return v
		}
		if v, ok := e.params[name]; ok {
			return v
		}
		if id, attr, ok := strings.Cut(name, "."); ok && e.resources[id] {
			return "<" + id + "." + attr + ">"
		}
		if e.resources[name] {
			return "<" + name + ">"
		}
		firstErr = fmt.Errorf("Fn::Sub: unknown %s", name)
		return m
	})
	return out, firstErr
}

// findInMap evaluates the arguments of an Fn::FindInMap and looks them up
// in the Mappings section.
func (e *evaluator) findInMap(args []*yaml.Node) (string, error) {
	if len(args) != 3 {
		return "", errors.New("Fn::FindInMap needs three arguments")
	}
	var keys [3]string
	for i, a := range args {
		var err error
		if keys[i], _, err = e.value(a); err != nil {
			return "", err
		}
	}
	v := get(get(get(get(e.root, "Mappings"), keys[0]), keys[1]), keys[2])
	if v == nil {
		return "", fmt.Errorf("Fn::FindInMap: no %v", keys)
	}
	return v.Value, nil
}

// pseudo are the pseudo parameters' values in a deployment.
var pseudo = map[string]string{
	"AWS::StackName": "credres", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
	"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
}
