package cnpg

import (
	"context"
	"errors"
	"math"

	corev1 "k8s.io/api/core/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

var _ engine.CapacityReporter = (*Driver)(nil)

// Capacity implements engine.CapacityReporter: what the roomiest node that
// takes pods (Ready, not cordoned) can allocate, divided by
// RequestFraction, since an instance's pod requests that share of its
// flavor: the largest flavor whose pods the scheduler can still place. A
// bigger one would leave its pods Pending and the datastore waiting, so
// the API refuses it before accepting it.
func (d *Driver) Capacity(ctx context.Context) (engine.Capacity, error) {
	nodes, err := kube.List[corev1.Node](ctx, d.kc, kube.Nodes, "", nil)
	if err != nil {
		return engine.Capacity{}, kube.Error(err, "list nodes")
	}
	return nodeCapacity(nodes, d.opts.RequestFraction)
}

// nodeCapacity is Capacity for a list of nodes.
func nodeCapacity(nodes []corev1.Node, fraction float64) (engine.Capacity, error) {
	if fraction <= 0 || fraction > 1 {
		fraction = 1
	}
	var milliCPU, memBytes int64
	for _, n := range nodes {
		if n.Spec.Unschedulable || !nodeReady(&n) {
			continue
		}
		milliCPU = max(milliCPU, n.Status.Allocatable.Cpu().MilliValue())
		memBytes = max(memBytes, n.Status.Allocatable.Memory().Value())
	}
	if milliCPU == 0 || memBytes == 0 {
		return engine.Capacity{}, errors.New("no node of the cluster takes pods")
	}
	return engine.Capacity{CPUs: max(1, share(milliCPU, 1000*fraction)), RAMMB: share(memBytes>>20, fraction)}, nil
}

// share is n / d rounded down, where a quotient a hair below a whole
// number (1.9 / 0.1) counts as that number.
func share(n int64, d float64) int { return int(math.Floor(float64(n)/d + 1e-9)) }

// nodeReady reports whether a node's Ready condition is true.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
