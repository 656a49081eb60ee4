package kubernetes_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// checkCapacityLimits: on Kubernetes, limits follow the cluster's nodes,
// not dbaasd's host: a datastore node may have at most what the roomiest
// node can allocate, over the share of a flavor that pods request (a
// tenth on the bed). A bigger flavor, whose pods no node could place, is
// refused before it is accepted.
func checkCapacityLimits(t *testing.T, e *at.Env, k kubernetes.Interface) {
	t.Helper()
	nodes, err := k.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var milli, mib int64
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue && !n.Spec.Unschedulable {
				milli = max(milli, n.Status.Allocatable.Cpu().MilliValue())
				mib = max(mib, n.Status.Allocatable.Memory().Value()>>20)
			}
		}
	}
	wantRAM, wantCPUs := float64(mib*10), float64(max(1, milli/100))
	r := e.Do(at.TokenA, http.MethodGet, "/v1/limits", nil)
	if got := r.Get("limits.0.ram_max.postgresql"); got != wantRAM {
		t.Errorf("ram_max for postgresql: %v, want %v (the node's %d MiB over a tenth)", got, wantRAM, mib)
	}
	if got := r.Get("limits.0.vcpus_max.postgresql"); got != wantCPUs {
		t.Errorf("vcpus_max for postgresql: %v, want %v (the node's %dm over a tenth)", got, wantCPUs, milli)
	}
	body := e.DatastoreBody("postgresql", "too-big", 1)
	body["datastore"].(map[string]any)["flavor"] = map[string]any{"vcpus": 1, "ram": int(wantRAM) + 1024, "disk": 5}
	if r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", body); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "flavor.ram") {
		t.Errorf("a flavor no node can place: %d %s", r.Status, r.Body)
	}
}
