// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/warmgate/warmgate/internal/config"
	"github.com/warmgate/warmgate/internal/mock"
)

const chartDir = "helm/warmgate"

// TestHelmChart renders deploy/helm/warmgate with Helm's own chart loader
// and template engine (what `helm template` runs), for the default values
// and each example, and checks every object: it decodes strictly into the
// Kubernetes API's Go types (an unknown or misspelt field, or a value of
// the wrong type, is an error), names and labels pass the API server's
// syntax rules, and what the gateway needs holds: the probes' port is the
// one it listens on, the ConfigMap's config is one warmgate's own loader
// accepts with the pod's environment and lands where the image's entry
// point reads it, every secret comes from a Secret reference, the grace
// period covers shutdown_delay + drain_timeout, the Service, the PDB and
// the ServiceMonitor select the Deployment's pods.
//
// Not verified: installing it on a cluster (the API server's own
// validation and admission, pulling the image).
func TestHelmChart(t *testing.T) {
	img := readDockerfile(t)
	examples, err := filepath.Glob(filepath.Join(chartDir, "examples", "*.yaml"))
	if err != nil || len(examples) < 2 {
		t.Fatalf("examples: %v, %v", examples, err)
	}
	for _, file := range append([]string{""}, examples...) {
		name := "default values"
		if file != "" {
			name = filepath.Base(file)
		}
		t.Run(name, func(t *testing.T) {
			vals := map[string]any{}
			if file != "" {
				vals = readValues(t, file)
			}
			objs := parseObjects(t, render(t, vals))
			r := checkChart(t, objs, img)
			switch name {
			case "three-replicas-redis.yaml":
				if r.deploy.Spec.Replicas == nil || *r.deploy.Spec.Replicas != 3 {
					t.Errorf("replicas %v, want 3", r.deploy.Spec.Replicas)
				}
				if r.cfg.Redis == nil || r.cfg.Redis.URL != r.env["REDIS_URL"] {
					t.Errorf("the config's redis.url is not the pod's REDIS_URL (%+v): several replicas need the shared state", r.cfg.Redis)
				}
				if _, ok := r.secretRefs["REDIS_URL"]; !ok {
					t.Error("REDIS_URL (it holds the Redis password) does not come from a Secret")
				}
				if objs["ServiceMonitor"] == nil {
					t.Error("the example enables the ServiceMonitor, which was not rendered")
				}
			case "default values":
				if r.cfg.Redis != nil {
					t.Errorf("default values set redis: %+v", r.cfg.Redis)
				}
				if objs["ServiceMonitor"] != nil {
					t.Error("the ServiceMonitor is rendered by default: it needs the Prometheus Operator's CRDs, so it must be opt-in")
				}
				checkProbesLive(t, r)
			}
		})
	}
}

// TestHelmChartConfigChecksum: a config change changes the pod template's
// checksum annotation (so the pods roll), and the annotation is the
// ConfigMap's config's own SHA-256.
func TestHelmChartConfigChecksum(t *testing.T) {
	sum := func(vals map[string]any) (annotation, data string) {
		objs := parseObjects(t, render(t, vals))
		var d appsv1.Deployment
		decodeStrict(t, objs["Deployment"], &d)
		var cm corev1.ConfigMap
		decodeStrict(t, objs["ConfigMap"], &cm)
		return d.Spec.Template.Annotations["checksum/config"], cm.Data["warmgate.yaml"]
	}
	a, data := sum(map[string]any{})
	h := sha256.Sum256([]byte(strings.TrimSuffix(data, "\n")))
	if a == "" || a != hex.EncodeToString(h[:]) {
		t.Errorf("checksum/config %q is not the SHA-256 of the ConfigMap's config %x", a, h)
	}
	b, _ := sum(map[string]any{"shutdown": map[string]any{"drainSeconds": 60}})
	c, _ := sum(map[string]any{"config": map[string]any{"aliases": map[string]any{"fast": "gpt-4.1-mini"}}})
	if a == b || a == c {
		t.Errorf("checksum/config did not change with the config: %s, %s, %s", a, b, c)
	}
	d, _ := sum(map[string]any{"replicaCount": 2, "redis": map[string]any{"url": "redis://redis:6379/0"}})
	e, _ := sum(map[string]any{"replicaCount": 2, "redis": map[string]any{"url": "redis://redis:6379/0"}})
	if d != e {
		t.Errorf("checksum/config differs between two renders of the same values: %s, %s", d, e)
	}
}

// TestHelmChartRefuses: values that would give a pod that cannot start,
// or a secret in the rendered output, fail at render time with a message
// saying what to change.
func TestHelmChartRefuses(t *testing.T) {
	cfg := func(extra map[string]any) map[string]any {
		c := map[string]any{
			"upstreams": []any{map[string]any{"name": "openai", "base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_API_KEY"}},
			"keys":      []any{map[string]any{"name": "team-a", "key_env": "TEAM_A_KEY"}},
			"admin":     map[string]any{"key_env": "WARMGATE_ADMIN_KEY"},
		}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"listen in the config", map[string]any{"config": cfg(map[string]any{"listen": "0.0.0.0:9000"})}, "config.listen"},
		{"drain_timeout in the config", map[string]any{"config": cfg(map[string]any{"server": map[string]any{"drain_timeout": "60s"}})}, "shutdown.drainSeconds"},
		{"a variable no Secret gives", map[string]any{"config": cfg(map[string]any{"keys": []any{map[string]any{"name": "ci", "key_env": "CI_KEY"}}})}, "CI_KEY"},
		{"a ${VAR} no Secret gives", map[string]any{"config": cfg(map[string]any{"aliases": map[string]any{"fast": "${FAST_MODEL}"}})}, "FAST_MODEL"},
		{"no client keys", map[string]any{"config": map[string]any{"keys": nil}}, "config.keys"},
		{"a Redis password in the values", map[string]any{"redis": map[string]any{"url": "redis://:hunter2@redis:6379/0"}}, "redis.secretName"},
		{"redis.url in the config", map[string]any{"config": cfg(map[string]any{"redis": map[string]any{"url": "redis://redis:6379"}})}, "redis.url"},
		{"a ServiceMonitor without the admin key", map[string]any{"serviceMonitor": map[string]any{"enabled": true}, "config": map[string]any{"admin": nil}}, "config.admin.key_env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderErr(t, tc.vals)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render: %v, want an error naming %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestHelmValuesDocumented: every value in values.yaml has a comment (a
// key right under a commented one, on the next line, shares its comment;
// the gateway's config and Kubernetes' own structures are documented as a
// whole),
// Chart.yaml is a v2 chart with an appVersion.
func TestHelmValuesDocumented(t *testing.T) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := ch.(*chartv2.Chart)
	if !ok {
		t.Fatalf("the chart loads as %T, want a Chart.yaml apiVersion v2 chart", ch)
	}
	if c.Metadata.APIVersion != "v2" || c.Metadata.AppVersion == "" || c.Metadata.Version == "" {
		t.Errorf("Chart.yaml: apiVersion %q, version %q, appVersion %q: want v2 and both versions", c.Metadata.APIVersion, c.Metadata.Version, c.Metadata.AppVersion)
	}
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		documented := false
		prevLine := 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			documented = k.HeadComment != "" || k.LineComment != "" || documented && k.Line == prevLine+1
			if !documented {
				t.Errorf("values.yaml line %d: %s%s has no comment saying what it does", k.Line, prefix, k.Value)
			}
			prevLine = k.Line
			if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 {
				prevLine = lastLine(v)
				// config is warmgate's own file (docs/config.md); the
				// others are Kubernetes' own structures, passed as they are.
				if !slices.Contains([]string{"config", "resources", "podSecurityContext", "securityContext"}, prefix+k.Value) {
					walk(v, prefix+k.Value+".")
				}
			}
		}
	}
	walk(doc.Content[0], "")
}

func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// image is what the Dockerfile's final stage says the chart relies on.
type image struct {
	user       int64
	workdir    string
	entrypoint []string
}

func readDockerfile(t *testing.T) image {
	t.Helper()
	df, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	var img image
	for _, n := range res.AST.Children {
		a := args(n)
		switch strings.ToLower(n.Value) {
		case "from":
			img = image{}
		case "user":
			u, _, _ := strings.Cut(a[0], ":")
			if img.user, err = strconv.ParseInt(u, 10, 64); err != nil {
				t.Fatalf("USER %s: want a numeric user (Kubernetes' runAsNonRoot needs one)", a[0])
			}
		case "workdir":
			img.workdir = a[0]
		case "entrypoint":
			img.entrypoint = a
		}
	}
	if img.user == 0 || img.workdir == "" || len(img.entrypoint) == 0 {
		t.Fatalf("the Dockerfile's final stage: %+v: want USER, WORKDIR and ENTRYPOINT", img)
	}
	return img
}

func readValues(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v, err := common.ReadValues(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

// render is `helm template warmgate deploy/helm/warmgate -f values`: the
// chart's templates by file name.
func render(t *testing.T, vals map[string]any) map[string]string {
	t.Helper()
	out, err := renderErr(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func renderErr(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{Name: "warmgate", Namespace: "ai", Revision: 1, IsInstall: true}, nil)
	if err != nil {
		return nil, err
	}
	return engine.Render(ch, rv)
}

// parseObjects splits the rendered manifests into objects by kind (the
// chart makes at most one of each); NOTES.txt must render too.
func parseObjects(t *testing.T, files map[string]string) map[string][]byte {
	t.Helper()
	objs := map[string][]byte{}
	for name, content := range files {
		if path.Base(name) == "NOTES.txt" {
			if !strings.Contains(content, "base_url") {
				t.Errorf("NOTES.txt says nothing of the base_url:\n%s", content)
			}
			continue
		}
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(content, "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var tm metav1.TypeMeta
			if err := sigsyaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			if tm.Kind == "" || tm.APIVersion == "" {
				t.Fatalf("%s: an object without kind or apiVersion:\n%s", name, doc)
			}
			if objs[tm.Kind] != nil {
				t.Fatalf("two %s objects", tm.Kind)
			}
			objs[tm.Kind] = []byte(doc)
		}
	}
	return objs
}

// decodeStrict decodes one object into its API type as the API server's
// strict field validation does: an unknown field (names match case by
// case, unlike encoding/json's), a duplicate key or a value of the wrong
// type is an error.
func decodeStrict(t *testing.T, doc []byte, into any) {
	t.Helper()
	if doc == nil {
		t.Fatalf("no object for %T was rendered", into)
	}
	js, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		t.Fatalf("%T: %v\n%s", into, err, doc)
	}
	strict, err := kjson.UnmarshalStrict(js, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err = errors.Join(append(strict, err)...); err != nil {
		t.Fatalf("%T: %v\n%s", into, err, doc)
	}
}

// serviceMonitor is the part of monitoring.coreos.com/v1 ServiceMonitor
// (a CRD of the Prometheus Operator, not in k8s.io/api) that the chart
// uses, field names as in the CRD's schema.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			Authorization *struct {
				Type        string                   `json:"type"`
				Credentials corev1.SecretKeySelector `json:"credentials"`
			} `json:"authorization"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// rendered is what checkChart found, for the callers' own checks.
type rendered struct {
	deploy     appsv1.Deployment
	cfg        *config.Config
	cfgYAML    string
	env        map[string]string // the pod's environment, Secret values made up
	secretRefs map[string]corev1.SecretKeySelector
}

func checkChart(t *testing.T, objs map[string][]byte, img image) rendered {
	t.Helper()
	var r rendered
	var (
		svc corev1.Service
		cm  corev1.ConfigMap
		pdb policyv1.PodDisruptionBudget
	)
	known := map[string]string{"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "PodDisruptionBudget": "policy/v1", "ServiceMonitor": "monitoring.coreos.com/v1"}
	for kind, doc := range objs {
		var tm metav1.TypeMeta
		_ = sigsyaml.Unmarshal(doc, &tm)
		if known[kind] != tm.APIVersion {
			t.Errorf("%s %s: the chart should make only %v", tm.APIVersion, kind, known)
		}
	}
	decodeStrict(t, objs["Deployment"], &r.deploy)
	decodeStrict(t, objs["Service"], &svc)
	decodeStrict(t, objs["ConfigMap"], &cm)
	decodeStrict(t, objs["PodDisruptionBudget"], &pdb)
	for _, m := range []metav1.ObjectMeta{r.deploy.ObjectMeta, svc.ObjectMeta, cm.ObjectMeta, pdb.ObjectMeta, r.deploy.Spec.Template.ObjectMeta} {
		checkMeta(t, m)
	}
	pod := r.deploy.Spec.Template
	spec := pod.Spec

	// The Deployment owns its pods; the Service and the PDB select them.
	sel := func(what string, ls *metav1.LabelSelector) {
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || s.Empty() || !s.Matches(labels.Set(pod.Labels)) {
			t.Errorf("%s's selector %v (%v) does not select the Deployment's pods %v", what, ls, err, pod.Labels)
		}
	}
	sel("the Deployment", r.deploy.Spec.Selector)
	sel("the PodDisruptionBudget", pdb.Spec.Selector)
	sel("the Service", &metav1.LabelSelector{MatchLabels: svc.Spec.Selector})
	if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
		t.Error("the PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
	}

	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	if c.Image == "" || strings.HasSuffix(c.Image, ":") {
		t.Errorf("image %q", c.Image)
	}
	for _, p := range c.Ports {
		if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
			t.Errorf("port name %q: %v", p.Name, errs)
		}
	}

	// The pod's environment: plain values as they are, Secret references
	// as made-up values that must never show in the rendered output.
	r.env = map[string]string{}
	r.secretRefs = map[string]corev1.SecretKeySelector{}
	for _, e := range c.Env {
		if errs := validation.IsEnvVarName(e.Name); len(errs) > 0 {
			t.Errorf("env %q: %v", e.Name, errs)
		}
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := *e.ValueFrom.SecretKeyRef
			if ref.Name == "" || ref.Key == "" {
				t.Errorf("env %s: a Secret reference without name or key: %+v", e.Name, ref)
			}
			r.secretRefs[e.Name] = ref
			r.env[e.Name] = "made-up-secret-" + strings.ToLower(e.Name)
			if e.Name == "REDIS_URL" {
				r.env[e.Name] = "redis://:made-up-secret-redis@127.0.0.1:6379/0"
			}
		case e.ValueFrom == nil:
			r.env[e.Name] = e.Value
		}
	}

	// The port: WARMGATE_LISTEN's (which wins over the config's listen),
	// the container's, the probes', the Service's target.
	listen := r.env["WARMGATE_LISTEN"]
	_, lport, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("WARMGATE_LISTEN %q: %v", listen, err)
	}
	portOf := func(what string, p intOrName) int32 {
		for _, cp := range c.Ports {
			if p.name != "" && cp.Name == p.name || p.name == "" && cp.ContainerPort == p.num {
				return cp.ContainerPort
			}
		}
		t.Errorf("%s's port %+v is none of the container's %+v", what, p, c.Ports)
		return 0
	}
	for what, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("no %s probe over HTTP", what)
			continue
		}
		if got := portOf(what+" probe", intOrName{probe.HTTPGet.Port.StrVal, probe.HTTPGet.Port.IntVal}); strconv.Itoa(int(got)) != lport {
			t.Errorf("the %s probe asks port %d; the gateway listens on %s", what, got, listen)
		}
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("the Service has %d ports, want 1", len(svc.Spec.Ports))
	}
	if got := portOf("the Service", intOrName{svc.Spec.Ports[0].TargetPort.StrVal, svc.Spec.Ports[0].TargetPort.IntVal}); strconv.Itoa(int(got)) != lport {
		t.Errorf("the Service sends to port %d; the gateway listens on %s", got, listen)
	}

	// The config: in the ConfigMap, mounted where the command line says,
	// with the image's entry point (warmgate serve) left as it is.
	if len(c.Command) > 0 {
		t.Errorf("command %q replaces the image's entry point %q", c.Command, img.entrypoint)
	}
	if !slices.Equal(img.entrypoint[len(img.entrypoint)-1:], []string{"serve"}) {
		t.Errorf("the image's entry point %q is not warmgate serve", img.entrypoint)
	}
	cfgPath := ""
	if i := slices.Index(c.Args, "--config"); i >= 0 && i+1 < len(c.Args) {
		cfgPath = c.Args[i+1]
	}
	mounted := ""
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if path.Join(m.MountPath, it.Path) == cfgPath {
					mounted = it.Key
				}
			}
		}
	}
	if cfgPath == "" || mounted == "" {
		t.Fatalf("--config %q is not a file of the ConfigMap %s mounted in the container (%+v)", cfgPath, cm.Name, c.VolumeMounts)
	}
	r.cfgYAML = cm.Data[mounted]
	r.cfg, err = config.Parse([]byte(r.cfgYAML), func(k string) string { return r.env[k] })
	if err != nil {
		t.Fatalf("warmgate's config loader refuses the ConfigMap's config with the pod's environment:\n%v\n%s", err, r.cfgYAML)
	}
	r.cfg.Listen = listen // as serve does with WARMGATE_LISTEN
	if err := r.cfg.Validate(); err != nil {
		t.Errorf("the config with listen %s: %v", listen, err)
	}
	if !r.cfg.HasKeys() && !r.cfg.Server.AllowOpen {
		t.Errorf("no client keys and no allow_open: serve refuses to listen on %s", listen)
	}

	// Secrets: every variable the config reads a secret from comes from
	// a Secret, and no secret is in the rendered output.
	secretVars := []string{}
	for _, u := range r.cfg.Upstreams {
		secretVars = append(secretVars, u.APIKeyEnv)
	}
	for _, k := range r.cfg.Keys {
		secretVars = append(secretVars, k.KeyEnv)
	}
	if r.cfg.Admin != nil {
		secretVars = append(secretVars, r.cfg.Admin.KeyEnv)
	}
	for _, v := range secretVars {
		if _, ok := r.secretRefs[v]; v != "" && !ok {
			t.Errorf("the config's secret %s is not taken from a Secret", v)
		}
	}
	all := bytes.Join(slices.Collect(mapValues(objs)), []byte("\n---\n"))
	for name, v := range r.env {
		if _, ok := r.secretRefs[name]; ok && bytes.Contains(all, []byte(v)) {
			t.Errorf("the rendered output holds %s's value", name)
		}
	}
	for _, re := range secretLike {
		if m := re.Find(all); m != nil {
			t.Errorf("the rendered output holds what looks like a secret: %q", m)
		}
	}
	if objs["Secret"] != nil {
		t.Error("the chart makes a Secret: secrets must come from Secrets the user creates")
	}

	// Non-root, as the image: its numeric user, a read-only root, and the
	// working directory (where the usage ledger goes) on a writable volume.
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != img.user {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser %d (the Dockerfile's USER)", psc, img.user)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext %+v: want a read-only root, no privilege escalation, capabilities dropped", sc)
	}
	if c.WorkingDir != "" {
		t.Errorf("workingDir %q: the image's WORKDIR %s holds the data volume", c.WorkingDir, img.workdir)
	}
	if !r.cfg.Usage.Disable {
		dir := r.cfg.DataDir
		if !path.IsAbs(dir) {
			dir = path.Join(img.workdir, dir)
		}
		writable := false
		for _, m := range c.VolumeMounts {
			if !m.ReadOnly && (dir == m.MountPath || strings.HasPrefix(dir, m.MountPath+"/")) {
				writable = true
			}
		}
		if !writable {
			t.Errorf("the usage ledger's data_dir %s is on no writable volume (the root file system is read-only)", dir)
		}
	}

	// Shutdown: the grace period covers shutdown_delay and drain_timeout,
	// and the readiness probe sees /readyz's 503 within the delay.
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	if need := r.cfg.Server.PreStop() + r.cfg.Server.DrainTimeout; grace <= need {
		t.Errorf("terminationGracePeriodSeconds %s: Kubernetes kills the pod before shutdown_delay + drain_timeout (%s) are over", grace, need)
	}
	rp := c.ReadinessProbe
	if d := r.cfg.Server.PreStop(); d > 0 && rp != nil && time.Duration(rp.PeriodSeconds*rp.FailureThreshold)*time.Second > d {
		t.Errorf("readiness probe every %ds, %d failures: longer than shutdown_delay %s, the time /readyz answers 503 while still serving", rp.PeriodSeconds, rp.FailureThreshold, d)
	}

	// Resources: requests and limits for CPU and memory.
	for _, rl := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		if rl.Memory().IsZero() {
			t.Errorf("resources %+v: want memory requests and limits", c.Resources)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources %+v: want a CPU request", c.Resources)
	}

	// The ServiceMonitor, when there is one: the Service's pods, its
	// port, /metrics with the admin key from the pod's own Secret.
	if doc := objs["ServiceMonitor"]; doc != nil {
		var sm serviceMonitor
		decodeStrict(t, doc, &sm)
		checkMeta(t, sm.ObjectMeta)
		s, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || s.Empty() || !s.Matches(labels.Set(svc.Labels)) {
			t.Errorf("the ServiceMonitor's selector %v does not select the Service (labels %v)", sm.Spec.Selector, svc.Labels)
		}
		if len(sm.Spec.Endpoints) != 1 {
			t.Fatalf("ServiceMonitor endpoints: %+v", sm.Spec.Endpoints)
		}
		ep := sm.Spec.Endpoints[0]
		if ep.Port != svc.Spec.Ports[0].Name || ep.Path != "/metrics" {
			t.Errorf("ServiceMonitor endpoint port %q path %q: want the Service's port %q and /metrics", ep.Port, ep.Path, svc.Spec.Ports[0].Name)
		}
		for _, d := range []string{ep.Interval, ep.ScrapeTimeout} {
			if _, err := model.ParseDuration(d); err != nil {
				t.Errorf("ServiceMonitor duration %q: %v", d, err)
			}
		}
		if r.cfg.Admin == nil || ep.Authorization == nil || ep.Authorization.Type != "Bearer" ||
			ep.Authorization.Credentials != r.secretRefs[r.cfg.Admin.KeyEnv] {
			t.Errorf("ServiceMonitor authorization %+v: want Bearer with the admin key's Secret", ep.Authorization)
		}
	}
	return r
}

type intOrName struct {
	name string
	num  int32
}

// secretLike are the shapes of secrets that must not be in the rendered
// output: provider keys, a bearer token, a URL with a password.
var secretLike = []*regexp.Regexp{
	regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{8,}`),
	regexp.MustCompile(`(?i)bearer [A-Za-z0-9._~+/-]{8,}`),
	regexp.MustCompile(`[a-z]+://[^/\s:@"]*:[^/\s@"$]+@`),
}

func mapValues(m map[string][]byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// checkMeta applies the API server's rules for names and labels.
func checkMeta(t *testing.T, m metav1.ObjectMeta) {
	t.Helper()
	if m.Name != "" {
		if errs := validation.IsDNS1123Label(m.Name); len(errs) > 0 {
			t.Errorf("name %q: %v", m.Name, errs)
		}
	}
	for k, v := range m.Labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			t.Errorf("label %s=%s: %v", k, v, errs)
		}
	}
	for k := range m.Annotations {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			t.Errorf("annotation %s: %v", k, errs)
		}
	}
}

// checkProbesLive runs the gateway with the chart's config (its upstream
// pointed at the local mock, nothing leaves the machine) and asks the
// probes' paths: 200 from both while it serves; after SIGTERM's first step
// (BeginShutdown) the readiness probe's path answers 503 and the
// liveness probe's 200, so Kubernetes takes the pod out of the endpoints
// without restarting it.
func checkProbesLive(t *testing.T, r rendered) {
	t.Helper()
	m, err := mock.Start(mock.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(r.cfgYAML), &doc); err != nil {
		t.Fatal(err)
	}
	for _, u := range doc["upstreams"].([]any) {
		u.(map[string]any)["base_url"] = m.URL() + "/v1"
	}
	doc["data_dir"] = t.TempDir()
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, func(k string) string { return r.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	s := startGateway(t, cfg)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	c := r.deploy.Spec.Template.Spec.Containers[0]
	get := func(p string) int {
		resp, err := hc.Get("http://" + s.Addr() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ready, live := c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path
	for p, want := range map[string]int{ready: 200, live: 200} {
		if got := get(p); got != want {
			t.Errorf("GET %s (a probe's path) while serving: %d, want %d", p, got, want)
		}
	}
	s.BeginShutdown()
	for p, want := range map[string]int{ready: 503, live: 200} {
		if got := get(p); got != want {
			t.Errorf("GET %s after SIGTERM: %d, want %d", p, got, want)
		}
	}
	if ready == live {
		t.Errorf("readiness and liveness both ask %s", ready)
	}
}
