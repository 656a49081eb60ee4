package cnpg

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

func testKube(t *testing.T, f *fakeAPI) *kube.Client {
	t.Helper()
	k, err := kube.New(f.config(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string{}, f.log...)
	f.log = nil
	return out
}

// apply creates what is missing, and of what exists patches only what
// dbaasd's types hold and changed: a field they lack (set by the operator
// or by hand) keeps its value, and nothing is sent when nothing changed.
func TestApply(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	k := testKube(t, f)
	ctx := context.Background()
	const key = "/apis/postgresql.cnpg.io/v1/namespaces/ns/clusters/pg"

	cl := &crd.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "ns"}}
	if err := k.Apply(ctx, clusterRes, cl, func() error { cl.Spec.Instances = 1; cl.Spec.ImageName = "img:15"; return nil }); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || !strings.HasPrefix(reqs[1], "POST /apis/postgresql.cnpg.io/v1/namespaces/ns/clusters\n") ||
		!strings.Contains(reqs[1], `"kind": "Cluster"`) || !strings.Contains(reqs[1], `"apiVersion": "postgresql.cnpg.io/v1"`) {
		t.Fatalf("create: requests %q", reqs)
	}
	if cl.ResourceVersion == "" || cl.UID == "" {
		t.Errorf("after create the object lacks what the server made: %+v", cl.ObjectMeta)
	}

	// The operator (or an administrator) sets fields dbaasd does not know.
	f.edit(key, func(obj map[string]any) {
		spec := path(obj, "spec")
		spec["logLevel"], spec["description"] = "debug", "by hand"
		path(spec, "postgresql")["pg_ident"] = []any{"map a b"}
	})
	cl = &crd.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "ns"}}
	if err := k.Apply(ctx, clusterRes, cl, func() error { cl.Spec.Instances = 3; cl.Spec.ImageName = "img:15"; return nil }); err != nil {
		t.Fatal(err)
	}
	reqs = f.requests()
	want := "PATCH " + key + " (application/merge-patch+json)\n  {\n    \"spec\": {\n      \"instances\": 3\n    }\n  }"
	if len(reqs) != 2 || reqs[1] != want {
		t.Fatalf("update: requests %q, want a GET and %q", reqs, want)
	}
	f.mu.Lock()
	spec := path(f.objs[key], "spec")
	kept := spec["logLevel"] == "debug" && spec["description"] == "by hand" && path(spec, "postgresql")["pg_ident"] != nil
	f.mu.Unlock()
	if !kept || cl.Spec.Instances != 3 {
		t.Errorf("after the patch: spec %v, instances %d; want the unknown fields kept and 3 instances", spec, cl.Spec.Instances)
	}

	cl = &crd.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "ns"}}
	if err := k.Apply(ctx, clusterRes, cl, func() error { cl.Spec.Instances = 3; return nil }); err != nil {
		t.Fatal(err)
	}
	if reqs = f.requests(); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "GET ") {
		t.Errorf("nothing changed: requests %q, want one GET", reqs)
	}

	// A refused mutation changes nothing.
	if err := k.Apply(ctx, clusterRes, cl, func() error { cl.Name = "other"; return nil }); err == nil {
		t.Error("apply let mutate rename the object")
	}
}

// get fills its target from scratch (a field the server no longer has
// does not survive from an earlier read) and keeps the API's errors for
// apierrors to classify.
func TestGetAndList(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	k := testKube(t, f)
	ctx := context.Background()
	f.mu.Lock()
	f.put("/api/v1/namespaces/ns/pods/a", map[string]any{"metadata": map[string]any{"labels": map[string]any{"role": "x"}}})
	f.put("/api/v1/namespaces/ns/pods/b", map[string]any{"metadata": map[string]any{"labels": map[string]any{"role": "y"}}})
	f.put("/api/v1/namespaces/other/pods/c", map[string]any{"metadata": map[string]any{"labels": map[string]any{"role": "x"}}})
	f.logs["/api/v1/namespaces/ns/pods/b"] = "hello\n"
	f.mu.Unlock()

	pod := corev1.Pod{Spec: corev1.PodSpec{NodeName: "stale"}}
	if err := k.Get(ctx, kube.Pods, "ns", "a", &pod); err != nil || pod.Name != "a" || pod.Spec.NodeName != "" {
		t.Errorf("get = %v, %+v", err, pod)
	}
	if err := k.Get(ctx, kube.Pods, "ns", "missing", &pod); !apierrors.IsNotFound(err) {
		t.Errorf("get of a missing pod: %v, want NotFound", err)
	}
	pods, err := kube.List[corev1.Pod](ctx, k, kube.Pods, "ns", map[string]string{"role": "x"})
	if err != nil || len(pods) != 1 || pods[0].Name != "a" {
		t.Errorf("list role=x in ns = %v, %v", pods, err)
	}
	if pods, err = kube.List[corev1.Pod](ctx, k, kube.Pods, "", nil); err != nil || len(pods) != 3 {
		t.Errorf("list everywhere = %d pods, %v", len(pods), err)
	}
	if err := k.Remove(ctx, kube.Pods, "ns", "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := k.Remove(ctx, kube.Pods, "ns", "a", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: %v, want NotFound", err)
	}
	if out, err := k.PodLog(ctx, "ns", "b"); err != nil || string(out) != "hello\n" {
		t.Errorf("podLog = %q, %v", out, err)
	}
}

// The API server's warnings reach dbaasd's log, each once (the server
// repeats one on every write of an object).
func TestWarningsLogged(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	f.warn = "spec.backup.barmanObjectStore is deprecated"
	var buf bytes.Buffer
	k, err := kube.New(f.config(), slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_ = k.Get(context.Background(), kube.Pods, "ns", "a", &corev1.Pod{})
	}
	if n := strings.Count(buf.String(), "barmanObjectStore is deprecated"); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, buf.String())
	}
}
