package kuberedis

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
)

func cluster(nodes int) *engine.Cluster {
	c := &engine.Cluster{ID: "ds1", Engine: engine.Redis, Password: "Redis-Secret-1", AdminPassword: "admin-secret",
		Flavor: engine.Flavor{VCPUs: 1, RAMMB: 1024, DiskGB: 5}}
	for i := range nodes {
		c.Nodes = append(c.Nodes, engine.Node{ID: "n" + string(rune('0'+i)), Index: i, Host: "10.0.0.1", Port: 7000 + i})
	}
	return c
}

func TestPodIndex(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]int{
		"redis-0.redis.dbaasd-x.svc": 0, "redis-12": 12, "redis-2.redis.ns.svc.cluster.local": 2,
		"mariadb-0.x": -1, "redis-x.redis": -1, "redis--1": -1, "": -1, "10.0.0.1": -1,
	} {
		if got := podIndex(host); got != want {
			t.Errorf("podIndex(%q) = %d, want %d", host, got, want)
		}
	}
}

// TestSecretData: the forwarder admits everyone without a firewall, and
// with one its entries, dbaasd's range and the pod network only; every
// change the pods must start with changes the hash, nothing else does.
func TestSecretData(t *testing.T) {
	t.Parallel()
	d := &Driver{opts: Options{AdminCIDRs: []string{"10.203.0.1/32"}, TrustedCIDRs: []string{"10.201.0.0/24"}}}
	allow := func(c *engine.Cluster) []string {
		t.Helper()
		data, err := d.secretData(c)
		if err != nil {
			t.Fatal(err)
		}
		var fw struct{ Allow []string }
		if err := json.Unmarshal(data[keyForwarder], &fw); err != nil {
			t.Fatal(err)
		}
		return fw.Allow
	}
	if got := strings.Join(allow(cluster(3)), ","); got != "0.0.0.0/0,::/0" {
		t.Errorf("no firewall: allow %s", got)
	}
	c := cluster(3)
	c.Firewall = []string{"192.0.2.10"}
	if got := strings.Join(allow(c), ","); got != "192.0.2.10,10.203.0.1/32,10.201.0.0/24" {
		t.Errorf("firewall: allow %s", got)
	}

	hash := func(c *engine.Cluster) string {
		t.Helper()
		data, err := d.secretData(c)
		if err != nil {
			t.Fatal(err)
		}
		return dataHash(data)
	}
	base := hash(cluster(3))
	if hash(cluster(3)) != base {
		t.Error("the same datastore hashes differently")
	}
	for name, change := range map[string]func(*engine.Cluster){
		"password":  func(c *engine.Cluster) { c.Password = "Redis-Secret-2" },
		"firewall":  func(c *engine.Cluster) { c.Firewall = []string{"192.0.2.0/24"} },
		"parameter": func(c *engine.Cluster) { c.Config = map[string]any{"maxmemory-policy": "allkeys-lru"} },
		"memory":    func(c *engine.Cluster) { c.Flavor.RAMMB = 2048 },
		"nodes":     func(c *engine.Cluster) { c.Nodes = c.Nodes[:1] }, // the sentinels' quorum
	} {
		c := cluster(3)
		change(c)
		if hash(c) == base {
			t.Errorf("a change of %s keeps the pods' configuration hash", name)
		}
	}
	c = cluster(3)
	c.Password = "with blank"
	if _, err := d.secretData(c); err == nil {
		t.Error("a password Sentinel would write into its file unquoted was accepted")
	}
}

func TestApplySet(t *testing.T) {
	t.Parallel()
	d := &Driver{opts: Options{Image: "dbaasd.local/redis:{version}-abc", StorageClass: "local", RequestFraction: 0.5}}
	ss := &appsv1.StatefulSet{}
	if err := d.applySet(ss, cluster(3), "7.0", "h1"); err != nil {
		t.Fatal(err)
	}
	spec := ss.Spec
	switch {
	case *spec.Replicas != 3:
		t.Errorf("replicas %d", *spec.Replicas)
	case spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType:
		t.Errorf("update strategy %s: dbaasd replaces the pods itself", spec.UpdateStrategy.Type)
	case spec.ServiceName != setName || spec.Selector.MatchLabels[labelApp] != setName:
		t.Errorf("service %s, selector %v", spec.ServiceName, spec.Selector)
	case spec.Template.Annotations[annotationConfig] != "h1":
		t.Errorf("annotations %v", spec.Template.Annotations)
	case *spec.VolumeClaimTemplates[0].Spec.StorageClassName != "local":
		t.Errorf("storage class %v", spec.VolumeClaimTemplates[0].Spec.StorageClassName)
	}
	pod := spec.Template.Spec
	if *pod.SecurityContext.RunAsUser != redisUID || *pod.AutomountServiceAccountToken {
		t.Errorf("pod security: %+v, token %v", pod.SecurityContext, *pod.AutomountServiceAccountToken)
	}
	names := map[string]bool{}
	for _, ctr := range pod.Containers {
		names[ctr.Name] = true
		if ctr.Image != "dbaasd.local/redis:7.0-abc" {
			t.Errorf("container %s runs %s", ctr.Name, ctr.Image)
		}
		if *ctr.SecurityContext.AllowPrivilegeEscalation || len(ctr.SecurityContext.Capabilities.Drop) == 0 {
			t.Errorf("container %s may gain privileges", ctr.Name)
		}
		for _, e := range ctr.Env {
			if e.Name == "NODES" && e.Value != "3" {
				t.Errorf("NODES=%s", e.Value)
			}
		}
	}
	if !names[serverContainer] || !names[sentinelContainer] || !names[forwarderContainer] {
		t.Errorf("containers %v", names)
	}
	// The seed runs in every pod, and its variables are optional: without
	// a restore's Secret the pods start as they are.
	if len(pod.InitContainers) != 1 || pod.InitContainers[0].Name != seedContainer {
		t.Fatalf("init containers %+v", pod.InitContainers)
	}
	for _, e := range pod.InitContainers[0].Env {
		if ref := e.ValueFrom.SecretKeyRef; ref != nil && (ref.Name != seedSecret || ref.Optional == nil || !*ref.Optional) {
			t.Errorf("seed variable %s: %+v", e.Name, ref)
		}
	}
	if lim := pod.Containers[0].Resources.Limits.Memory().Value(); lim != 1024<<20 {
		t.Errorf("server memory limit %d", lim)
	}

	// A made StatefulSet keeps its volumes: only what may change changes.
	ss.CreationTimestamp.Time = ss.CreationTimestamp.Add(1)
	ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests = nil
	c := cluster(2)
	c.Flavor.DiskGB = 10
	if err := d.applySet(ss, c, "7.0", "h2"); err != nil {
		t.Fatal(err)
	}
	if *ss.Spec.Replicas != 2 || ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests != nil || ss.Spec.Template.Annotations[annotationConfig] != "h2" {
		t.Errorf("after a change: replicas %d, claims %v, annotations %v", *ss.Spec.Replicas, ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests, ss.Spec.Template.Annotations)
	}
}

// TestValidateFirewall: without dbaasd's own addresses a firewall would
// shut dbaasd out, so it is refused before it is accepted.
func TestValidateFirewall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		admin   []string
		entries []string
		ok      bool
	}{
		{nil, nil, true},
		{nil, []string{"192.0.2.10"}, false},
		{[]string{"10.203.0.1/32"}, []string{"192.0.2.10", "198.51.100.0/24"}, true},
		{[]string{"10.203.0.1/32"}, []string{"not-an-address"}, false},
	} {
		d := &Driver{opts: Options{AdminCIDRs: tc.admin, Local: redis.New(redis.Options{})}}
		err := d.ValidateFirewall(tc.entries)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, engine.ErrInvalid) {
			t.Errorf("admin %v, firewall %v: %v", tc.admin, tc.entries, err)
		}
	}
}

// TestUnsettled: a rollout moves on only while every server answers and
// every replica has the master's data.
func TestUnsettled(t *testing.T) {
	t.Parallel()
	active := engine.NodeState{Status: engine.NodeActive, Role: engine.RoleReplica}
	syncing := active
	syncing.Detail = "copying the master's dataset"
	down := engine.NodeState{Status: engine.NodeDown, Detail: "pod redis-2 not ready"}
	for _, tc := range []struct {
		nodes []engine.NodeState
		want  string
	}{
		{[]engine.NodeState{active, active, active}, ""},
		{[]engine.NodeState{active, syncing, active}, "redis-1: copying the master's dataset"},
		{[]engine.NodeState{active, active, down}, "waiting for the servers"},
	} {
		got := unsettled(engine.Observation{Nodes: tc.nodes})
		if tc.want == "" && got != "" || tc.want != "" && !strings.HasPrefix(got, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.nodes, got, tc.want)
		}
	}
}
