package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/dbaasd/dbaasd/"

// pkg is what `go list -json` says of one package of the module.
type pkg struct {
	ImportPath string
	Imports    []string // direct, without test files
	Deps       []string // transitive, without test files
}

// rule forbids the packages under From (and From itself) to depend on
// any package under one of Not. Direct rules look at the package's own
// imports only; the others at everything it pulls in.
type rule struct {
	From   string
	Not    []string
	Direct bool
	Why    string
}

// rules is the picture of docs/architecture.md in code. Paths are
// relative to the module; "net/http" is the standard library's.
var rules = []rule{
	{From: "internal/model", Not: []string{"internal/", "net/http"},
		Why: "model is the domain's vocabulary: it imports nothing of dbaasd and knows no transport"},
	{From: "internal/service", Not: []string{"net/http", "internal/httpapi", "internal/reconcile", "internal/telemetry", "internal/daemon"},
		Why: "the service is domain logic: it records desired state and never knows HTTP or who converges it"},
	{From: "internal/reconcile", Not: []string{"net/http", "internal/service", "internal/httpapi", "internal/telemetry", "internal/daemon"},
		Why: "the reconciler works from the store and the engine seam; action names live in model"},
	{From: "internal/store", Not: []string{"net/http", "internal/engine", "internal/service", "internal/httpapi", "internal/reconcile", "internal/telemetry", "internal/backup", "internal/daemon"},
		Why: "storage sits under every layer and never reaches up"},
	{From: "internal/backup", Not: []string{"net/http", "internal/service", "internal/httpapi", "internal/reconcile", "internal/telemetry", "internal/daemon"},
		Why: "backups are driven by the reconciler and the daemon, not by the API"},
	{From: "internal/engine", Not: []string{"internal/store", "internal/service", "internal/httpapi", "internal/reconcile", "internal/telemetry", "internal/backup", "internal/daemon"},
		Why: "engine drivers are behind one seam: they know engines, not dbaasd's records or layers"},
	{From: "internal/objectstore", Not: []string{"internal/"},
		Why: "the object storage client knows S3, not dbaasd (backup.Storage is met by its methods)"},
	{From: "internal/telemetry", Not: []string{"internal/httpapi", "internal/service", "internal/reconcile", "internal/daemon"},
		Why: "telemetry is read by the API through an interface; query types live in model"},
	{From: "internal/httpapi", Not: []string{"internal/engine/", "internal/reconcile", "internal/daemon", "internal/telemetry"},
		Why: "handlers translate and delegate to the service"},
	{From: "cmd", Not: []string{"internal/engine"}, Direct: true,
		Why: "the command goes through daemon, which owns the engine packages' wiring"},
	{From: "cmd/dbaasd", Not: []string{"github.com/cloudnative-pg/", "sigs.k8s.io/controller-runtime", "k8s.io/client-go/kubernetes"},
		Why: "their package initialisation costs dbaasd some 20 MiB of resident memory on every runtime; the Kubernetes runtime uses client-go's dynamic client and internal/engine/cnpg/crd"},
}

// under reports whether path is prefix (a package) or below it. A prefix
// ending in "/" matches only below it.
func under(path, prefix string) bool {
	if !strings.Contains(prefix, ".") && !strings.HasPrefix(prefix, "net/") {
		prefix = mod + prefix
	}
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// violations returns one line per forbidden dependency in pkgs.
func violations(pkgs []pkg, rules []rule) []string {
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !under(p.ImportPath, r.From) {
				continue
			}
			deps := p.Deps
			if r.Direct {
				deps = p.Imports
			}
			for _, d := range deps {
				for _, n := range r.Not {
					if under(d, n) && !under(d, r.From) {
						out = append(out, p.ImportPath+" depends on "+d+" ("+r.Why+")")
					}
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func listModule(t *testing.T) []pkg {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list imports: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-json=ImportPath,Imports,Deps", mod+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportRules fails when a package of the module depends on one the
// picture forbids it.
func TestImportRules(t *testing.T) {
	t.Parallel()
	pkgs := listModule(t)
	for _, r := range rules {
		found := false
		for _, p := range pkgs {
			found = found || under(p.ImportPath, r.From)
		}
		if !found {
			t.Errorf("rule for %s matches no package: the picture is out of date", r.From)
		}
	}
	for _, v := range violations(pkgs, rules) {
		t.Error(v)
	}
}

// TestViolationsFound proves the checker reports what it must: a
// forbidden import, direct or pulled in, and nothing else.
func TestViolationsFound(t *testing.T) {
	t.Parallel()
	p := func(path string, deps ...string) pkg {
		for i := range deps {
			if !strings.Contains(deps[i], ".") && !strings.HasPrefix(deps[i], "net/") {
				deps[i] = mod + deps[i]
			}
		}
		return pkg{ImportPath: mod + path, Imports: deps[:min(1, len(deps))], Deps: deps}
	}
	tests := []struct {
		name string
		pkg  pkg
		want int
	}{
		{"reconcile imports service", p("internal/reconcile", "internal/service"), 1},
		{"reconcile pulls in api through another", p("internal/reconcile", "internal/model", "internal/httpapi"), 1},
		{"telemetry imports api", p("internal/telemetry", "internal/httpapi"), 1},
		{"driver imports store", p("internal/engine/redis", "internal/store"), 1},
		{"driver imports its own subpackage", p("internal/engine/redis", "internal/engine/proc"), 0},
		{"model imports net/http", p("internal/model", "net/http"), 1},
		{"service imports net/http/httptest only", p("internal/service", "net/http/httptest"), 1},
		{"store imports model", p("internal/store", "internal/model"), 0},
		{"api imports engine root", p("internal/httpapi", "internal/engine"), 0},
		{"api imports a driver", p("internal/httpapi", "internal/engine/mysql"), 1},
		{"cmd imports a driver directly", p("cmd/dbaasd", "internal/engine/kafka"), 1},
		{"cmd reaches a driver through daemon", p("cmd/dbaasd", "internal/daemon", "internal/engine/kafka"), 0},
		{"reconciler lookalike name", p("internal/reconciler", "internal/service"), 0},
		{"dbaasd links CloudNativePG's Go types", p("cmd/dbaasd", "internal/daemon", "internal/engine/cnpg", "github.com/cloudnative-pg/cloudnative-pg/api/v1"), 1},
		{"dbaasd links controller-runtime", p("cmd/dbaasd", "internal/daemon", "sigs.k8s.io/controller-runtime/pkg/client"), 1},
		{"dbaasd links client-go's typed clientset", p("cmd/dbaasd", "internal/daemon", "k8s.io/client-go/kubernetes"), 1},
		{"dbaasd links client-go's all-groups scheme", p("cmd/dbaasd", "internal/daemon", "k8s.io/client-go/kubernetes/scheme"), 1},
		{"dbaasd links client-go's dynamic client", p("cmd/dbaasd", "internal/daemon", "k8s.io/client-go/dynamic", "k8s.io/client-go/rest"), 0},
		{"the harness may use the typed clientset", p("bench/cmd/harness", "k8s.io/client-go/kubernetes"), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := violations([]pkg{tc.pkg}, rules); len(got) != tc.want {
				t.Errorf("violations = %q, want %d", got, tc.want)
			}
		})
	}
}
