// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a configuration, located by key path and line.
// Parse, Load and FromEnv return one *Error, or several joined with
// errors.Join; use errors.As to get the first. Messages never contain secret
// values: a value that came from the environment is shown as written
// ("${VAR}"), not as expanded.
type Error struct {
	// File is the config file's path; empty for Parse and FromEnv.
	File string
	// Line is the 1-based line of the offending key or value; 0 when the
	// problem has no single line (e.g. a missing section).
	Line int
	// Key is the dotted key path, e.g. "upstreams[0].timeouts.connect".
	Key string
	// Msg is the full message; it names the key.
	Msg string
}

// Error formats the problem as "FILE line N: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File != "" {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "line %d", e.Line)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// valueInfo records where a decoded value came from, for later messages.
type valueInfo struct {
	line     int
	raw      string // the scalar as written, before expansion
	expanded bool   // raw contained ${...}; the value may be secret
}

// problems collects errors with their locations. The zero value is usable.
type problems struct {
	file string
	info map[string]valueInfo // key path -> origin; nil outside Parse
	errs []error
	// unset holds the keys whose ${VAR} could not be expanded. Such a
	// problem does not stop the checks of the rest of the file, and later
	// problems of the same key (its value left empty) are not reported.
	unset map[string]bool
}

// maxProblems bounds the report; past it a typo cascade only adds noise.
const maxProblems = 20

// at records a problem on the value at key, taking its line from info: the
// value's own line, or for a missing key the line of its nearest parent.
func (p *problems) at(key, format string, args ...any) {
	if p.unset[key] {
		return // already reported: the variable it needs is not set
	}
	line := 0
	for k := key; k != "" && line == 0; k = parentKey(k) {
		line = p.info[k].line
	}
	p.add(line, key, key+": "+fmt.Sprintf(format, args...))
}

// parentKey returns the enclosing key path: "a.b[2]" -> "a.b" -> "a" -> "".
func parentKey(key string) string {
	var i int
	switch {
	case strings.HasSuffix(key, `"]`):
		i = strings.LastIndex(key, `["`)
	case strings.HasSuffix(key, "]"):
		i = strings.LastIndexByte(key, '[')
	default:
		i = strings.LastIndexByte(key, '.')
	}
	return key[:max(i, 0)]
}

// add records a fully formed message.
func (p *problems) add(line int, key, msg string) {
	if len(p.errs) == maxProblems {
		p.errs = append(p.errs, &Error{File: p.file, Msg: "too many problems; fix the ones above first"})
	}
	if len(p.errs) > maxProblems {
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Msg: msg})
}

// show quotes the value at key for a message, or its raw text when it came
// from the environment, so a secret is never echoed.
func (p *problems) show(key, value string) string {
	if vi, ok := p.info[key]; ok && vi.expanded {
		return fmt.Sprintf("%q (expanded value not shown)", vi.raw)
	}
	return fmt.Sprintf("%q", value)
}

// decoder maps a yaml.Node tree onto the config structs. It is strict:
// unknown and duplicate keys are errors, and every scalar is checked
// against its field's type with a message saying what a good value is.
type decoder struct {
	*problems
	getenv  func(string) string
	merging map[*yaml.Node]bool   // mappings being merged, to stop "<<" cycles
	merged  map[*yaml.Node][]pair // pairs of mappings already merged, so nested "<<" lists stay linear
	nodes   int                   // values decoded so far, counting alias re-use
}

// maxNodes bounds decoding work: aliases can make a small file expand to a
// huge one ("billion laughs"). Real configs decode a few hundred values.
const maxNodes = 100_000

var durationType = reflect.TypeFor[time.Duration]()

// decode fills v from n; key is v's path for messages ("" at the top).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.nodes++; d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.add(n.Line, key, fmt.Sprintf("%s: the file expands to more than %d values (aliases re-used too often?)", keyName(key), maxNodes))
		}
		return
	}
	d.info[key] = valueInfo{line: n.Line, raw: n.Value}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" or "key: ~" leaves the zero value, i.e. the default
	}
	t := v.Type()
	switch {
	case t == durationType:
		d.duration(n, v, key)
	case t.Kind() == reflect.Pointer:
		e := reflect.New(t.Elem())
		d.decode(n, e.Elem(), key)
		v.Set(e)
	case t.Kind() == reflect.Struct:
		d.structure(n, v, key)
	case t.Kind() == reflect.Slice:
		d.list(n, v, key)
	case t.Kind() == reflect.Map:
		d.mapping(n, v, key)
	default:
		d.scalar(n, v, key)
	}
}

// text returns the scalar's value with ${VAR} expanded, and whether it is usable.
func (d *decoder) text(n *yaml.Node, key, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(n.Line, key, fmt.Sprintf("%s: must be %s, not a %s", keyName(key), want, kindName(n.Kind)))
		return "", false
	}
	s, expanded, err := expand(n.Value, d.getenv)
	d.info[key] = valueInfo{line: n.Line, raw: n.Value, expanded: expanded}
	if err != nil {
		d.add(n.Line, key, fmt.Sprintf("%s: %v", keyName(key), err))
		if d.unset == nil {
			d.unset = map[string]bool{}
		}
		d.unset[key] = true
		return "", false
	}
	return s, true
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, key string) {
	s, ok := d.text(n, key, "a duration like 10s")
	if !ok {
		return
	}
	dur, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		d.at(key, "invalid duration %s (use Go durations like 500ms, 10s, 2m)", d.show(key, s))
	case dur < 0:
		d.at(key, "duration %s is negative (use 0 for the default, or a positive value like 10s)", d.show(key, s))
	default:
		v.SetInt(int64(dur))
	}
}

// scalar decodes strings, bools, integers and floats, using YAML's own
// resolution (so 200_000 and 0x10 work) on the expanded text.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, key string) {
	var hint string
	switch v.Kind() {
	case reflect.String:
		hint = "a single value"
	case reflect.Bool:
		hint = "true or false"
	case reflect.Float32, reflect.Float64:
		hint = "a number like 0.2"
	default:
		hint = "a whole number like 100"
	}
	s, ok := d.text(n, key, hint)
	if !ok {
		return
	}
	if v.Kind() == reflect.String {
		v.SetString(s)
		return
	}
	plain := &yaml.Node{Kind: yaml.ScalarNode, Value: strings.TrimSpace(s)} // no tag: resolve as a plain scalar
	tmp := reflect.New(v.Type())
	if err := plain.Decode(tmp.Interface()); err != nil {
		d.at(key, "invalid value %s (use %s)", d.show(key, s), hint)
		return
	}
	v.Set(tmp.Elem())
}

// field is a settable struct field and its YAML key.
type field struct {
	name  string
	index int
}

func yamlFields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue // not settable from YAML (e.g. resolved secrets)
		}
		fs = append(fs, field{name, i})
	}
	return fs
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, key string) {
	fs := yamlFields(v.Type())
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, key, fmt.Sprintf("%s: must be a mapping with keys %s, not a %s",
			keyName(key), strings.Join(names, ", "), kindName(n.Kind)))
		return
	}
	for _, kv := range d.pairs(n, key) {
		var f *field
		for i := range fs {
			if fs[i].name == kv.k.Value {
				f = &fs[i]
			}
		}
		if f == nil {
			msg := fmt.Sprintf("unknown key %q %s", kv.k.Value, where(key))
			if s := suggest(kv.k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.add(kv.k.Line, join(key, kv.k.Value), msg)
			continue
		}
		d.decode(kv.v, v.Field(f.index), join(key, f.name))
	}
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, key, fmt.Sprintf("%s: must be a list (one \"- item\" per line, or [a, b]), not a %s",
			keyName(key), kindName(n.Kind)))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, e := range n.Content {
		d.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
	}
	v.Set(s)
}

// mapping decodes a map with string keys (aliases, fallbacks). Keys are
// taken literally: ${VAR} is expanded in values only.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, key, fmt.Sprintf("%s: must be a mapping (name: value), not a %s", keyName(key), kindName(n.Kind)))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, kv := range d.pairs(n, key) {
		ek := fmt.Sprintf("%s[%q]", key, kv.k.Value)
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(kv.v, e, ek)
		m.SetMapIndex(reflect.ValueOf(kv.k.Value), e)
	}
	v.Set(m)
}

type pair struct{ k, v *yaml.Node }

// pairs lists a mapping's entries with YAML merge keys ("<<: *anchor")
// applied: explicit keys win over merged ones, earlier merges over later.
// Duplicate explicit keys and non-scalar keys are reported.
func (d *decoder) pairs(n *yaml.Node, key string) []pair {
	var explicit, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge":
			merged = append(merged, d.mergeSources(v, key)...)
		case k.Kind != yaml.ScalarNode:
			d.add(k.Line, key, fmt.Sprintf("%s: keys must be plain names, not a %s", keyName(key), kindName(k.Kind)))
		case seen[k.Value]:
			d.add(k.Line, join(key, k.Value), fmt.Sprintf("duplicate key %q %s", k.Value, where(key)))
		default:
			seen[k.Value] = true
			explicit = append(explicit, pair{k, v})
		}
	}
	for _, p := range merged {
		if !seen[p.k.Value] {
			seen[p.k.Value] = true
			explicit = append(explicit, p)
		}
	}
	return explicit
}

// mergeSources returns the entries of the mapping (or list of mappings)
// named by a merge key.
func (d *decoder) mergeSources(v *yaml.Node, key string) []pair {
	for v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		if ps, ok := d.merged[v]; ok {
			return ps
		}
		if d.merging[v] {
			d.add(v.Line, key, fmt.Sprintf("%s: a merge key (<<) refers to a mapping that contains it", keyName(key)))
			return nil
		}
		if d.merging == nil {
			d.merging, d.merged = map[*yaml.Node]bool{}, map[*yaml.Node][]pair{}
		}
		d.merging[v] = true
		defer delete(d.merging, v)
		d.merged[v] = d.pairs(v, key)
		return d.merged[v]
	case yaml.SequenceNode:
		var ps []pair
		for _, e := range v.Content {
			ps = append(ps, d.mergeSources(e, key)...)
		}
		return ps
	}
	d.add(v.Line, key, fmt.Sprintf("%s: a merge key (<<) needs a mapping or a list of mappings", keyName(key)))
	return nil
}

// expand replaces ${VAR} and ${VAR:-default} in s from getenv. "$${" is a
// literal "${"; any other "$" is literal. An unset or empty VAR without a
// default is an error naming VAR (never its value). expanded reports
// whether s referred to any variable.
func expand(s string, getenv func(string) string) (out string, expanded bool, err error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), expanded, nil
		}
		if i > 0 && s[i-1] == '$' { // "$${" escapes
			b.WriteString(s[:i])
			b.WriteString("{")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", expanded, fmt.Errorf("unterminated ${ in %q (write ${VAR}, or $${ for a literal ${)", s[i:])
		}
		ref := s[i+2 : i+j]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			return "", expanded, fmt.Errorf("invalid variable reference ${%s} (names are letters, digits and _)", ref)
		}
		expanded = true
		val := getenv(name)
		if val == "" {
			if !hasDef {
				return "", expanded, fmt.Errorf("environment variable %s is not set (set it, or write ${%s:-default})", name, name)
			}
			val = def
		}
		b.WriteString(val)
		s = s[i+j+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

func keyName(key string) string {
	if key == "" {
		return "the file"
	}
	return key
}

func where(key string) string {
	if key == "" {
		return "at top level"
	}
	return "in " + key
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "document"
}

// suggest returns the name closest to s if it is plausibly a typo of it.
func suggest(s string, names []string) string {
	best, bestD := "", 3 // at most two edits
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" || bestD*3 > len(s)+2 { // short keys: only suggest near matches
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
