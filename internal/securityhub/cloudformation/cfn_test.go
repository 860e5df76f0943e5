package cloudformation

// The checks in this file stand in for cfn-lint, which is not available here: every template the
// package writes is read back by goformation, checked against CloudFormation's resource
// specification, and has its references resolved, before any test looks at what it says.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	goformation "github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/awslabs/goformation/v7/schema"
)

// parsed is a template read back, in two forms: doc, the plain JSON tree with intrinsics replaced by
// placeholders ("{Ref:X}", "{GetAtt:X.Y}", "{Sub:...}"), and tpl, goformation's typed view.
type parsed struct {
	doc map[string]any
	tpl *goformation.Template
}

// goformation's YAML reader registers its tag handlers in a package-level map on every call, so
// concurrent calls race; parses take turns.
var parseMu sync.Mutex

// parse reads a template as CloudFormation would and fails the test on anything CloudFormation or
// cfn-lint would refuse that these checks can see.
func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	p, errs := parseTemplate(data)
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return p
}

// parseTemplate is parse without the test: it returns every problem found.
func parseTemplate(data []byte) (parsed, []error) {
	var refs []string
	var getAtts [][2]string
	var subs []string
	ph := func(kind, s string) string { return "{" + kind + ":" + s + "}" }
	opts := &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
		// A Ref becomes a placeholder of the shape its target has, so that typed decoding
		// checks it: a list parameter yields a list.
		"Ref": func(_ string, input, template any) any {
			name, _ := input.(string)
			refs = append(refs, name)
			if typ := dig(template, "Parameters", name, "Type"); typ == "CommaDelimitedList" || strings.HasPrefix(fmt.Sprint(typ), "List<") {
				return []any{ph("Ref", name)}
			}
			return ph("Ref", name)
		},
		"Fn::GetAtt": func(_ string, input, _ any) any {
			var res, attr string
			switch v := input.(type) {
			case string:
				res, attr, _ = strings.Cut(v, ".")
			case []any:
				if len(v) == 2 {
					res, attr = fmt.Sprint(v[0]), fmt.Sprint(v[1])
				}
			}
			getAtts = append(getAtts, [2]string{res, attr})
			return ph("GetAtt", res+"."+attr)
		},
		"Fn::Sub": func(_ string, input, _ any) any {
			s, _ := input.(string)
			subs = append(subs, s)
			return ph("Sub", s)
		},
		"Fn::Equals": func(_ string, input, _ any) any { return map[string]any{"Fn::Equals": input} },
	}}

	parseMu.Lock()
	processed, err := intrinsics.ProcessYAML(data, opts)
	parseMu.Unlock()
	if err != nil {
		return parsed{}, []error{fmt.Errorf("goformation cannot read the template: %w", err)}
	}
	var doc map[string]any
	if err := json.Unmarshal(processed, &doc); err != nil {
		return parsed{}, []error{err}
	}

	errs := checkSchema(doc)
	errs = append(errs, checkReferences(doc, refs, getAtts, subs)...)
	errs = append(errs, checkParameterDefaults(doc)...)

	// goformation knows every resource type of the specification it was generated from, and each
	// type's UnmarshalJSON refuses unknown properties (DisallowUnknownFields). Types newer than
	// that specification (AWS::SecurityHub::ActionTarget, in v7.14.9) were checked above against
	// their documented schema and are left out of the typed view, which could not hold them.
	known := goformation.AllResources()
	typed := maps.Clone(doc)
	resources := map[string]any{}
	for id, r := range asMap(doc["Resources"]) {
		typ, _ := asMap(r)["Type"].(string)
		if known[typ] == nil {
			continue
		}
		resources[id] = r
		raw, _ := json.Marshal(r)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(goformation.AllResources()[typ]); err != nil {
			errs = append(errs, fmt.Errorf("resource %s (%s) does not decode into goformation's type: %w", id, typ, err))
		}
	}
	typed["Resources"] = resources
	raw, _ := json.Marshal(typed)
	tpl := &goformation.Template{}
	if err := json.Unmarshal(raw, tpl); err != nil {
		errs = append(errs, fmt.Errorf("goformation cannot decode the template: %w", err))
	}
	return parsed{doc: doc, tpl: tpl}, errs
}

// actionTargetSchema is AWS::SecurityHub::ActionTarget as documented in the CloudFormation template
// reference (aws-resource-securityhub-actiontarget): Description, Id and Name, all required strings.
// goformation v7.14.9's specification predates it; a newer one's definition wins.
const actionTargetSchema = `{
  "additionalProperties": false,
  "properties": {
    "Condition": {"type": "string"},
    "DeletionPolicy": {"enum": ["Delete", "Retain", "Snapshot"], "type": "string"},
    "DependsOn": {},
    "Metadata": {"type": "object"},
    "Properties": {
      "additionalProperties": false,
      "properties": {
        "Description": {"type": "string"},
        "Id": {"type": "string"},
        "Name": {"type": "string"}
      },
      "required": ["Description", "Id", "Name"],
      "type": "object"
    },
    "Type": {"enum": ["AWS::SecurityHub::ActionTarget"], "type": "string"},
    "UpdateReplacePolicy": {"enum": ["Delete", "Retain", "Snapshot"], "type": "string"}
  },
  "required": ["Type", "Properties"],
  "type": "object"
}`

var (
	specOnce sync.Once
	spec     struct {
		Definitions map[string]any `json:"definitions"`
		Properties  map[string]any `json:"properties"`
	}
)

func definitions() map[string]any {
	specOnce.Do(func() {
		if err := json.Unmarshal([]byte(schema.CloudformationSchema), &spec); err != nil {
			panic(err)
		}
		if _, ok := spec.Definitions["AWS::SecurityHub::ActionTarget"]; !ok {
			var def any
			if err := json.Unmarshal([]byte(actionTargetSchema), &def); err != nil {
				panic(err)
			}
			spec.Definitions["AWS::SecurityHub::ActionTarget"] = def
		}
	})
	return spec.Definitions
}

var logicalID = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// checkSchema validates the template's sections, parameters and every resource against the JSON
// schema goformation generates from CloudFormation's resource specification: property names,
// required properties, nesting and types.
func checkSchema(doc map[string]any) []error {
	defs := definitions()
	var errs []error
	errs = append(errs, validate("template", doc, map[string]any{
		"type": "object", "additionalProperties": false, "properties": spec.Properties,
		"required": []any{"Resources"},
	}, defs)...)
	for _, section := range []string{"Parameters", "Conditions", "Resources", "Outputs"} {
		for id := range asMap(doc[section]) {
			if !logicalID.MatchString(id) {
				errs = append(errs, fmt.Errorf("%s: logical id %q is not alphanumeric", section, id))
			}
		}
	}
	for id, p := range asMap(doc["Parameters"]) {
		errs = append(errs, validate("Parameters."+id, p, defs["Parameter"], defs)...)
	}
	for id, o := range asMap(doc["Outputs"]) {
		errs = append(errs, validate("Outputs."+id, o, map[string]any{
			"type": "object", "additionalProperties": false, "required": []any{"Value"},
			"properties": map[string]any{"Value": map[string]any{}, "Description": map[string]any{"type": "string"}, "Export": map[string]any{"type": "object"}, "Condition": map[string]any{"type": "string"}},
		}, defs)...)
	}
	for id, r := range asMap(doc["Resources"]) {
		typ, _ := asMap(r)["Type"].(string)
		def, ok := defs[typ]
		if !ok {
			errs = append(errs, fmt.Errorf("resource %s: unknown type %q", id, typ))
			continue
		}
		errs = append(errs, validate("Resources."+id, r, def, defs)...)
	}
	return errs
}

// validate checks v against the subset of JSON Schema the specification uses. Scalars are
// compared as CloudFormation compares them: it turns numbers and booleans into strings where a
// string is wanted, and the reverse.
func validate(path string, v any, s any, defs map[string]any) []error {
	sm := asMap(s)
	if r, ok := sm["$ref"].(string); ok {
		return validate(path, v, defs[strings.TrimPrefix(r, "#/definitions/")], defs)
	}
	if alts, ok := sm["anyOf"].([]any); ok {
		for _, alt := range alts {
			if len(validate(path, v, alt, defs)) == 0 {
				return nil
			}
		}
		return []error{fmt.Errorf("%s: matches none of the allowed forms", path)}
	}
	var errs []error
	if typ, ok := sm["type"]; ok && !typeOK(v, typ) {
		return []error{fmt.Errorf("%s: want %v, have %T (%v)", path, typ, v, v)}
	}
	if enum, ok := sm["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Errorf("%s: %v is not one of %v", path, v, enum))
	}
	if max, ok := sm["maxLength"].(float64); ok {
		if s, ok := v.(string); ok && len(s) > int(max) {
			errs = append(errs, fmt.Errorf("%s: %d characters, more than %d", path, len(s), int(max)))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props := asMap(sm["properties"])
		for _, k := range sortedKeys(v) {
			if ps, ok := props[k]; ok {
				errs = append(errs, validate(path+"."+k, v[k], ps, defs)...)
			} else if sm["additionalProperties"] == false && sm["patternProperties"] == nil {
				errs = append(errs, fmt.Errorf("%s: unknown property %q (known: %s)", path, k, strings.Join(sortedKeys(props), ", ")))
			}
		}
		if req, ok := sm["required"].([]any); ok {
			for _, k := range req {
				if _, ok := v[k.(string)]; !ok {
					errs = append(errs, fmt.Errorf("%s: required property %q is missing", path, k))
				}
			}
		}
	case []any:
		if items, ok := sm["items"]; ok {
			for i, item := range v {
				errs = append(errs, validate(fmt.Sprintf("%s[%d]", path, i), item, items, defs)...)
			}
		}
	}
	return errs
}

func typeOK(v any, typ any) bool {
	if list, ok := typ.([]any); ok {
		return slices.ContainsFunc(list, func(t any) bool { return typeOK(v, t) })
	}
	switch v.(type) {
	case map[string]any:
		return typ == "object"
	case []any:
		return typ == "array"
	case string, float64, bool:
		return typ == "string" || typ == "number" || typ == "integer" || typ == "boolean"
	case nil:
		return false
	}
	return false
}

// pseudoParameters are the Refs CloudFormation defines itself.
var pseudoParameters = []string{"AWS::AccountId", "AWS::NoValue", "AWS::Partition", "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}

// attributes are the Fn::GetAtt names each resource type the package uses returns, from the
// CloudFormation template reference's "Return values" sections.
var attributes = map[string][]string{
	"AWS::SNS::Topic":                {"TopicArn", "TopicName"},
	"AWS::Events::Rule":              {"Arn"},
	"AWS::SecurityHub::ActionTarget": {"ActionTargetArn"},
	"AWS::IAM::Role":                 {"Arn", "RoleId"},
	"AWS::CloudFormation::StackSet":  {"StackSetId"},
}

var subVariable = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// checkReferences makes sure every Ref, Fn::GetAtt, ${} in Fn::Sub and resource Condition names
// something the template declares, as CloudFormation does before it creates anything.
func checkReferences(doc map[string]any, refs []string, getAtts [][2]string, subs []string) []error {
	params, resources, conditions := asMap(doc["Parameters"]), asMap(doc["Resources"]), asMap(doc["Conditions"])
	var errs []error
	checkRef := func(where, name string) {
		if _, ok := params[name]; ok {
			return
		}
		if _, ok := resources[name]; ok {
			return
		}
		if !slices.Contains(pseudoParameters, name) {
			errs = append(errs, fmt.Errorf("%s: %q is neither a parameter, a resource nor a pseudo parameter", where, name))
		}
	}
	checkAtt := func(where, res, attr string) {
		r, ok := resources[res]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no resource %q", where, res))
			return
		}
		typ, _ := asMap(r)["Type"].(string)
		if !slices.Contains(attributes[typ], attr) {
			errs = append(errs, fmt.Errorf("%s: %s (%s) has no attribute %q (has %v)", where, res, typ, attr, attributes[typ]))
		}
	}
	for _, r := range refs {
		checkRef("Ref", r)
	}
	for _, g := range getAtts {
		checkAtt("Fn::GetAtt", g[0], g[1])
	}
	for _, s := range subs {
		for _, m := range subVariable.FindAllStringSubmatch(s, -1) {
			if res, attr, ok := strings.Cut(m[1], "."); ok {
				checkAtt("Fn::Sub", res, attr)
			} else {
				checkRef("Fn::Sub", m[1])
			}
		}
	}
	for id, r := range resources {
		if c, ok := asMap(r)["Condition"].(string); ok {
			if _, ok := conditions[c]; !ok {
				errs = append(errs, fmt.Errorf("resource %s: condition %q is not declared", id, c))
			}
		}
	}
	return errs
}

// checkParameterDefaults makes sure a stack deployed with the defaults passes the template's own
// parameter constraints.
func checkParameterDefaults(doc map[string]any) []error {
	var errs []error
	for id, p := range asMap(doc["Parameters"]) {
		pm := asMap(p)
		def, ok := pm["Default"]
		if !ok {
			continue
		}
		s := fmt.Sprint(def)
		values := []string{s}
		if pm["Type"] == "CommaDelimitedList" {
			values = strings.Split(s, ",")
		}
		for _, v := range values {
			if pat, ok := pm["AllowedPattern"].(string); ok && !regexp.MustCompile(pat).MatchString(v) {
				errs = append(errs, fmt.Errorf("parameter %s: default %q does not match its AllowedPattern %s", id, v, pat))
			}
			if allowed, ok := pm["AllowedValues"].([]any); ok && !slices.Contains(allowed, any(v)) {
				errs = append(errs, fmt.Errorf("parameter %s: default %q is not among its AllowedValues %v", id, v, allowed))
			}
			if min, ok := pm["MinLength"].(float64); ok && len(v) < int(min) {
				errs = append(errs, fmt.Errorf("parameter %s: default %q is shorter than MinLength %v", id, v, min))
			}
			if max, ok := pm["MaxLength"].(float64); ok && len(v) > int(max) {
				errs = append(errs, fmt.Errorf("parameter %s: default %q is longer than MaxLength %v", id, v, max))
			}
		}
	}
	return errs
}

// Helpers for reading the JSON tree.

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// dig follows keys through nested maps and list indexes (ints); nil when the path is absent.
func dig(v any, path ...any) any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			v = asMap(v)[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}

// strings of a JSON list, for comparisons.
func stringList(v any) []string {
	var out []string
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
	case string:
		out = []string{v}
	}
	return out
}
