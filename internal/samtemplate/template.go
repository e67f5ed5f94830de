// Package samtemplate reads what deployment checks need from template.yaml: each function's
// environment, layers, IAM actions and execution model, with CloudFormation intrinsics (!Ref,
// !GetAtt, !Sub, !If) and resource conditions resolved against the parameters (their defaults, or
// values set with WithParameter) and placeholder resource names, as a deployment would see them.
package samtemplate

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Placeholder account and region used when resolving intrinsics.
const (
	Account = "123456789012"
	Region  = "us-east-1"
	Stack   = "breakerbox"
)

// Template is a parsed SAM template.
type Template struct {
	params     map[string]string
	allowed    map[string][]string
	conditions map[string]*yaml.Node
	resources  map[string]*yaml.Node
	types      map[string]string
	globalEnv  map[string]string
	globalFn   *yaml.Node
}

// PollerSid names the policy statement that lets Lambda's poller read the event source.
const PollerSid = "ReadSource"

// Function is one AWS::Serverless::Function as deployed with parameter defaults.
type Function struct {
	LogicalID string
	// Env holds the resolved environment variables.
	Env map[string]string
	// Layers are the logical ids of the attached layers.
	Layers []string
	// Actions are the IAM actions of the function's inline policy statements (every branch of an
	// !If, so a check holds for each choice of parameters), except those of PollerSid.
	Actions map[string]bool
	// PollerActions are those the Lambda service uses on the function's behalf to read its event
	// source (the statement whose Sid is PollerSid), not called by the function's code.
	PollerActions map[string]bool
	// BuildMethod is the Metadata.BuildMethod ("makefile" for every function here).
	BuildMethod string
	// Runtime and Handler are the function's own, or the Globals' (provided.al2023 and bootstrap
	// for the Go functions; python3.13 or nodejs22.x and a module.function for the examples).
	Runtime string
	Handler string
	// ScheduleInputs maps each Schedule event's name to its resolved constant Input.
	ScheduleInputs map[string]string
	// ScheduleNames maps each Schedule event that names its rule to that Name as written (the
	// text of an !Sub, unresolved).
	ScheduleNames map[string]string
	// MemoryMB is the function's MemorySize, or the Globals'.
	MemoryMB int
	// CapacityProvider is the logical id of the capacity provider the function runs on (its
	// CapacityProviderConfig.Arn), "" on Lambda's default model.
	CapacityProvider string
	// ManagedConcurrency is the resolved CapacityProviderConfig.PerExecutionEnvironmentMaxConcurrency
	// (how many invocations one execution environment serves at once), 0 on the default model.
	ManagedConcurrency int
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("samtemplate: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("samtemplate: parse %s: %w", path, err)
	}
	root := doc.Content[0]
	t := &Template{params: map[string]string{}, allowed: map[string][]string{}, conditions: map[string]*yaml.Node{}, resources: map[string]*yaml.Node{}, types: map[string]string{}}
	for name, p := range mapping(get(root, "Parameters")) {
		t.params[name] = scalar(get(p, "Default"))
		t.allowed[name] = leaves(get(p, "AllowedValues"))
	}
	t.conditions = mapping(get(root, "Conditions"))
	t.globalFn = get(get(root, "Globals"), "Function")
	t.resources = mapping(get(root, "Resources"))
	for id, r := range t.resources {
		t.types[id] = scalar(get(r, "Type"))
	}
	return t, nil
}

// WithParameter returns a copy of t that resolves parameter name to value instead of its default,
// as a deployment given that parameter would. The parameter must exist and value be one of its
// AllowedValues, if it has any.
func (t *Template) WithParameter(name, value string) (*Template, error) {
	if _, ok := t.params[name]; !ok {
		return nil, fmt.Errorf("samtemplate: no parameter %s", name)
	}
	if a := t.allowed[name]; len(a) > 0 && !slices.Contains(a, value) {
		return nil, fmt.Errorf("samtemplate: parameter %s: %q is not one of its AllowedValues %v", name, value, a)
	}
	c := *t
	c.params = maps.Clone(t.params)
	c.params[name] = value
	return &c, nil
}

// Parameter returns the value the template resolves a parameter to ("" if there is none).
func (t *Template) Parameter(name string) string { return t.params[name] }

// exists reports whether the resource is created with the template's parameters: it has no
// Condition, or its Condition holds.
func (t *Template) exists(logicalID string) (bool, error) {
	r, ok := t.resources[logicalID]
	if !ok {
		return false, fmt.Errorf("samtemplate: no resource %s", logicalID)
	}
	c := scalar(get(r, "Condition"))
	if c == "" {
		return true, nil
	}
	return t.condition(c)
}

// IsGoBinary reports whether the function is one of the Go binaries (an OS-only runtime running
// bootstrap), as opposed to a Python or Node.js handler.
func (f Function) IsGoBinary() bool { return strings.HasPrefix(f.Runtime, "provided.") }

// Functions returns every serverless function the parameters create (see exists), sorted by
// logical id.
func (t *Template) Functions() ([]Function, error) {
	var out []Function
	for id, r := range t.resources {
		if t.types[id] != "AWS::Serverless::Function" {
			continue
		}
		if ok, err := t.exists(id); err != nil {
			return nil, fmt.Errorf("%s Condition: %w", id, err)
		} else if !ok {
			continue
		}
		props := get(r, "Properties")
		f := Function{LogicalID: id, Env: map[string]string{}, Actions: map[string]bool{}, PollerActions: map[string]bool{}, BuildMethod: scalar(get(get(r, "Metadata"), "BuildMethod"))}
		f.Runtime, f.Handler = scalar(get(props, "Runtime")), scalar(get(props, "Handler"))
		if f.Runtime == "" {
			f.Runtime = scalar(get(t.globalFn, "Runtime"))
		}
		if f.Handler == "" {
			f.Handler = scalar(get(t.globalFn, "Handler"))
		}
		if err := t.model(&f, props); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		for k, v := range mapping(get(get(props, "Environment"), "Variables")) {
			s, err := t.resolve(v)
			if err != nil {
				return nil, fmt.Errorf("%s env %s: %w", id, k, err)
			}
			f.Env[k] = s
		}
		if l := get(props, "Layers"); l != nil {
			for _, item := range l.Content {
				// Layers are !If [cond, !Ref A, !Ref B]: keep every branch.
				for _, ref := range refs(item) {
					f.Layers = append(f.Layers, ref)
				}
			}
		}
		f.ScheduleInputs, f.ScheduleNames = map[string]string{}, map[string]string{}
		for name, ev := range mapping(get(props, "Events")) {
			if scalar(get(ev, "Type")) != "Schedule" {
				continue
			}
			if n := get(get(ev, "Properties"), "Name"); n != nil {
				f.ScheduleNames[name] = n.Value
			}
			if in := get(get(ev, "Properties"), "Input"); in != nil {
				v, err := t.sub(in)
				if err != nil {
					return nil, fmt.Errorf("%s event %s: %w", id, name, err)
				}
				f.ScheduleInputs[name] = v
			}
		}
		if pol := get(props, "Policies"); pol != nil {
			for _, p := range pol.Content {
				for _, st := range get(p, "Statement").Content {
					into := f.Actions
					if scalar(get(st, "Sid")) == PollerSid {
						into = f.PollerActions
					}
					for _, a := range leaves(get(st, "Action")) {
						into[a] = true
					}
				}
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out, nil
}

// resolve turns a value node into the string a deployment would see.
func (t *Template) resolve(n *yaml.Node) (string, error) {
	switch n.Tag {
	case "!Ref":
		return t.ref(n.Value)
	case "!GetAtt":
		res, attr, _ := strings.Cut(n.Value, ".")
		if attr != "Arn" {
			return "", fmt.Errorf("GetAtt %s: only .Arn is resolved", n.Value)
		}
		return t.arn(res)
	case "!If":
		ok, err := t.condition(n.Content[0].Value)
		if err != nil {
			return "", err
		}
		if ok {
			return t.resolve(n.Content[1])
		}
		return t.resolve(n.Content[2])
	case "!Sub":
		return "", fmt.Errorf("!Sub is not resolved for environment values")
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("unsupported value at line %d", n.Line)
	}
	return n.Value, nil
}

func (t *Template) ref(name string) (string, error) {
	if v, ok := t.params[name]; ok {
		return v, nil
	}
	switch t.types[name] {
	case "AWS::SQS::Queue":
		return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s-%s", Region, Account, Stack, name), nil
	case "":
		return "", fmt.Errorf("Ref %s: no such parameter or resource", name)
	}
	return Stack + "-" + name, nil
}

func (t *Template) arn(res string) (string, error) {
	name := Stack + "-" + res
	switch t.types[res] {
	case "AWS::Kinesis::Stream":
		return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", Region, Account, name), nil
	case "AWS::SQS::Queue":
		return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", Region, Account, name), nil
	case "AWS::DynamoDB::Table":
		return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, Account, name), nil
	case "AWS::Serverless::Function":
		return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, Account, name), nil
	}
	return "", fmt.Errorf("GetAtt %s.Arn: resource type %q not resolved", res, t.types[res])
}

// sub resolves a plain string or an !Sub of parameters (${Name}) with their defaults.
func (t *Template) sub(n *yaml.Node) (string, error) {
	if n.Tag != "!Sub" {
		return t.resolve(n)
	}
	var err error
	out := subVar.ReplaceAllStringFunc(n.Value, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := t.params[name]
		if !ok {
			err = fmt.Errorf("!Sub %s: only parameters are resolved", m)
		}
		return v
	})
	return out, err
}

var subVar = regexp.MustCompile(`\$\{[A-Za-z0-9:]+\}`)

// condition evaluates a condition made of !Equals [!Ref Param, value].
func (t *Template) condition(name string) (bool, error) {
	c, ok := t.conditions[name]
	if !ok || c.Tag != "!Equals" || len(c.Content) != 2 {
		return false, fmt.Errorf("condition %s: only !Equals [a, b] is evaluated", name)
	}
	a, err := t.resolve(c.Content[0])
	if err != nil {
		return false, err
	}
	b, err := t.resolve(c.Content[1])
	return a == b, err
}

func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mapping(n *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i+1]
	}
	return out
}

func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// refs returns the names of every !Ref under n.
func refs(n *yaml.Node) []string {
	if n.Tag == "!Ref" {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, refs(c)...)
	}
	return out
}

// leaves returns every plain string under n, skipping the condition name of an !If.
func leaves(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	content := n.Content
	if n.Tag == "!If" {
		content = content[1:]
	}
	var out []string
	for _, c := range content {
		out = append(out, leaves(c)...)
	}
	return out
}

// Layer is one AWS::Serverless::LayerVersion.
type Layer struct {
	LogicalID string
	// Name is the LayerName.
	Name string
	// Runtimes and Architectures are CompatibleRuntimes and CompatibleArchitectures, in order.
	Runtimes      []string
	Architectures []string
}

// Layers returns every serverless layer, sorted by logical id.
func (t *Template) Layers() ([]Layer, error) {
	var out []Layer
	for id, r := range t.resources {
		if t.types[id] != "AWS::Serverless::LayerVersion" {
			continue
		}
		props := get(r, "Properties")
		l := Layer{LogicalID: id}
		name, err := t.resolve(get(props, "LayerName"))
		if err != nil {
			return nil, fmt.Errorf("%s LayerName: %w", id, err)
		}
		l.Name = name
		l.Runtimes = leaves(get(props, "CompatibleRuntimes"))
		l.Architectures = leaves(get(props, "CompatibleArchitectures"))
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out, nil
}

// model fills the function's memory size and, on a capacity provider, which one and how many
// invocations one environment serves.
func (t *Template) model(f *Function, props *yaml.Node) error {
	mem := get(props, "MemorySize")
	if mem == nil {
		mem = get(t.globalFn, "MemorySize")
	}
	if mem != nil {
		n, err := t.number(mem)
		if err != nil {
			return fmt.Errorf("MemorySize: %w", err)
		}
		f.MemoryMB = n
	}
	cp := get(props, "CapacityProviderConfig")
	if cp == nil {
		return nil
	}
	arn := get(cp, "Arn")
	res, attr, _ := strings.Cut(scalar(arn), ".")
	if arn == nil || arn.Tag != "!GetAtt" || attr != "Arn" || t.types[res] != "AWS::Lambda::CapacityProvider" {
		return fmt.Errorf("CapacityProviderConfig.Arn: want !GetAtt <an AWS::Lambda::CapacityProvider of the template>.Arn")
	}
	f.CapacityProvider = res
	// Without it Lambda picks a number per vCPU that depends on the runtime; the template says it.
	c := get(cp, "PerExecutionEnvironmentMaxConcurrency")
	if c == nil {
		return fmt.Errorf("CapacityProviderConfig has no PerExecutionEnvironmentMaxConcurrency: set it (Lambda's default depends on the runtime)")
	}
	n, err := t.number(c)
	if err != nil {
		return fmt.Errorf("CapacityProviderConfig.PerExecutionEnvironmentMaxConcurrency: %w", err)
	}
	f.ManagedConcurrency = n
	return nil
}

// number resolves a value node to an integer.
func (t *Template) number(n *yaml.Node) (int, error) {
	s, err := t.resolve(n)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return v, nil
}
