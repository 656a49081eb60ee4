package mariadbop

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func cluster(n int) *engine.Cluster {
	c := &engine.Cluster{ID: "ds", Engine: engine.MySQLNative}
	for i := range n {
		// Indexes out of order: node i is the one with the i-th lowest.
		c.Nodes = append([]engine.Node{{ID: "n" + string(rune('a'+i)), Index: 10 + i}}, c.Nodes...)
	}
	return c
}

func pod(name string, ready bool) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelRevision: "r2"}}}
	p.Status.Phase = corev1.PodRunning
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	p.Spec.Containers = []corev1.Container{{Name: mariadbContainer, Image: "img:10.11", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}}}
	return p
}

func primaryAt(i int) *MariaDB {
	m := &MariaDB{}
	m.Spec.Replicas = 3
	m.Status.CurrentPrimaryPodIndex = &i
	m.Status.Replicas = 3
	m.Status.Conditions = []metav1.Condition{{Type: conditionReady, Status: metav1.ConditionTrue}}
	return m
}

// A node is the pod of its rank by index; the operator's primary is
// MASTER; a pod that is not Ready, missing or still a primary in the
// replication status is not ACTIVE.
func TestObservation(t *testing.T) {
	t.Parallel()
	promoted := primaryAt(1)
	promoted.Status.Replication = &ReplicationStatus{Roles: map[string]string{"mariadb-0": rolePrimary, "mariadb-1": rolePrimary}}
	suspended := primaryAt(0)
	suspended.Spec.Suspend = true
	tests := []struct {
		name  string
		m     *MariaDB
		pods  []corev1.Pod
		roles []string // by node rank
		up    []bool
		why   string // in the detail of the first node that is down
	}{
		{"healthy", primaryAt(0), []corev1.Pod{pod("mariadb-0", true), pod("mariadb-1", true), pod("mariadb-2", true)},
			[]string{engine.RoleMaster, engine.RoleReplica, engine.RoleReplica}, []bool{true, true, true}, ""},
		{"after a failover", primaryAt(2), []corev1.Pod{pod("mariadb-0", false), pod("mariadb-1", true), pod("mariadb-2", true)},
			[]string{engine.RoleReplica, engine.RoleReplica, engine.RoleMaster}, []bool{false, true, true}, "not ready"},
		{"pod missing", primaryAt(0), []corev1.Pod{pod("mariadb-0", true), pod("mariadb-2", true)},
			[]string{engine.RoleMaster, engine.RoleReplica, engine.RoleReplica}, []bool{true, false, true}, "does not exist"},
		{"old primary not demoted yet", promoted, []corev1.Pod{pod("mariadb-0", true), pod("mariadb-1", true), pod("mariadb-2", true)},
			[]string{engine.RoleUnknown, engine.RoleMaster, engine.RoleReplica}, []bool{false, true, true}, "no role"},
		{"no MariaDB", nil, nil,
			[]string{engine.RoleUnknown, engine.RoleUnknown, engine.RoleUnknown}, []bool{false, false, false}, "no MariaDB"},
		{"stopped", suspended, nil,
			[]string{engine.RoleUnknown, engine.RoleUnknown, engine.RoleUnknown}, []bool{false, false, false}, "stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cluster(3)
			obs := observation(c, tc.m, tc.pods)
			if len(obs.Nodes) != 3 {
				t.Fatalf("%d nodes", len(obs.Nodes))
			}
			sorted := sortedNodes(c)
			var why string
			for i, st := range obs.Nodes {
				if st.ID != sorted[i].ID {
					t.Errorf("node %d is %s, want %s (by index)", i, st.ID, sorted[i].ID)
				}
				if st.Role != tc.roles[i] || (st.Status == engine.NodeActive) != tc.up[i] {
					t.Errorf("node %d: %s %s (%s), want %s up=%v", i, st.Role, st.Status, st.Detail, tc.roles[i], tc.up[i])
				}
				if st.Status != engine.NodeActive && why == "" {
					why = st.Detail
				}
			}
			if !strings.Contains(why, tc.why) {
				t.Errorf("detail %q, want it to say %q", why, tc.why)
			}
		})
	}
}

// Ensure returns only once the operator runs what dbaasd last wrote: the
// Ready condition alone may still describe the spec before.
func TestCurrent(t *testing.T) {
	t.Parallel()
	cnf := "[mysqld]\nlong_query_time = 5\n"
	spec := func() *MariaDB {
		m := primaryAt(0)
		m.Spec.Image = "img:10.11"
		m.Spec.MyCnf = &cnf
		m.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}}
		return m
	}
	sts := func(replicas int32, gen, seen int64) *statefulSet {
		ss := &statefulSet{}
		ss.Generation = gen
		ss.Spec.Replicas = &replicas
		ss.Status.ObservedGeneration = seen
		ss.Status.UpdateRevision = "r2"
		return ss
	}
	withConfig := func(cnf string) []corev1.Pod {
		pods := []corev1.Pod{pod("mariadb-0", true), pod("mariadb-1", true), pod("mariadb-2", true)}
		for i := range pods {
			pods[i].Annotations = map[string]string{annotationConfig: configHash(cnf)}
		}
		return pods
	}
	pods := withConfig(cnf)
	oldRevision := withConfig(cnf)
	oldRevision[1].Labels[labelRevision] = "r1"
	oldConfig := withConfig(cnf)
	oldConfig[2].Annotations[annotationConfig] = configHash("[mysqld]\n")
	bigger := spec()
	bigger.Spec.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("2Gi")
	tests := []struct {
		name string
		m    *MariaDB
		ss   *statefulSet
		pods []corev1.Pod
		why  string
	}{
		{"current", spec(), sts(3, 2, 2), pods, ""},
		{"no statefulset", spec(), nil, pods, "no StatefulSet"},
		{"not scaled", spec(), sts(2, 2, 2), pods, "not scaled"},
		{"generation not seen", spec(), sts(3, 3, 2), pods, "has not seen"},
		{"a pod with the configuration before", spec(), sts(3, 2, 2), oldConfig, "mariadb-2 does not run the latest configuration"},
		{"pod at an old revision", spec(), sts(3, 2, 2), oldRevision, "mariadb-1 is not updated"},
		{"old limits", bigger, sts(3, 2, 2), pods, "memory limit"},
		{"a pod too few", spec(), sts(3, 2, 2), pods[:2], "2 pods for 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := current(tc.m, tc.ss, tc.pods)
			if (tc.why == "") != (got == "") || !strings.Contains(got, tc.why) {
				t.Errorf("current = %q, want %q", got, tc.why)
			}
		})
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	notReady := primaryAt(0)
	notReady.Status.Conditions[0].Status, notReady.Status.Conditions[0].Message = metav1.ConditionFalse, "Updating"
	noPrimary := primaryAt(0)
	noPrimary.Status.CurrentPrimaryPodIndex = nil
	scaledDown := primaryAt(2)
	scaledDown.Spec.Replicas, scaledDown.Status.Replicas = 2, 2
	for _, tc := range []struct {
		name string
		m    *MariaDB
		n    int
		why  string
	}{
		{"ready", primaryAt(0), 3, ""},
		{"another size asked", primaryAt(0), 2, "asks for 3"},
		{"not ready", notReady, 3, "Updating"},
		{"no primary", noPrimary, 3, "no primary"},
		{"primary on a pod that goes", scaledDown, 2, "being replaced"},
	} {
		ok, why := ready(tc.m, tc.n)
		if ok != (tc.why == "") || !strings.Contains(why, tc.why) {
			t.Errorf("%s: ready = %v %q, want %q", tc.name, ok, why, tc.why)
		}
	}
}
