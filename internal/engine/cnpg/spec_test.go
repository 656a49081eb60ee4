package cnpg

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

func TestHBARules(t *testing.T) {
	t.Parallel()
	const lookupLine = "hostssl all dbaasd_pooler all cert"
	tests := []struct {
		name                     string
		firewall, admin, trusted []string
		want                     []string
		wantErr                  bool
	}{
		{name: "no firewall, no admin range: CNPG's default admits everyone but the lookup role without its certificate",
			want: []string{lookupLine}},
		{name: "superuser only from the admin range", admin: []string{"10.203.0.1/32"},
			want: []string{lookupLine, "host all postgres 10.203.0.1/32 scram-sha-256", "host all postgres all reject"}},
		{name: "firewall admits its addresses, the trusted range only with the cluster's certificate, rejects the rest",
			firewall: []string{"192.0.2.7", "198.51.100.0/24", "192.0.2.7/32"}, trusted: []string{"10.201.0.0/24"},
			want: []string{lookupLine, "host all all 192.0.2.7/32 scram-sha-256", "host all all 198.51.100.0/24 scram-sha-256",
				"hostssl all all 10.201.0.0/24 scram-sha-256 clientcert=verify-ca", "host all all all reject"}},
		{name: "a trusted range the firewall names itself needs no certificate",
			firewall: []string{"10.201.0.0/24"}, trusted: []string{"10.201.0.0/24"},
			want: []string{lookupLine, "host all all 10.201.0.0/24 scram-sha-256", "host all all all reject"}},
		{name: "a prefix is masked", firewall: []string{"198.51.100.9/24"},
			want: []string{lookupLine, "host all all 198.51.100.0/24 scram-sha-256", "host all all all reject"}},
		{name: "garbage is refused", firewall: []string{"all"}, wantErr: true},
		{name: "an injected rule is refused", firewall: []string{"1.2.3.4 trust\nhost all all all trust"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := hbaRules(tt.firewall, tt.admin, tt.trusted)
			if tt.wantErr {
				if !errors.Is(err, engine.ErrInvalid) {
					t.Fatalf("hbaRules = %v, %v; want ErrInvalid", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("hbaRules = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPoolerHBA(t *testing.T) {
	t.Parallel()
	got, err := poolerHBA([]string{"192.0.2.1"})
	want := []string{"host all all 192.0.2.1/32 md5", "host all all 0.0.0.0/0 reject", "host all all ::/0 reject"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("poolerHBA = %q, %v; want %q", got, err, want)
	}
	if got, err := poolerHBA(nil); err != nil || got != nil {
		t.Fatalf("poolerHBA(nil) = %q, %v; want nothing", got, err)
	}
}

func TestParameters(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{Flavor: engine.Flavor{VCPUs: 2, RAMMB: 4096, DiskGB: 10},
		Config: map[string]any{"max_connections": float64(42), "jit": false, "random_page_cost": 1.5, "search_path": "app"}}
	got := parameters(c)
	want := map[string]string{
		"max_connections": "42", "jit": "off", "random_page_cost": "1.5", "search_path": "app",
		"shared_buffers": "1048576kB", "effective_cache_size": "393216", "work_mem": "4096", "maintenance_work_mem": "262144",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parameters = %v\nwant %v", got, want)
	}
}

func TestObjectNames(t *testing.T) {
	t.Parallel()
	dns := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	seen := map[string]string{}
	for _, ident := range []string{"app", "App", "my_db", "my-db", "ünïcode", "a b", "x" + string(make([]byte, 80))} {
		n := databaseObject(ident)
		if !dns.MatchString(n) || len(n) > 63 {
			t.Errorf("databaseObject(%q) = %q: not a DNS-1123 label", ident, n)
		}
		if other, dup := seen[n]; dup {
			t.Errorf("databaseObject(%q) = databaseObject(%q) = %q", ident, other, n)
		}
		seen[n] = ident
	}
	if a, b := userSecret("bob"), userSecret("bob"); a != b || a == userSecret("Bob") {
		t.Error("userSecret is not a stable, case-sensitive name")
	}
}

func TestResources(t *testing.T) {
	t.Parallel()
	r := kube.Resources(engine.Flavor{VCPUs: 2, RAMMB: 1024}, 0.25, 0)
	if got := r.Limits.Cpu().MilliValue(); got != 2000 {
		t.Errorf("cpu limit = %dm, want 2000m", got)
	}
	if got := r.Limits.Memory().Value(); got != 1<<30 {
		t.Errorf("memory limit = %d, want 1Gi", got)
	}
	if got := r.Requests.Cpu().MilliValue(); got != 500 {
		t.Errorf("cpu request = %dm, want 500m", got)
	}
	if got := r.Requests.Memory().Value(); got != 256<<20 {
		t.Errorf("memory request = %d, want 256Mi", got)
	}
}

// The operator refuses a memory request below shared_buffers: a small
// request fraction is raised to it, never above the limit.
func TestResourcesSharedBuffersFloor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		shared string
		want   int64 // MiB requested of a 1024 MB flavor at 10%
	}{
		{"32768", 256}, // 8kB pages: 256 MB
		{"262144kB", 256},
		{"256MB", 256},
		{"1GB", 1024},
		{"4GB", 1024}, // capped at the limit
		{"64kB", 102},
		{"junk", 102},
	} {
		r := kube.Resources(engine.Flavor{VCPUs: 1, RAMMB: 1024}, 0.1, memoryMB(tc.shared, 8))
		if got := r.Requests.Memory().Value() >> 20; got != tc.want {
			t.Errorf("shared_buffers %s: request %d MiB, want %d", tc.shared, got, tc.want)
		}
	}
}

func readyPod(name string, ready bool) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelInstanceName: name, "cnpg.io/podRole": "instance"}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func TestObservation(t *testing.T) {
	t.Parallel()
	c := &engine.Cluster{ID: "ds", Nodes: []engine.Node{{ID: "n2", Index: 2}, {ID: "n0", Index: 0}, {ID: "n1", Index: 1}}}
	cl := &crd.Cluster{Status: crd.ClusterStatus{
		InstanceNames:  []string{"pg-10", "pg-2", "pg-1"},
		CurrentPrimary: "pg-2", TargetPrimary: "pg-2",
	}}
	pods := []corev1.Pod{readyPod("pg-1", true), readyPod("pg-2", true), readyPod("pg-10", false)}
	got := observation(c, cl, pods)
	// Nodes by index map onto instances by serial: n0→pg-1, n1→pg-2, n2→pg-10.
	want := map[string][2]string{
		"n0": {engine.RoleReplica, engine.NodeActive},
		"n1": {engine.RoleMaster, engine.NodeActive},
		"n2": {engine.RoleReplica, engine.NodeDown},
	}
	if len(got.Nodes) != 3 {
		t.Fatalf("observation has %d nodes, want 3", len(got.Nodes))
	}
	for _, n := range got.Nodes {
		if w := want[n.ID]; n.Role != w[0] || n.Status != w[1] {
			t.Errorf("node %s = %s %s (%s), want %s %s", n.ID, n.Role, n.Status, n.Detail, w[0], w[1])
		}
	}

	// A switch of primary in progress: the old primary is not ACTIVE.
	cl.Status.TargetPrimary = "pg-1"
	for _, n := range observation(c, cl, pods).Nodes {
		if n.ID == "n1" && n.Status != engine.NodeDown {
			t.Errorf("old primary during a switch = %s, want DOWN", n.Status)
		}
	}

	// No cluster: every node DOWN, nothing assumed.
	for _, n := range observation(c, nil, nil).Nodes {
		if n.Status != engine.NodeDown || n.Role != engine.RoleUnknown {
			t.Errorf("without a cluster node %s = %s %s, want UNKNOWN DOWN", n.ID, n.Role, n.Status)
		}
	}
}

func TestClusterReady(t *testing.T) {
	t.Parallel()
	cl := &crd.Cluster{Spec: crd.ClusterSpec{Instances: 2}, Status: crd.ClusterStatus{
		Phase: crd.PhaseHealthy, ReadyInstances: 2, InstanceNames: []string{"pg-1", "pg-2"}, CurrentPrimary: "pg-1", TargetPrimary: "pg-1",
		Conditions: []metav1.Condition{{Type: crd.ConditionClusterReady, Status: metav1.ConditionTrue}},
	}}
	if ok, why := clusterReady(cl, 2); !ok {
		t.Fatalf("clusterReady = false (%s), want true", why)
	}
	if ok, _ := clusterReady(cl, 3); ok {
		t.Error("clusterReady with a missing instance = true")
	}
	cl.Status.Phase = crd.PhaseApplyingConfiguration
	if ok, _ := clusterReady(cl, 2); ok {
		t.Error("clusterReady while the operator applies configuration = true")
	}
	cl.Status.Phase, cl.Status.TargetPrimary = crd.PhaseHealthy, "pg-2"
	if ok, _ := clusterReady(cl, 2); ok {
		t.Error("clusterReady during a switchover = true")
	}
}

func TestPodsCurrent(t *testing.T) {
	t.Parallel()
	want := kube.Resources(engine.Flavor{VCPUs: 1, RAMMB: 1024}, 1, 0)
	pod := func(name, image string, r corev1.ResourceRequirements) corev1.Pod {
		p := readyPod(name, true)
		p.Spec.Containers = []corev1.Container{{Name: "postgres", Image: image, Resources: r}}
		return p
	}
	names := []string{"pg-1", "pg-2"}
	ok := []corev1.Pod{pod("pg-1", "img:15", want), pod("pg-2", "img:15", want)}
	if why := podsCurrent(ok, names, "img:15", want); why != "" {
		t.Fatalf("podsCurrent = %q, want current", why)
	}
	old := kube.Resources(engine.Flavor{VCPUs: 1, RAMMB: 512}, 1, 0)
	for name, pods := range map[string][]corev1.Pod{
		"old resources": {pod("pg-1", "img:15", want), pod("pg-2", "img:15", old)},
		"old image":     {pod("pg-1", "img:14", want), pod("pg-2", "img:15", want)},
		"missing pod":   {pod("pg-1", "img:15", want)},
		"extra pod":     {pod("pg-1", "img:15", want), pod("pg-2", "img:15", want), pod("pg-3", "img:15", want)},
	} {
		if why := podsCurrent(pods, names, "img:15", want); why == "" {
			t.Errorf("%s: podsCurrent says current", name)
		}
	}
}

func TestSameSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		vartype, have, want string
		same                bool
	}{
		{"integer", "8192", "8192", true},
		{"integer", "4096", "8192", false},
		{"real", "1.5", "1.50", true},
		{"bool", "on", "on", true},
		{"bool", "off", "on", false},
		{"enum", "Replica", "replica", true},
		{"enum", "logical", "replica", false},
		{"integer", withUnit("32768", "8kB"), "262144kB", true},
		{"integer", withUnit("16384", "8kB"), "262144kB", false},
		{"integer", withUnit("256", "MB"), "256MB", true},
		{"integer", withUnit("8192", "kB"), "1GB", false},
	} {
		if got := sameSetting(tc.vartype, tc.have, tc.want); got != tc.same {
			t.Errorf("sameSetting(%s, %s, %s) = %v", tc.vartype, tc.have, tc.want, got)
		}
	}
}

// CNPG passes a recovery target that is not RFC 3339 to the server as it
// is; an RFC 3339 one it rewrites ending in Z, which the server refuses.
func TestRecoveryTargetTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 2, 18, 29, 500000000, time.FixedZone("x", 3600))
	if got, want := recoveryTargetTime(at), "2026-12-06 01:18:29.5+00"; got != want {
		t.Errorf("recoveryTargetTime = %q, want %q", got, want)
	}
	if got := recoveryTargetTime(at.Truncate(time.Second)); strings.ContainsAny(got, "TZ") {
		t.Errorf("recoveryTargetTime = %q: RFC 3339, CNPG would rewrite it", got)
	}
}
