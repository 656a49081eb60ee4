package cnpg

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPoolerPending: the pooler is done only when its one pod runs the
// new settings and the old pod is gone, not merely terminating.
func TestPoolerPending(t *testing.T) {
	t.Parallel()
	dep := func(digest string, replicas, updated, ready int32) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
		d.Spec.Template.Annotations = map[string]string{annotationPgBouncer: digest}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: replicas, UpdatedReplicas: updated, ReadyReplicas: ready}
		return d
	}
	pod := func(name, digest string, ready, terminating bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annotationPgBouncer: digest}}}
		p.Status.Phase = corev1.PodRunning
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		if terminating {
			now := metav1.Now()
			p.DeletionTimestamp = &now
		}
		return p
	}
	for _, tc := range []struct {
		name string
		dep  *appsv1.Deployment
		pods []corev1.Pod
		done bool
	}{
		{"done", dep("new", 1, 1, 1), []corev1.Pod{pod("b", "new", true, false)}, true},
		{"old template", dep("old", 1, 1, 1), []corev1.Pod{pod("a", "old", true, false)}, false},
		{"rolling", dep("new", 2, 1, 1), []corev1.Pod{pod("a", "old", true, false), pod("b", "new", true, false)}, false},
		{"old pod terminating", dep("new", 1, 1, 1), []corev1.Pod{pod("a", "old", true, true), pod("b", "new", true, false)}, false},
		{"only pod terminating", dep("new", 1, 1, 1), []corev1.Pod{pod("b", "new", true, true)}, false},
		{"pod of old settings", dep("new", 1, 1, 1), []corev1.Pod{pod("a", "old", true, false)}, false},
		{"not ready", dep("new", 1, 1, 1), []corev1.Pod{pod("b", "new", false, false)}, false},
		{"no pod", dep("new", 1, 1, 1), nil, false},
	} {
		why := poolerPending(tc.dep, tc.pods, "new")
		if (why == "") != tc.done {
			t.Errorf("%s: %q", tc.name, why)
		}
	}
}
