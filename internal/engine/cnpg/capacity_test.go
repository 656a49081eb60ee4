package cnpg

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/dbaasd/dbaasd/internal/engine"
)

func TestNodeCapacity(t *testing.T) {
	t.Parallel()
	node := func(cpu, mem string, ready, cordoned bool) corev1.Node {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return corev1.Node{Spec: corev1.NodeSpec{Unschedulable: cordoned}, Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
	}
	for _, tc := range []struct {
		name     string
		nodes    []corev1.Node
		fraction float64
		want     engine.Capacity
		fails    bool
	}{
		{"the roomiest node", []corev1.Node{node("2", "8Gi", true, false), node("3900m", "4Gi", true, false)}, 1,
			engine.Capacity{CPUs: 3, RAMMB: 8192}, false},
		{"pods request a tenth of their flavor", []corev1.Node{node("1900m", "2000Mi", true, false)}, 0.1,
			engine.Capacity{CPUs: 19, RAMMB: 20000}, false},
		{"nodes that take no pods do not count", []corev1.Node{node("64", "256Gi", false, false), node("32", "128Gi", true, true),
			node("2", "4Gi", true, false)}, 1, engine.Capacity{CPUs: 2, RAMMB: 4096}, false},
		{"less than a core is one", []corev1.Node{node("500m", "1Gi", true, false)}, 1, engine.Capacity{CPUs: 1, RAMMB: 1024}, false},
		{"no node takes pods", []corev1.Node{node("64", "256Gi", false, false)}, 1, engine.Capacity{}, true},
	} {
		got, err := nodeCapacity(tc.nodes, tc.fraction)
		if (err != nil) != tc.fails || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v (fails: %v)", tc.name, got, err, tc.want, tc.fails)
		}
	}
}
