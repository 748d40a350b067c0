package templatetest

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The check that the secrets functions name and the secrets their roles
// may read match, under the conditions (!If branches) that lead to each.

// secretUse is a secret named in a function's environment, or granted by a
// role, under the conditions of the !If branches that lead to it.
type secretUse struct {
	key   string // the secret: "!Ref Param", a literal ARN, ...
	guard string // the conditions, "" for always
	line  int
	owner string // the function or role
	via   string // the variable naming it (environment side)
}

// checkSecretGrants compares, per role, the secrets its functions'
// environments name through the SecretRefEnv variables with the secrets
// the role lets them read (secretsmanager:GetSecretValue). Each must match
// the other under the same conditions: a secret named but not granted
// fails at start-up, one granted but not named is a right nobody uses.
func (t *tpl) checkSecretGrants() {
	if len(t.opt.SecretRefEnv) == 0 {
		return
	}
	given := map[string][]secretUse{} // role id -> secrets its functions are given
	for _, fn := range t.functions() {
		_, rv := t.prop(fn, "Role")
		id, attr, ok := getAtt(rv)
		if role := t.resources[id]; !ok || attr != "Arn" || role == nil || role.typ != "AWS::IAM::Role" {
			continue // RuleFunctionRole reports it
		}
		if _, seen := given[id]; !seen {
			given[id] = []secretUse{}
		}
		for _, vars := range []*yaml.Node{get(get(t.globals, "Environment"), "Variables"), get(get(fn.props, "Environment"), "Variables")} {
			vars = deref(vars)
			if vars == nil || vars.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(vars.Content); i += 2 {
				k := vars.Content[i]
				if !slices.Contains(t.opt.SecretRefEnv, k.Value) {
					continue
				}
				for _, g := range guardedLeaves(vars.Content[i+1], nil) {
					if key := secretKey(g.node); key != "" {
						given[id] = append(given[id], secretUse{key: key, guard: guardText(g.terms), line: k.Line, owner: fn.id, via: k.Value})
					}
				}
			}
		}
	}
	same := func(list []secretUse, u secretUse) bool {
		return slices.ContainsFunc(list, func(o secretUse) bool { return o.key == u.key && o.guard == u.guard })
	}
	for _, role := range t.ofType("AWS::IAM::Role") {
		names, used := given[role.id]
		if !used {
			continue // not a function's role
		}
		var grants []secretUse
		for _, p := range seq(get(role.props, "Policies")) {
			for _, st := range guardedStatements(get(get(p, "PolicyDocument"), "Statement"), nil) {
				if !strings.EqualFold(scalar(get(st.node, "Effect")), "Allow") || !slices.ContainsFunc(scalars(get(st.node, "Action")), isGetSecretValue) {
					continue
				}
				for _, r := range guardedLeaves(get(st.node, "Resource"), st.terms) {
					if key := secretKey(r.node); key != "" {
						grants = append(grants, secretUse{key: key, guard: guardText(r.terms), line: r.node.Line, owner: role.id})
					}
				}
			}
		}
		for _, u := range names {
			if !same(grants, u) {
				t.fail(RuleSecretGrant, u.owner, u.line, "%s names the secret %s (%s), but %s does not grant secretsmanager:GetSecretValue on it under the same conditions: the function could not read it", u.via, u.key, when(u.guard), role.id)
			}
		}
		for _, g := range grants {
			if !same(names, g) {
				t.fail(RuleSecretGrant, role.id, g.line, "secretsmanager:GetSecretValue on %s (%s), but no function of this role is given that secret under the same conditions: grant a secret only to the function that reads it, under the condition that sets its variable", g.key, when(g.guard))
			}
		}
	}
}

func isGetSecretValue(action string) bool {
	return strings.EqualFold(action, "secretsmanager:GetSecretValue")
}

// secretKey identifies the secret a value names, "" for none.
func secretKey(n *yaml.Node) string {
	n = deref(n)
	if id, ok := ref(n); ok {
		return "!Ref " + id
	}
	if id, attr, ok := getAtt(n); ok {
		return "!GetAtt " + id + "." + attr
	}
	if n.Tag == "!Sub" || n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::Sub" {
		return "!Sub " + subText(n)
	}
	return scalar(n)
}

// guarded is a node with the !If conditions that lead to it: "Cond" for
// the true branch, "!Cond" for the false one, sorted.
type guarded struct {
	node  *yaml.Node
	terms []string
}

// guardText writes a guard for comparison and messages; "" is always.
func guardText(terms []string) string { return strings.Join(terms, " and ") }

func when(guard string) string {
	if guard == "" {
		return "always"
	}
	return "when " + guard
}

// within adds a condition term to a guard; false when the guard already
// holds its negation, so that the branch can never be taken.
func within(terms []string, term string) ([]string, bool) {
	neg := "!" + term
	if strings.HasPrefix(term, "!") {
		neg = term[1:]
	}
	if slices.Contains(terms, neg) {
		return nil, false
	}
	out := append(slices.Clone(terms), term)
	slices.Sort(out)
	return slices.Compact(out), true
}

// branches returns the branches of an !If that can be taken, each with its
// guard; ok is false when n is not an !If.
func branches(n *yaml.Node, terms []string) (out []guarded, ok bool) {
	args := ifArgs(n)
	if args == nil {
		return nil, false
	}
	cond := scalar(args[0])
	if g, ok := within(terms, cond); ok {
		out = append(out, guarded{args[1], g})
	}
	if g, ok := within(terms, "!"+cond); ok {
		out = append(out, guarded{args[2], g})
	}
	return out, true
}

// guardedLeaves is leaves, with the conditions that lead to each leaf.
func guardedLeaves(n *yaml.Node, terms []string) []guarded {
	n = deref(n)
	if n == nil {
		return nil
	}
	if bs, ok := branches(n, terms); ok {
		var out []guarded
		for _, b := range bs {
			out = append(out, guardedLeaves(b.node, b.terms)...)
		}
		return out
	}
	if n.Kind == yaml.SequenceNode && !isIntrinsic(n) {
		var out []guarded
		for _, c := range n.Content {
			out = append(out, guardedLeaves(c, terms)...)
		}
		return out
	}
	if id, ok := ref(n); ok && id == "AWS::NoValue" {
		return nil
	}
	return []guarded{{n, terms}}
}

// guardedStatements is statements, with the conditions that lead to each.
func guardedStatements(n *yaml.Node, terms []string) []guarded {
	n = deref(n)
	if n == nil {
		return nil
	}
	if bs, ok := branches(n, terms); ok {
		var out []guarded
		for _, b := range bs {
			out = append(out, guardedStatements(b.node, b.terms)...)
		}
		return out
	}
	switch n.Kind {
	case yaml.SequenceNode:
		var out []guarded
		for _, c := range n.Content {
			out = append(out, guardedStatements(c, terms)...)
		}
		return out
	case yaml.MappingNode:
		if id, ok := ref(n); ok && id == "AWS::NoValue" {
			return nil
		}
		return []guarded{{n, terms}}
	}
	return nil
}

// roleStatements returns the statements of a role's inline policies.
func roleStatements(role *resource) []*yaml.Node {
	var out []*yaml.Node
	for _, p := range seq(get(role.props, "Policies")) {
		out = append(out, statements(get(get(p, "PolicyDocument"), "Statement"))...)
	}
	return out
}

// statements flattens a Statement value: a list, a single statement, and
// statements chosen by !If (both branches; AWS::NoValue dropped).
func statements(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil {
		return nil
	}
	if args := ifArgs(n); args != nil {
		return append(statements(args[1]), statements(args[2])...)
	}
	switch n.Kind {
	case yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, statements(c)...)
		}
		return out
	case yaml.MappingNode:
		if id, ok := ref(n); ok && id == "AWS::NoValue" {
			return nil
		}
		return []*yaml.Node{n}
	}
	return nil
}
