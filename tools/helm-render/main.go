// helm-render renders a Helm chart the way `helm template` does, for the subset of
// Helm that peregrine's chart uses. It exists because the helm binary cannot be
// installed on the build machine (no Debian package, no downloads); it is built from
// Debian's Go packages: Go's text/template, sprig v3 (the function library Helm
// itself uses) and sigs.k8s.io/yaml (the YAML library Helm's toYaml/fromYaml use).
//
// Supported: Chart.yaml → .Chart; values.yaml deep-merged with -f files and then
// --set / --set-string (Helm's coalescing: maps merge, a null deletes a key);
// .Release (Name, Namespace, Service, IsInstall, IsUpgrade, Revision);
// .Capabilities (KubeVersion, APIVersions.Has); .Template (Name, BasePath);
// .Files.Get; every templates/*.yaml|yml|tpl|txt file parsed into one set so
// partials (_helpers.tpl) are shared; include, tpl, required, toYaml, fromYaml,
// fromYamlArray, toJson, fromJson, fromJsonArray, lookup (always empty, as in
// `helm template`), sprig without env/expandenv (removed, as in Helm).
// Files whose name starts with "_" produce no output; NOTES.txt is executed (its errors fail) but
// not printed. Each rendered
// file that is not blank is printed after "---\n# Source: <chart>/templates/<file>"
// and must parse as YAML, or rendering fails naming the file.
//
// Not supported (the chart does not use them): subcharts/dependencies,
// values.schema.json, hooks ordering, --show-only, Files.Glob/AsConfig/AsSecrets.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	yaml3 "gopkg.in/yaml.v3"
	"sigs.k8s.io/yaml"
)

// Values is the tree of chart values.
type Values = map[string]interface{}

// ChartMeta mirrors the fields of Helm's chart.Metadata that templates read as .Chart.
type ChartMeta struct {
	APIVersion  string            `json:"apiVersion"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	AppVersion  string            `json:"appVersion"`
	Description string            `json:"description"`
	Type        string            `json:"type"`
	KubeVersion string            `json:"kubeVersion"`
	Home        string            `json:"home"`
	Icon        string            `json:"icon"`
	Sources     []string          `json:"sources"`
	Keywords    []string          `json:"keywords"`
	Annotations map[string]string `json:"annotations"`
	Deprecated  bool              `json:"deprecated"`
}

// KubeVersion mirrors Helm's chartutil.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

// String returns the version, as Helm's does.
func (k KubeVersion) String() string { return k.Version }

// GitVersion is the deprecated alias templates still use.
func (k KubeVersion) GitVersion() string { return k.Version }

// VersionSet mirrors Helm's chartutil.VersionSet.
type VersionSet []string

// Has reports whether the API version (or "group/version/Kind") is available.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// Capabilities mirrors Helm's chartutil.Capabilities (the part templates read).
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

// ReleaseInfo mirrors the .Release object.
type ReleaseInfo struct {
	Name      string
	Namespace string
	Service   string
	IsInstall bool
	IsUpgrade bool
	Revision  int
}

// TemplateInfo mirrors the .Template object.
type TemplateInfo struct {
	Name     string
	BasePath string
}

// Files gives templates read access to the chart's non-template files.
type Files map[string][]byte

// Get returns a file's content, or "" when absent (as Helm does).
func (f Files) Get(name string) string { return string(f[name]) }

// GetBytes returns a file's content as bytes.
func (f Files) GetBytes(name string) []byte { return f[name] }

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type options struct {
	chartDir   string
	name       string
	namespace  string
	valueFiles []string
	sets       []string
	setStrings []string
	kubeVer    string
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: helm-render [--name NAME] [--namespace NS] [-f values.yaml]... [--set k=v]... [--set-string k=v]... [--kube-version v1.30.0] CHART_DIR
Renders CHART_DIR like "helm template NAME CHART_DIR" and prints the manifests.
`)
}

func parseArgs(args []string) (*options, error) {
	o := &options{name: "release-name", namespace: "default", kubeVer: "v1.30.0"}
	next := func(i *int, flag string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("flag %s needs a value", flag)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		flag, val, hasEq := a, "", false
		if strings.HasPrefix(a, "--") {
			if k := strings.IndexByte(a, '='); k > 0 {
				flag, val, hasEq = a[:k], a[k+1:], true
			}
		}
		get := func() (string, error) {
			if hasEq {
				return val, nil
			}
			return next(&i, flag)
		}
		var err error
		switch flag {
		case "-h", "--help":
			usage(os.Stdout)
			os.Exit(0)
		case "--name":
			o.name, err = get()
		case "-n", "--namespace":
			o.namespace, err = get()
		case "-f", "--values":
			var v string
			v, err = get()
			o.valueFiles = append(o.valueFiles, v)
		case "--set":
			var v string
			v, err = get()
			o.sets = append(o.sets, v)
		case "--set-string":
			var v string
			v, err = get()
			o.setStrings = append(o.setStrings, v)
		case "--kube-version":
			o.kubeVer, err = get()
		default:
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("unknown flag %q", a)
			}
			if o.chartDir != "" {
				return nil, fmt.Errorf("unexpected argument %q (chart already given: %s)", a, o.chartDir)
			}
			o.chartDir = a
		}
		if err != nil {
			return nil, err
		}
	}
	if o.chartDir == "" {
		return nil, errors.New("missing CHART_DIR")
	}
	return o, nil
}

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "helm-render:", err)
		usage(os.Stderr)
		os.Exit(2)
	}
	out, err := render(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func readYAMLMap(path string) (Values, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	vals := Values{}
	if err := yaml.Unmarshal(data, &vals, func(d *json.Decoder) *json.Decoder { d.UseNumber(); return d }); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vals, nil
}

// coalesce merges src over dst in place: maps merge recursively, a nil value in
// src deletes the key, anything else replaces.
func coalesce(dst, src Values) Values {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := sv.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = sv
		}
	}
	return dst
}

// splitUnescaped splits s on sep, honouring backslash escapes (which are kept
// for the next stage to remove).
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
			continue
		}
		if c == sep {
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(parts, cur.String())
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// typedValue converts a --set value the way Helm's strvals does.
func typedValue(v string) interface{} {
	switch v {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if v == "0" {
		return int64(0)
	}
	if !strings.HasPrefix(v, "0") {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return v
}

// applySet applies one --set expression (a.b=c,d.e=f; lists as {x,y}; "\," and
// "\." escape) to vals.
func applySet(vals Values, expr string, asString bool) error {
	for _, assign := range splitUnescaped(expr, ',') {
		if assign == "" {
			continue
		}
		eq := strings.IndexByte(assign, '=')
		if eq <= 0 {
			return fmt.Errorf("--set %q: expected key=value", assign)
		}
		key, raw := assign[:eq], assign[eq+1:]
		path := splitUnescaped(key, '.')
		for i, p := range path {
			path[i] = unescape(p)
			if path[i] == "" {
				return fmt.Errorf("--set %q: empty key segment", assign)
			}
			if strings.ContainsAny(path[i], "[]") {
				return fmt.Errorf("--set %q: list indexes are not supported by helm-render", assign)
			}
		}
		var value interface{}
		if !asString && strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			items := []interface{}{}
			inner := raw[1 : len(raw)-1]
			if inner != "" {
				for _, it := range splitUnescaped(inner, ';') {
					items = append(items, typedValue(unescape(it)))
				}
			}
			value = items
		} else if asString {
			value = unescape(raw)
		} else {
			value = typedValue(unescape(raw))
		}
		cur := vals
		for _, p := range path[:len(path)-1] {
			next, ok := cur[p].(map[string]interface{})
			if !ok {
				next = map[string]interface{}{}
				cur[p] = next
			}
			cur = next
		}
		last := path[len(path)-1]
		if value == nil {
			delete(cur, last)
		} else {
			cur[last] = value
		}
	}
	return nil
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	a := []interface{}{}
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func required(msg string, v interface{}) (interface{}, error) {
	if v == nil {
		return v, errors.New(msg)
	}
	if s, ok := v.(string); ok && s == "" {
		return v, errors.New(msg)
	}
	return v, nil
}

const recursionLimit = 1000

func funcMap(root **template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	depth := map[string]int{}
	f["include"] = func(name string, data interface{}) (string, error) {
		if depth[name] > recursionLimit {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		depth[name]++
		defer func() { depth[name]-- }()
		var buf bytes.Buffer
		if err := (*root).ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := (*root).Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = required
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["fromJsonArray"] = fromJSONArray
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

var knownAPIVersions = VersionSet{
	"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
	"storage.k8s.io/v1", "autoscaling/v2", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1",
	"coordination.k8s.io/v1", "scheduling.k8s.io/v1", "discovery.k8s.io/v1", "node.k8s.io/v1",
}

func render(o *options) (string, error) {
	chartDir := filepath.Clean(o.chartDir)
	var meta ChartMeta
	chartYAML, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", fmt.Errorf("not a chart: %w", err)
	}
	if err := yaml.Unmarshal(chartYAML, &meta); err != nil {
		return "", fmt.Errorf("Chart.yaml: %w", err)
	}
	if meta.Name == "" || meta.Version == "" || meta.APIVersion == "" {
		return "", errors.New("Chart.yaml: apiVersion, name and version are required")
	}

	vals := Values{}
	if _, err := os.Stat(filepath.Join(chartDir, "values.yaml")); err == nil {
		if vals, err = readYAMLMap(filepath.Join(chartDir, "values.yaml")); err != nil {
			return "", err
		}
	}
	for _, f := range o.valueFiles {
		over, err := readYAMLMap(f)
		if err != nil {
			return "", err
		}
		vals = coalesce(vals, over)
	}
	for _, s := range o.sets {
		if err := applySet(vals, s, false); err != nil {
			return "", err
		}
	}
	for _, s := range o.setStrings {
		if err := applySet(vals, s, true); err != nil {
			return "", err
		}
	}

	files := Files{}
	tplDir := filepath.Join(chartDir, "templates")
	var tplNames []string
	err = filepath.Walk(chartDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(chartDir, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "templates/") {
			tplNames = append(tplNames, rel)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = data
		return nil
	})
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(tplDir); err != nil {
		return "", fmt.Errorf("chart has no templates/ directory: %w", err)
	}
	sort.Strings(tplNames)

	var root *template.Template
	root = template.New(meta.Name).Funcs(funcMap(&root)).Option("missingkey=zero")
	for _, rel := range tplNames {
		data, err := os.ReadFile(filepath.Join(chartDir, rel))
		if err != nil {
			return "", err
		}
		if _, err := root.New(meta.Name + "/" + rel).Parse(string(data)); err != nil {
			return "", fmt.Errorf("parse error: %w", err)
		}
	}

	kv := strings.TrimPrefix(o.kubeVer, "v")
	parts := strings.SplitN(kv, ".", 3)
	if len(parts) < 2 {
		return "", fmt.Errorf("--kube-version %q: expected vMAJOR.MINOR.PATCH", o.kubeVer)
	}
	caps := &Capabilities{
		KubeVersion: KubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1]},
		APIVersions: knownAPIVersions,
	}
	release := ReleaseInfo{Name: o.name, Namespace: o.namespace, Service: "Helm", IsInstall: true, Revision: 1}

	var out strings.Builder
	for _, rel := range tplNames {
		base := filepath.Base(rel)
		if strings.HasPrefix(base, "_") {
			continue
		}
		name := meta.Name + "/" + rel
		top := map[string]interface{}{
			"Values":       vals,
			"Chart":        meta,
			"Release":      release,
			"Capabilities": caps,
			"Files":        files,
			"Template":     TemplateInfo{Name: name, BasePath: meta.Name + "/templates"},
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, top); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if base == "NOTES.txt" {
			// Rendered (so its errors fail, as with helm install) but not printed as a manifest.
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		// Every document must be valid YAML, as Helm requires before it sorts manifests.
		dec := yaml3.NewDecoder(strings.NewReader(text))
		for {
			var doc interface{}
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return "", fmt.Errorf("YAML parse error on %s: %w", name, err)
			}
		}
		out.WriteString("---\n# Source: " + name + "\n")
		out.WriteString(text)
		if !strings.HasSuffix(text, "\n") {
			out.WriteString("\n")
		}
	}
	return out.String(), nil
}
