package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/nook-containers/nook/internal/runtime/seccomp"

	"github.com/nook-containers/nook/internal/runtime/caps"
)

// TestFeaturesJSON: the output decodes as the spec's type and claims what
// nook does, and nothing it does not.
func TestFeaturesJSON(t *testing.T) {
	data, err := json.MarshalIndent(Features(), "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	var f features.Features
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decoding features: %v\n%s", err, data)
	}
	if f.OCIVersionMin != "1.0.0" || f.OCIVersionMax != specs.Version {
		t.Errorf("oci versions %q..%q, want 1.0.0..%s", f.OCIVersionMin, f.OCIVersionMax, specs.Version)
	}
	for _, h := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		if !slices.Contains(f.Hooks, h) {
			t.Errorf("hook %s not listed: %v", h, f.Hooks)
		}
	}
	if f.Linux == nil {
		t.Fatal("no linux section")
	}
	if len(f.Linux.Namespaces) != 8 {
		t.Errorf("namespaces %v, want all 8", f.Linux.Namespaces)
	}
	if !slices.Equal(f.Linux.Capabilities, caps.All()) {
		t.Errorf("capabilities %v, want caps.All()", f.Linux.Capabilities)
	}
	is := func(name string, p *bool, want bool) {
		t.Helper()
		if p == nil || *p != want {
			t.Errorf("%s = %v, want %v (explicit: nil means unknown)", name, p, want)
		}
	}
	cg := f.Linux.Cgroup
	if cg == nil {
		t.Fatal("no cgroup section")
	}
	is("cgroup.v1", cg.V1, true)
	is("cgroup.v2", cg.V2, true)
	is("cgroup.systemd", cg.Systemd, true)
	is("cgroup.systemdUser", cg.SystemdUser, false)
	is("cgroup.rdma", cg.Rdma, false)
	is("seccomp.enabled", f.Linux.Seccomp.Enabled, seccomp.Check(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, nil) == nil)
	if !slices.Contains(f.Linux.Seccomp.Operators, "SCMP_CMP_MASKED_EQ") {
		t.Error("seccomp operators incomplete")
	}
	is("apparmor.enabled", f.Linux.Apparmor.Enabled, false)
	is("selinux.enabled", f.Linux.Selinux.Enabled, false)
	is("intelRdt.enabled", f.Linux.IntelRdt.Enabled, false)
	is("mountExtensions.idmap.enabled", f.Linux.MountExtensions.IDMap.Enabled, true)
	for _, o := range []string{"ro", "rbind", "rprivate", "rro", "nosymfollow", "idmap", "ridmap"} {
		if !slices.Contains(f.MountOptions, o) {
			t.Errorf("mount option %s not listed", o)
		}
	}
	for _, o := range []string{"tmpcopyup"} {
		if slices.Contains(f.MountOptions, o) {
			t.Errorf("mount option %s listed but not supported", o)
		}
	}
}

// TestFeaturesMountOptionsMatchParser: the claimed mount options are
// exactly the keys of initproc's option tables, so the two cannot drift.
func TestFeaturesMountOptionsMatchParser(t *testing.T) {
	if _, err := os.Stat("initproc/mountopts.go"); errors.Is(err, fs.ErrNotExist) {
		// A compiled test binary run outside the source tree (the cgroup
		// v2 VM lane stages binaries only): the host run checks this.
		t.Skip("initproc/mountopts.go is not here")
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "initproc/mountopts.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var parsed []string
	tables := map[string]bool{"mountFlagOptions": true, "propagationOptions": true, "recursiveOptions": true}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !tables[vs.Names[0].Name] || len(vs.Values) != 1 {
			return true
		}
		delete(tables, vs.Names[0].Name)
		lit, ok := vs.Values[0].(*ast.CompositeLit)
		if !ok {
			t.Errorf("%s is not a map literal", vs.Names[0].Name)
			return false
		}
		for _, e := range lit.Elts {
			kv := e.(*ast.KeyValueExpr)
			k, err := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, k)
		}
		return false
	})
	if len(tables) != 0 {
		t.Fatalf("tables not found in initproc/mountopts.go: %v", tables)
	}
	// Recognised in parseMountOptions' switch, not in a table.
	parsed = append(parsed, "idmap", "ridmap")
	slices.Sort(parsed)
	got := Features().MountOptions
	if !slices.Equal(got, parsed) {
		t.Errorf("features mountOptions differ from initproc's tables:\n got  %v\n want %v", got, parsed)
	}
}
