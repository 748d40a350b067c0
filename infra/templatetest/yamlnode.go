package templatetest

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Helpers that read the template's YAML nodes and CloudFormation intrinsics.

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// entry returns the key and value nodes of a mapping entry.
func entry(m *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], deref(m.Content[i+1])
		}
	}
	return nil, nil
}

func get(m *yaml.Node, key string) *yaml.Node {
	_, v := entry(m, key)
	return v
}

func seq(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// scalar is the text of an untagged (plain or quoted) scalar, "" otherwise.
func scalar(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return ""
	}
	return n.Value
}

func truthy(n *yaml.Node) bool { return strings.EqualFold(scalar(n), "true") }

func intOf(n *yaml.Node, def int) int {
	if v, err := strconv.Atoi(scalar(n)); err == nil {
		return v
	}
	return def
}

// describe renders a node briefly for a message.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return ""
	case n.Kind == yaml.ScalarNode && n.Tag != "" && !strings.HasPrefix(n.Tag, "!!"):
		return n.Tag + " " + n.Value
	case n.Kind == yaml.ScalarNode:
		return n.Value
	case n.Kind == yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			parts[i] = describe(c)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return n.Tag
}

// scalars returns the untagged scalar values under n.
func scalars(n *yaml.Node) []string {
	var out []string
	for _, l := range leaves(n) {
		if s := scalar(l); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// leaves returns the values a property can take: the node itself, the items
// of a list, both branches of !If (its condition name left out) and the
// node of an intrinsic function as one leaf.
func leaves(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	if n == nil {
		return nil
	}
	if args := ifArgs(n); args != nil {
		return append(leaves(args[1]), leaves(args[2])...)
	}
	if n.Kind == yaml.SequenceNode && !isIntrinsic(n) {
		var out []*yaml.Node
		for _, c := range n.Content {
			out = append(out, leaves(c)...)
		}
		return out
	}
	if id, ok := ref(n); ok && id == "AWS::NoValue" {
		return nil
	}
	return []*yaml.Node{n}
}

func isIntrinsic(n *yaml.Node) bool {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		return k == "Ref" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// ifArgs returns the three arguments of !If / Fn::If.
func ifArgs(n *yaml.Node) []*yaml.Node {
	var args *yaml.Node
	switch {
	case n.Tag == "!If":
		args = n
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::If":
		args = deref(n.Content[1])
	default:
		return nil
	}
	if args.Kind != yaml.SequenceNode || len(args.Content) != 3 {
		return nil
	}
	return args.Content
}

// ref returns the logical id of !Ref X or {Ref: X}.
func ref(n *yaml.Node) (string, bool) {
	n = deref(n)
	switch {
	case n == nil:
		return "", false
	case n.Tag == "!Ref" && n.Kind == yaml.ScalarNode:
		return n.Value, true
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Ref":
		return n.Content[1].Value, true
	}
	return "", false
}

// getAtt returns the logical id and attribute of !GetAtt X.Attr,
// !GetAtt [X, Attr] or {Fn::GetAtt: [X, Attr]}.
func getAtt(n *yaml.Node) (string, string, bool) {
	n = deref(n)
	if n == nil {
		return "", "", false
	}
	var arg *yaml.Node
	switch {
	case n.Tag == "!GetAtt":
		arg = n
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::GetAtt":
		arg = deref(n.Content[1])
	default:
		return "", "", false
	}
	switch arg.Kind {
	case yaml.ScalarNode:
		id, attr, ok := strings.Cut(arg.Value, ".")
		return id, attr, ok
	case yaml.SequenceNode:
		if len(arg.Content) == 2 {
			return arg.Content[0].Value, arg.Content[1].Value, true
		}
	}
	return "", "", false
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// subText returns the template string of !Sub / Fn::Sub, or a plain
// scalar's text, so that names built from the stack name can be compared.
func subText(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return ""
	case n.Tag == "!Sub" && n.Kind == yaml.ScalarNode:
		return n.Value
	case n.Tag == "!Sub" && n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		return n.Content[0].Value
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "Fn::Sub":
		return subText(&yaml.Node{Kind: n.Content[1].Kind, Tag: "!Sub", Value: n.Content[1].Value, Content: n.Content[1].Content})
	}
	return scalar(n)
}

// refsIn returns the logical ids a value refers to through !Ref, !GetAtt
// or !Sub (pseudo parameters left out).
func refsIn(n *yaml.Node) []string {
	n = deref(n)
	if n == nil {
		return nil
	}
	if id, ok := ref(n); ok {
		return []string{id}
	}
	if id, _, ok := getAtt(n); ok {
		return []string{id}
	}
	if s := subText(n); s != "" && (n.Tag == "!Sub" || n.Kind == yaml.MappingNode) {
		var out []string
		for _, m := range subVar.FindAllStringSubmatch(s, -1) {
			id, _, _ := strings.Cut(m[1], ".")
			if !strings.HasPrefix(id, "AWS::") {
				out = append(out, id)
			}
		}
		return out
	}
	return nil
}
