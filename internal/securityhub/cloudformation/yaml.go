package cloudformation

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The templates are built as yaml.v3 node trees rather than marshalled from maps or from
// goformation's structs: a node tree keeps keys in the order written here (so output is stable and
// reads top-down like a hand-written template), can carry comments, and can use the short-form
// intrinsic tags (!Ref, !GetAtt, !Sub) people expect to see in a CloudFormation YAML file.

// field is one key of a mapping, with an optional comment line(s) printed above it.
type field struct {
	key     string
	value   *yaml.Node
	comment string
}

func f(key string, value *yaml.Node) field { return field{key: key, value: value} }

// fc is f with a comment above the key.
func fc(comment, key string, value *yaml.Node) field {
	return field{key: key, value: value, comment: comment}
}

// obj builds a mapping; a field with a nil value is left out, so optional keys can be written
// inline.
func obj(fields ...field) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, fl := range fields {
		if fl.value == nil {
			continue
		}
		k := str(fl.key)
		if fl.comment != "" {
			k.HeadComment = "# " + strings.ReplaceAll(fl.comment, "\n", "\n# ")
		}
		n.Content = append(n.Content, k, fl.value)
	}
	return n
}

// str is a string scalar; the !!str tag makes the encoder quote values such as "true" or
// "2012-10-17" that would otherwise read back as another type.
func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// optStr is str, or nil (leave the key out) for "".
func optStr(s string) *yaml.Node {
	if s == "" {
		return nil
	}
	return str(s)
}

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

// literal is a multi-line string printed as a YAML literal block, for embedded templates.
func literal(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle, Value: s}
}

// list is a block sequence.
func list(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

// flow is a one-line sequence, for short lists such as event pattern values.
func flow(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: items}
}

func strs(ss ...string) *yaml.Node {
	n := flow()
	for _, s := range ss {
		n.Content = append(n.Content, str(s))
	}
	return n
}

func ref(name string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: name}
}

func getAtt(resource, attribute string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!GetAtt", Value: resource + "." + attribute}
}

func sub(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!Sub", Value: s}
}

func equals(a, b *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!Equals", Style: yaml.FlowStyle, Content: []*yaml.Node{a, b}}
}

// encode prints the document with the header comment lines on top.
func encode(header string, root *yaml.Node) ([]byte, error) {
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: header, Content: []*yaml.Node{root}}
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	if err := e.Close(); err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	return b.Bytes(), nil
}
