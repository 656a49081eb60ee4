package cnpg

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// Version is the PostgreSQL major version the runtime offers.
const Version = "15"

// catalogQuery asks a server for its version, settings and extensions as
// one JSON document.
const catalogQuery = `SELECT json_build_object(
 'version', current_setting('server_version'),
 'settings', (SELECT json_agg(json_build_object('name', name, 'vartype', vartype, 'unit', coalesce(unit, ''),
   'min', min_val, 'max', max_val, 'enumvals', coalesce(enumvals, '{}'), 'boot', coalesce(boot_val, ''),
   'context', context, 'category', category) ORDER BY name) FROM pg_settings),
 'extensions', (SELECT json_agg(json_build_object('name', e.name, 'requires', coalesce(v.requires::text[], '{}')) ORDER BY e.name)
   FROM pg_available_extensions e LEFT JOIN pg_available_extension_versions v
   ON v.name = e.name AND v.version = e.default_version))`

type setting struct {
	Name     string   `json:"name"`
	VarType  string   `json:"vartype"`
	Unit     string   `json:"unit"`
	Min      *string  `json:"min"`
	Max      *string  `json:"max"`
	EnumVals []string `json:"enumvals"`
	Boot     string   `json:"boot"`
	Context  string   `json:"context"`
	Category string   `json:"category"`
}

type catalogResult struct {
	Version    string                 `json:"version"`
	Settings   []setting              `json:"settings"`
	Extensions []engine.ExtensionInfo `json:"extensions"`
}

// Info implements engine.Driver: the version of a server started from the
// image, in a short-lived pod (an error when the cluster, the image or the
// operator's CRDs are missing).
func (d *Driver) Info(ctx context.Context) (engine.Info, error) {
	if err := d.kc.Installed(ctx, clusterRes); err != nil {
		return engine.Info{}, fmt.Errorf("kubernetes: CloudNativePG is not installed in the cluster: %w", err)
	}
	cat, err := d.readCatalog(ctx)
	if err != nil {
		return engine.Info{}, err
	}
	major, _, _ := strings.Cut(cat.Version, ".")
	major, _, _ = strings.Cut(major, " ")
	return engine.Info{Engine: engine.PostgreSQL, Version: major, Full: cat.Version}, nil
}

// Catalog implements engine.Driver from the same pod's pg_settings and
// pg_available_extensions. The parameters CloudNativePG manages itself
// are not changeable.
func (d *Driver) Catalog(ctx context.Context) (engine.Catalog, error) {
	cat, err := d.readCatalog(ctx)
	if err != nil {
		return engine.Catalog{}, err
	}
	out := engine.Catalog{Extensions: cat.Extensions}
	for _, s := range cat.Settings {
		out.Parameters = append(out.Parameters, parameter(s))
	}
	return out, nil
}

// changeableContexts are the pg_settings contexts a configuration file can set.
var changeableContexts = map[string]bool{"postmaster": true, "sighup": true, "superuser": true,
	"user": true, "backend": true, "superuser-backend": true}

// Flavor-dependent bounds and defaults (see tuned), as expressions over
// ram (MB), vcpus and disk (GB), the same as the local runtime's.
const maxConnectionsExpr = "min(max(int(ram / 10), 25), 5000)"

var paramTemplates = map[string][3]string{ // min, max, default
	"shared_buffers":       {"", "int(ram * 1024 * 0.8 / 8)", "ram * 32"},
	"effective_cache_size": {"", "ram * 128", "ram * 96"},
	"max_connections":      {"", "", maxConnectionsExpr},
	"work_mem": {"", "int(ram * 1024 / 4)",
		"min(max(int(ram * 768 / (3 * " + maxConnectionsExpr + ")), 4096), 2097152)"},
	"maintenance_work_mem": {"", "min(int(ram * 1024 / 2), 2147483647)", "min(max(ram * 64, 65536), 2097152)"},
}

func parameter(s setting) engine.Parameter {
	p := engine.Parameter{
		Name: s.Name, Unit: s.Unit, RestartRequired: s.Context == "postmaster",
		Changeable: changeableContexts[s.Context] && s.Category != "Developer Options" && !Fixed(s.Name),
	}
	num := func(v *string) *float64 {
		if v == nil {
			return nil
		}
		f, err := strconv.ParseFloat(*v, 64)
		if err != nil {
			return nil
		}
		return &f
	}
	switch s.VarType {
	case "bool":
		p.Type, p.Default = "bool", s.Boot == "on"
	case "integer", "real":
		p.Type = map[string]string{"integer": "int", "real": "float"}[s.VarType]
		p.Min, p.Max = num(s.Min), num(s.Max)
		if f := num(&s.Boot); f != nil {
			p.Default = *f
		}
	case "enum":
		p.Type, p.Choices, p.Default = "str", s.EnumVals, s.Boot
	default:
		p.Type, p.Default, p.CanBeEmpty = "str", s.Boot, s.Boot == ""
	}
	if t, ok := paramTemplates[s.Name]; ok {
		p.MinTemplate, p.MaxTemplate, p.DefaultTemplate = t[0], t[1], t[2]
	}
	return p
}

// readCatalog runs a server from the image in a pod of the system
// namespace once, and keeps what it reported.
func (d *Driver) readCatalog(ctx context.Context) (*catalogResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.catalog != nil {
		return d.catalog, nil
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.opts.SystemNamespace,
		Labels: map[string]string{kube.LabelManagedBy: kube.ManagedBy}}}
	if err := d.kc.Create(ctx, kube.Namespaces, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, kube.Error(err, "create namespace %s", ns.Name)
	}
	name := "catalog-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	uid, nonRoot := int64(26), true
	// Only the JSON document goes to standard output (the pod's log);
	// what the tools say goes there only when they fail.
	script := `set -e; d=$(mktemp -d); trap 'cat "$d/out" "$d/log" >&2 2>/dev/null' ERR
initdb -D "$d/data" -U postgres --auth=trust >"$d/out" 2>&1
pg_ctl -D "$d/data" -l "$d/log" -o "-c listen_addresses= -k $d" -w start >>"$d/out" 2>&1
psql -h "$d" -U postgres -d postgres -Atq -v ON_ERROR_STOP=1 -c "$Q"
pg_ctl -D "$d/data" -m immediate stop >>"$d/out" 2>&1`
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.opts.SystemNamespace,
			Labels: map[string]string{kube.LabelManagedBy: kube.ManagedBy, "app.kubernetes.io/component": "catalog"}},
		Spec: corev1.PodSpec{
			RestartPolicy:   corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid, RunAsNonRoot: &nonRoot},
			Containers: []corev1.Container{{
				Name: "catalog", Image: d.image(Version), ImagePullPolicy: corev1.PullPolicy(d.opts.ImagePullPolicy),
				Command: []string{"/bin/bash", "-c", script},
				Env:     []corev1.EnvVar{{Name: "Q", Value: catalogQuery}},
			}},
		},
	}
	if err := d.kc.Create(ctx, kube.Pods, pod); err != nil {
		return nil, kube.Error(err, "create catalog pod")
	}
	defer func() {
		var now int64
		_ = d.kc.Remove(context.WithoutCancel(ctx), kube.Pods, d.opts.SystemNamespace, name, metav1.DeleteOptions{GracePeriodSeconds: &now})
	}()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		if err := d.kc.Get(wctx, kube.Pods, d.opts.SystemNamespace, name, pod); err != nil {
			return nil, kube.Error(err, "catalog pod")
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			break
		}
		select {
		case <-wctx.Done():
			return nil, fmt.Errorf("catalog pod %s/%s: %s: %w", pod.Namespace, name, kube.PodProblem(pod), wctx.Err())
		case <-time.After(time.Second):
		}
	}
	logs, err := d.kc.PodLog(ctx, d.opts.SystemNamespace, name)
	if err != nil {
		return nil, kube.Error(err, "catalog pod logs")
	}
	if pod.Status.Phase == corev1.PodFailed {
		return nil, fmt.Errorf("catalog pod %s/%s failed: %s", pod.Namespace, name, strings.TrimSpace(string(logs)))
	}
	var cat catalogResult
	if err := json.Unmarshal(logs, &cat); err != nil {
		return nil, fmt.Errorf("catalog pod output: %w", err)
	}
	for i := range cat.Extensions {
		if len(cat.Extensions[i].Requires) == 0 {
			cat.Extensions[i].Requires = nil
		}
	}
	d.catalog = &cat
	return d.catalog, nil
}
