package cnpg

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// sortedNodes are c's nodes by index.
func sortedNodes(c *engine.Cluster) []engine.Node {
	nodes := append([]engine.Node{}, c.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Index < nodes[j].Index })
	return nodes
}

// nodeInstance is a node of a cluster with the operator's instance that
// serves it.
type nodeInstance struct {
	node     engine.Node
	instance string // the instance's name, also its pod's
}

// nodeInstances pairs c's nodes, by index, with the operator's instances,
// by serial: the i-th node is the i-th instance. Nodes without an instance
// yet are left out.
func nodeInstances(c *engine.Cluster, cl *crd.Cluster) []nodeInstance {
	names := sortedInstanceNames(cl.Status.InstanceNames)
	var out []nodeInstance
	for i, n := range sortedNodes(c) {
		if i >= len(names) {
			break
		}
		out = append(out, nodeInstance{node: n, instance: names[i]})
	}
	return out
}

// Observe implements engine.Driver from the operator's status and the
// pods: the node with the i-th lowest index is the instance with the i-th
// lowest serial; it is ACTIVE when its pod is Ready and MASTER when the
// operator names it the current primary.
func (d *Driver) Observe(ctx context.Context, c *engine.Cluster) (engine.Observation, error) {
	ns := kube.Namespace(c.ID)
	cl := &crd.Cluster{}
	err := d.kc.Get(ctx, clusterRes, ns, clusterName, cl)
	if apierrors.IsNotFound(err) {
		cl = nil
	} else if err != nil {
		return engine.Observation{}, kube.Error(err, "get cluster %s/%s", ns, clusterName)
	}
	var pods []corev1.Pod
	if cl != nil {
		if pods, err = kube.List[corev1.Pod](ctx, d.kc, kube.Pods, ns, map[string]string{labelCluster: clusterName}); err != nil {
			return engine.Observation{}, kube.Error(err, "list pods in %s", ns)
		}
	}
	return observation(c, cl, pods), nil
}

// observation maps what the operator and the kubelet report onto c's nodes.
func observation(c *engine.Cluster, cl *crd.Cluster, pods []corev1.Pod) engine.Observation {
	nodes := sortedNodes(c)
	var obs engine.Observation
	if cl == nil {
		for _, n := range nodes {
			obs.Nodes = append(obs.Nodes, engine.NodeState{ID: n.ID, Role: engine.RoleUnknown, Status: engine.NodeDown,
				Detail: "the operator has no cluster for this datastore"})
		}
		return obs
	}
	byName := map[string]*corev1.Pod{}
	var names []string
	for i := range pods {
		p := &pods[i]
		if !isInstancePod(p) {
			continue
		}
		byName[p.Labels[labelInstanceName]] = p
	}
	names = sortedInstanceNames(cl.Status.InstanceNames)
	if len(names) == 0 {
		for n := range byName {
			names = append(names, n)
		}
		names = sortedInstanceNames(names)
	}
	hibernated := cl.Annotations[annotationHibernat] == "on"
	for i, n := range nodes {
		st := engine.NodeState{ID: n.ID, Role: engine.RoleUnknown, Status: engine.NodeDown}
		switch {
		case hibernated:
			st.Detail = "hibernated"
		case i >= len(names):
			st.Detail = fmt.Sprintf("instance not created yet (phase %q)", cl.Status.Phase)
		default:
			name := names[i]
			if name == cl.Status.CurrentPrimary {
				st.Role = engine.RoleMaster
			} else {
				st.Role = engine.RoleReplica
			}
			switch down := kube.PodDown(name, byName[name]); {
			case down != "":
				st.Detail = down
			case st.Role == engine.RoleMaster && cl.Status.TargetPrimary != name:
				st.Detail = "primary being switched to " + cl.Status.TargetPrimary
			default:
				st.Status = engine.NodeActive
			}
			if st.Role == engine.RoleMaster && cl.Status.CurrentPrimaryFailingSinceTimestamp != "" && st.Status == engine.NodeActive {
				st.Status, st.Detail = engine.NodeDown, "primary failing since "+cl.Status.CurrentPrimaryFailingSinceTimestamp
			}
			if rep, ok := cl.Status.InstancesReportedState[name]; ok && st.Role == engine.RoleReplica && rep.IsPrimary {
				// The instance already answers as a primary (a promotion
				// the status has not caught up with): not a replica.
				st.Role = engine.RoleUnknown
			}
		}
		obs.Nodes = append(obs.Nodes, st)
	}
	return obs
}

// isInstancePod tells an instance's pod from the operator's job pods
// (initdb, join, …) and the poolers'.
func isInstancePod(p *corev1.Pod) bool {
	role := p.Labels["cnpg.io/podRole"]
	return p.Labels[labelInstanceName] != "" && p.Labels["cnpg.io/jobRole"] == "" && (role == "instance" || role == "")
}
