package mariadbop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// labelInstance is the operator's label of a MariaDB's pods;
// annotationConfig, on each pod, is the hash of the my.cnf it started with.
const (
	labelInstance    = "app.kubernetes.io/instance"
	annotationConfig = "k8s.mariadb.com/config"
)

// configHash is the operator's hash of a my.cnf.
func configHash(cnf string) string {
	sum := sha256.Sum256([]byte(cnf))
	return hex.EncodeToString(sum[:])
}

// read is the datastore's MariaDB (nil when there is none) and its pods.
func (d *Driver) read(ctx context.Context, ns string) (*MariaDB, []corev1.Pod, error) {
	m := &MariaDB{}
	err := d.kc.Get(ctx, mariadbRes, ns, mariadbName, m)
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, kube.Error(err, "get mariadb %s/%s", ns, mariadbName)
	}
	pods, err := kube.List[corev1.Pod](ctx, d.kc, kube.Pods, ns, map[string]string{labelInstance: mariadbName})
	if err != nil {
		return nil, nil, kube.Error(err, "list pods in %s", ns)
	}
	return m, pods, nil
}

// Observe implements engine.Driver from the operator's status and the
// pods: the node with the i-th lowest index is pod i; it is ACTIVE when its
// pod is Ready, and MASTER when the operator names it the primary.
func (d *Driver) Observe(ctx context.Context, c *engine.Cluster) (engine.Observation, error) {
	m, pods, err := d.read(ctx, kube.Namespace(c.ID))
	if err != nil {
		return engine.Observation{}, err
	}
	return observation(c, m, pods), nil
}

// observation maps what the operator and the kubelet report onto c's nodes.
func observation(c *engine.Cluster, m *MariaDB, pods []corev1.Pod) engine.Observation {
	var obs engine.Observation
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		byName[pods[i].Name] = &pods[i]
	}
	for i, n := range sortedNodes(c) {
		st := engine.NodeState{ID: n.ID, Role: engine.RoleUnknown, Status: engine.NodeDown}
		name := podName(i)
		switch {
		case m == nil:
			st.Detail = "the operator has no MariaDB for this datastore"
		case m.Spec.Suspend:
			st.Detail = "stopped"
		default:
			st.Role = role(m, i)
			switch down := kube.PodDown(name, byName[name]); {
			case down != "":
				st.Detail = down
			case st.Role == engine.RoleUnknown:
				st.Detail = "the operator reports no role for " + name
			default:
				st.Status = engine.NodeActive
			}
		}
		obs.Nodes = append(obs.Nodes, st)
	}
	return obs
}

// role is the operator's view of pod i: the primary it sends writes to is
// MASTER, the others REPLICA (a Galera node the operator does not write
// to is a synced peer; it is reported as a replica, as the local runtime's
// Galera nodes other than the designated master are).
func role(m *MariaDB, i int) string {
	if m.Status.CurrentPrimaryPodIndex == nil {
		return engine.RoleUnknown
	}
	if *m.Status.CurrentPrimaryPodIndex == i {
		return engine.RoleMaster
	}
	if m.Status.Replication != nil {
		if r, ok := m.Status.Replication.Roles[podName(i)]; ok && r == rolePrimary {
			// The status has not caught up with a promotion.
			return engine.RoleUnknown
		}
	}
	return engine.RoleReplica
}

// current says why the servers do not run the spec dbaasd wrote yet ("" when
// they do): the StatefulSet the operator made from it, each pod at its
// latest revision with the desired image, limits and configuration (the
// operator marks each pod with the hash of the my.cnf it starts with).
func current(m *MariaDB, ss *statefulSet, pods []corev1.Pod) string {
	want := int32(len(pods))
	switch {
	case ss == nil:
		return "no StatefulSet yet"
	case ss.Spec.Replicas == nil || *ss.Spec.Replicas != m.Spec.Replicas:
		return "the StatefulSet is not scaled yet"
	case ss.Status.ObservedGeneration != ss.Generation:
		return "the StatefulSet's controller has not seen its spec"
	case want != m.Spec.Replicas:
		return fmt.Sprintf("%d pods for %d servers", want, m.Spec.Replicas)
	}
	for i := range pods {
		p := &pods[i]
		if p.Labels[labelRevision] != ss.Status.UpdateRevision {
			return "pod " + p.Name + " is not updated yet"
		}
		if m.Spec.MyCnf != nil && p.Annotations[annotationConfig] != configHash(*m.Spec.MyCnf) {
			return "pod " + p.Name + " does not run the latest configuration yet"
		}
		for _, ctr := range p.Spec.Containers {
			if ctr.Name != mariadbContainer {
				continue
			}
			if ctr.Image != m.Spec.Image {
				return "pod " + p.Name + " runs " + ctr.Image
			}
			if m.Spec.Resources != nil {
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					w, have := m.Spec.Resources.Limits[r], ctr.Resources.Limits[r]
					if w.Cmp(have) != 0 {
						return fmt.Sprintf("pod %s has %s limit %s, want %s", p.Name, r, have.String(), w.String())
					}
				}
			}
		}
	}
	return ""
}

// ready tells whether the operator reports m ready with n servers, and if
// not, why.
func ready(m *MariaDB, n int) (bool, string) {
	cond := meta.FindStatusCondition(m.Status.Conditions, conditionReady)
	switch {
	case int(m.Spec.Replicas) != n:
		return false, fmt.Sprintf("the spec asks for %d servers", m.Spec.Replicas)
	case cond == nil:
		return false, "no Ready condition yet"
	case cond.Status != metav1.ConditionTrue:
		return false, "not ready: " + cond.Message
	case int(m.Status.Replicas) != n:
		return false, fmt.Sprintf("%d of %d servers", m.Status.Replicas, n)
	case m.Status.CurrentPrimaryPodIndex == nil:
		return false, "no primary yet"
	case *m.Status.CurrentPrimaryPodIndex >= n:
		return false, "primary " + strconv.Itoa(*m.Status.CurrentPrimaryPodIndex) + " is being replaced"
	}
	return true, ""
}
