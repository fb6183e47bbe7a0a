// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// TestContainerImage checks the Dockerfile without a Docker engine (none
// runs on these machines). It reads the Dockerfile with BuildKit's own
// parser, builds the final stage's image the way the Dockerfile says (its
// COPY lines, with the build stage's outputs made here: the static binary
// by the same go build, the CA bundle from Debian's ca-certificates as in
// the golang:bookworm image), writes it as an OCI image layout with
// go-containerregistry, reads that layout back and checks what a user
// relies on: a static binary, CA certificates, a non-root user, the
// exposed port, the entry point, and a health check run by the binary
// itself. Then it starts the image's entry point and command (the config
// path and listen address pointed at the test's) and runs the image's
// HEALTHCHECK command against it.
//
// Not verified here: `docker build` itself (the build stage's RUN lines
// and pulling golang:bookworm), and running under a container runtime.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds warmgate: not in -short")
	}
	df, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	// The build stage's RUN must build as this test does.
	var final []*parser.Node
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "from":
			final = nil
		case "run":
			if s := args(n); strings.Contains(strings.Join(s, " "), "go build") {
				for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-o /out/warmgate ./cmd/warmgate", "internal/buildinfo.version="} {
					if !strings.Contains(strings.Join(s, " "), want) {
						t.Errorf("the build stage's go build lacks %q", want)
					}
				}
			}
		}
		final = append(final, n)
	}
	if len(final) == 0 || strings.ToLower(final[0].Value) != "from" || args(final[0])[0] != "scratch" {
		t.Fatalf("the final stage does not start FROM scratch")
	}

	// What the build stage makes, made here.
	work := t.TempDir()
	bin := filepath.Join(work, "warmgate")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", bin, "./cmd/warmgate")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const caBundle = "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(caBundle); err != nil {
		t.Skipf("no %s here (Debian package ca-certificates): the image's CA bundle cannot be made", caBundle)
	}
	fromBuild := map[string]string{"/out/warmgate": bin, caBundle: caBundle, "/out/data": "<dir>"}

	// The final stage, instruction by instruction.
	var files []imageFile
	cfg := v1.Config{ExposedPorts: map[string]struct{}{}, Volumes: map[string]struct{}{}, Labels: map[string]string{}}
	for _, n := range final[1:] {
		a := args(n)
		switch strings.ToLower(n.Value) {
		case "copy":
			from, uid, gid := "", 0, 0
			for _, f := range n.Flags {
				if v, ok := strings.CutPrefix(f, "--from="); ok {
					from = v
				}
				if v, ok := strings.CutPrefix(f, "--chown="); ok {
					fmt.Sscanf(v, "%d:%d", &uid, &gid)
				}
			}
			dst := a[len(a)-1]
			for _, src := range a[:len(a)-1] {
				target := dst
				if strings.HasSuffix(dst, "/") {
					target = dst + path.Base(src)
				}
				local := filepath.Join("..", filepath.FromSlash(src)) // the build context
				if from != "" {
					var ok bool
					if local, ok = fromBuild[src]; !ok {
						t.Fatalf("COPY --from=%s %s: the test does not know what the build stage makes there; teach it", from, src)
					}
				}
				files = append(files, imageFile{name: target, src: local, uid: uid, gid: gid})
			}
		case "user":
			cfg.User = a[0]
		case "workdir":
			cfg.WorkingDir = a[0]
		case "env":
			for i := 0; i+1 < len(a); i += 3 {
				cfg.Env = append(cfg.Env, a[i]+"="+a[i+1])
			}
		case "expose":
			for _, p := range a {
				cfg.ExposedPorts[p+"/tcp"] = struct{}{}
			}
		case "volume":
			for _, v := range a {
				cfg.Volumes[v] = struct{}{}
			}
		case "label":
			for i := 0; i+1 < len(a); i += 3 {
				cfg.Labels[a[i]] = a[i+1]
			}
		case "healthcheck":
			hc := &v1.HealthConfig{Test: append([]string{"CMD"}, a[1:]...)}
			for _, f := range n.Flags {
				k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
				d, _ := time.ParseDuration(v)
				switch k {
				case "interval":
					hc.Interval = d
				case "timeout":
					hc.Timeout = d
				case "start-period":
					hc.StartPeriod = d
				case "retries":
					fmt.Sscan(v, &hc.Retries)
				}
			}
			if a[0] != "CMD" || n.Attributes["json"] != true {
				t.Errorf("HEALTHCHECK %v: want the exec form, CMD [...] (there is no shell in the image)", a)
			}
			cfg.Healthcheck = hc
		case "entrypoint":
			cfg.Entrypoint = a
		case "cmd":
			cfg.Cmd = a
		default:
			t.Fatalf("the final stage has %s, which this test does not model; teach it", n.Value)
		}
	}

	// Build the image and write it as an OCI layout.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return rootfsTar(files) })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{Architecture: "amd64", OS: "linux", Config: cfg,
		RootFS: v1.RootFS{Type: "layers", DiffIDs: mustDiffIDs(t, img)}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}

	// Read it back as a user of the layout would.
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	man, err := idx.IndexManifest()
	if err != nil || len(man.Manifests) != 1 {
		t.Fatalf("the layout's index: %v, %v", man, err)
	}
	got, err := idx.Image(man.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/warmgate", "serve"}) || !slices.Equal(c.Cmd, []string{"--config", "/etc/warmgate/warmgate.yaml"}) {
		t.Errorf("entry point %q, command %q: want warmgate serve --config /etc/warmgate/warmgate.yaml", c.Entrypoint, c.Cmd)
	}
	if c.User == "" || c.User == "0" || strings.HasPrefix(c.User, "0:") || c.User == "root" {
		t.Errorf("user %q: the image must not run as root", c.User)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 8080/tcp", c.ExposedPorts)
	}
	if c.Healthcheck == nil || len(c.Healthcheck.Test) < 2 || c.Healthcheck.Test[1] != c.Entrypoint[0] {
		t.Errorf("health check %+v: want the warmgate binary itself (no curl in the image)", c.Healthcheck)
	}
	if !slices.Contains(c.Env, "WARMGATE_LISTEN=0.0.0.0:8080") {
		t.Errorf("env %v: want WARMGATE_LISTEN=0.0.0.0:8080", c.Env)
	}
	fs := extract(t, got)
	for _, want := range []string{"usr/local/bin/warmgate", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group", "data"} {
		if _, ok := fs[want]; !ok {
			t.Errorf("the image lacks /%s", want)
		}
	}
	if h := fs["usr/local/bin/warmgate"]; h != nil && h.hdr.Mode&0o111 == 0 {
		t.Errorf("/usr/local/bin/warmgate mode %o: not executable", h.hdr.Mode)
	}
	if h := fs["data"]; h != nil && (h.hdr.Uid != 65532 || h.hdr.Gid != 65532) {
		t.Errorf("/data owned by %d:%d, want the image's user 65532", h.hdr.Uid, h.hdr.Gid)
	}
	if h := fs["etc/passwd"]; h != nil && !bytes.Contains(h.body, []byte(":65532:65532:")) {
		t.Errorf("/etc/passwd names no user 65532:\n%s", h.body)
	}
	if h := fs["etc/ssl/certs/ca-certificates.crt"]; h != nil && !bytes.Contains(h.body, []byte("BEGIN CERTIFICATE")) {
		t.Error("the CA bundle holds no certificate")
	}

	// The binary is static: an empty base has no dynamic loader.
	root := t.TempDir()
	exe := filepath.Join(root, "warmgate")
	if err := os.WriteFile(exe, fs["usr/local/bin/warmgate"].body, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, prog := range ef.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader (PT_INTERP): the scratch image cannot run it; build with CGO_ENABLED=0")
		}
	}
	ef.Close()

	// Run the entry point as the image would (the image's env, the config
	// where the command says, here under a temp dir), then its health check.
	port := freePort(t)
	cfgPath := filepath.Join(root, "warmgate.yaml")
	os.WriteFile(cfgPath, []byte(`upstreams:
  - name: local
    base_url: http://127.0.0.1:1/v1
keys:
  - name: team
    key_env: IMAGE_TEST_KEY
usage: {disable: true}
`), 0o600)
	env := append(os.Environ(), "IMAGE_TEST_KEY=sk-image-test")
	for _, e := range c.Env {
		if strings.HasPrefix(e, "WARMGATE_LISTEN=") {
			e = "WARMGATE_LISTEN=127.0.0.1:" + port // not 0.0.0.0 on a test machine
		}
		env = append(env, e)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmdArgs := append(append([]string{}, c.Entrypoint[1:]...), c.Cmd...)
	cmdArgs[slices.Index(cmdArgs, "/etc/warmgate/warmgate.yaml")] = cfgPath
	srv := exec.CommandContext(ctx, exe, cmdArgs...)
	srv.Env, srv.Dir = env, root
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = srv.Wait() }()
	hc := exec.Command(exe, c.Healthcheck.Test[2:]...)
	hc.Env = env
	var out []byte
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out, err = hc.CombinedOutput(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's HEALTHCHECK never passed: %v\n%s\nserve:\n%s", err, out, srvOut.String())
		}
		hc = exec.Command(exe, c.Healthcheck.Test[2:]...)
		hc.Env = env
	}
	t.Logf("HEALTHCHECK %q: %s", c.Healthcheck.Test[1:], bytes.TrimSpace(out))
}

// args are a Dockerfile instruction's arguments.
func args(n *parser.Node) []string {
	var a []string
	for x := n.Next; x != nil; x = x.Next {
		a = append(a, x.Value)
	}
	return a
}

type imageFile struct {
	name, src string // src "<dir>": an empty directory
	uid, gid  int
}

// rootfsTar is the image's one layer: the files, each with the parent
// directories the tar format needs.
func rootfsTar(files []imageFile) (io.ReadCloser, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		var parts []string
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			parts = append([]string{d}, parts...)
		}
		for _, d := range parts {
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, f := range files {
		if err := mkdirs(f.name); err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(f.name, "/")
		if f.src == "<dir>" {
			dirs[f.name] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, Uid: f.uid, Gid: f.gid}); err != nil {
				return nil, err
			}
			continue
		}
		b, err := os.ReadFile(f.src)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(f.src)
		if err != nil {
			return nil, err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: int64(len(b)), Uid: f.uid, Gid: f.gid}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

func mustDiffIDs(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.RootFS.DiffIDs
}

type tarEntry struct {
	hdr  *tar.Header
	body []byte
}

// extract reads the image's flattened file system.
func extract(t *testing.T, img v1.Image) map[string]*tarEntry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	fs := map[string]*tarEntry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fs
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		fs[strings.TrimSuffix(h.Name, "/")] = &tarEntry{hdr: h, body: b}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}
