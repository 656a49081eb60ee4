package cnpg

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
)

// kind is a resource of the Kubernetes API and the kind of its objects.
type kind struct {
	gvr  schema.GroupVersionResource
	kind string
}

// The resources the driver uses.
var (
	nsRes         = kind{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "Namespace"}
	secretRes     = kind{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, "Secret"}
	serviceRes    = kind{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "Service"}
	podRes        = kind{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod"}
	nodeRes       = kind{schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "Node"}
	deploymentRes = kind{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment"}
	clusterRes    = kind{crd.ClusterResource, "Cluster"}
	databaseRes   = kind{crd.DatabaseResource, "Database"}
	poolerRes     = kind{crd.PoolerResource, "Pooler"}
	backupRes     = kind{crd.BackupResource, "Backup"}
	pvcRes        = kind{schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, "PersistentVolumeClaim"}
	classRes      = kind{schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}, "StorageClass"}
)

// object is a typed Kubernetes object: a struct with metav1.ObjectMeta
// (crd's, corev1's, appsv1's), read and written as JSON.
type object interface {
	GetName() string
	GetNamespace() string
}

// kube is the driver's client of the Kubernetes API: client-go's dynamic
// client, with objects converted to and from typed structs through JSON
// (what CloudNativePG's and Kubernetes' Go types write is their JSON).
type kube struct {
	dyn  dynamic.Interface
	rest rest.Interface // for what is not an object (a pod's log)
}

// newKube connects to the API server cfg names; what the server warns of
// goes to log.
func newKube(cfg *rest.Config, log *slog.Logger) (*kube, error) {
	cfg = dynamic.ConfigFor(cfg)
	cfg.WarningHandlerWithContext = &warningLogger{log: log}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	rc, err := rest.UnversionedRESTClientForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	return &kube{dyn: dynamic.New(rc), rest: rc}, nil
}

// warningLogger logs the API server's warnings (a deprecated field, say),
// each text once: the server repeats one on every write of the object.
type warningLogger struct {
	log  *slog.Logger
	seen sync.Map
}

func (w *warningLogger) HandleWarningHeaderWithContext(ctx context.Context, code int, _, text string) {
	if code != 299 || text == "" {
		return
	}
	if _, dup := w.seen.LoadOrStore(text, true); !dup {
		w.log.InfoContext(ctx, "kubernetes API warning", "warning", text)
	}
}

func (k *kube) resource(res kind, ns string) dynamic.ResourceInterface {
	if ns == "" {
		return k.dyn.Resource(res.gvr)
	}
	return k.dyn.Resource(res.gvr).Namespace(ns)
}

// decode fills out (a pointer to a struct) from u, from scratch.
func decode(u *unstructured.Unstructured, out any) error {
	data, err := u.MarshalJSON()
	if err != nil {
		return err
	}
	v := reflect.ValueOf(out).Elem()
	v.SetZero()
	return json.Unmarshal(data, out)
}

// encode turns obj into what the dynamic client sends, with its
// apiVersion and kind.
func encode(res kind, obj object) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(withKind(res, data)); err != nil {
		return nil, err
	}
	return u, nil
}

// withKind sets apiVersion and kind in a JSON object (UnmarshalJSON
// refuses an object without a kind).
func withKind(res kind, data []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return data
	}
	av, _ := json.Marshal(res.gvr.GroupVersion().String())
	k, _ := json.Marshal(res.kind)
	m["apiVersion"], m["kind"] = av, k
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

// get reads the object ns/name into out.
func (k *kube) get(ctx context.Context, res kind, ns, name string, out any) error {
	u, err := k.resource(res, ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	return decode(u, out)
}

// list reads the objects of a namespace ("" = all) with the labels sel
// (nil = all).
func list[T any](ctx context.Context, k *kube, res kind, ns string, sel map[string]string) ([]T, error) {
	opts := metav1.ListOptions{}
	if len(sel) > 0 {
		opts.LabelSelector = k8slabels.SelectorFromSet(sel).String()
	}
	l, err := k.resource(res, ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(l.Items))
	for i := range l.Items {
		if err := decode(&l.Items[i], &out[i]); err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", res.kind, l.Items[i].GetNamespace(), l.Items[i].GetName(), err)
		}
	}
	return out, nil
}

// create makes obj; obj then holds what the server made.
func (k *kube) create(ctx context.Context, res kind, obj object) error {
	u, err := encode(res, obj)
	if err != nil {
		return err
	}
	made, err := k.resource(res, obj.GetNamespace()).Create(ctx, u, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	return decode(made, obj)
}

// patch changes the object from what before holds to what obj holds
// with a JSON merge patch of the difference (nothing when there is none),
// without a resourceVersion: the fields obj's type does not have are
// left as they are, as are those it has but did not change. obj then
// holds what the server made.
func (k *kube) patch(ctx context.Context, res kind, before []byte, obj object) error {
	after, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	p, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return fmt.Errorf("patch of %s %s: %w", res.kind, obj.GetName(), err)
	}
	if bytes.Equal(p, []byte("{}")) {
		return nil
	}
	made, err := k.resource(res, obj.GetNamespace()).Patch(ctx, obj.GetName(), types.MergePatchType, p, metav1.PatchOptions{})
	if err != nil {
		return err
	}
	return decode(made, obj)
}

// snapshot is obj as JSON, the "before" of a patch. (These types always
// marshal; were one not to, patch, which marshals obj again, would say.)
func snapshot(obj object) []byte {
	b, _ := json.Marshal(obj)
	return b
}

// apply is create-or-patch: it reads obj (named by its name and
// namespace), lets mutate set what dbaasd owns in it, and creates it if
// it did not exist, else patches what changed (see patch): what mutate
// does not set keeps the value the server holds (the operator's
// defaults among them).
func (k *kube) apply(ctx context.Context, res kind, obj object, mutate func() error) error {
	ns, name := obj.GetNamespace(), obj.GetName()
	err := k.get(ctx, res, ns, name, obj)
	switch {
	case apierrors.IsNotFound(err):
		// obj is as the caller made it (named).
		if err := mutate(); err != nil {
			return err
		}
		if obj.GetName() != name || obj.GetNamespace() != ns {
			return fmt.Errorf("%s %s/%s: the name or namespace changed", res.kind, ns, name)
		}
		return k.create(ctx, res, obj)
	case err != nil:
		return err
	}
	before := snapshot(obj)
	if err := mutate(); err != nil {
		return err
	}
	if obj.GetName() != name || obj.GetNamespace() != ns {
		return fmt.Errorf("%s %s/%s: the name or namespace changed", res.kind, ns, name)
	}
	return k.patch(ctx, res, before, obj)
}

// remove deletes the object ns/name.
func (k *kube) remove(ctx context.Context, res kind, ns, name string, opts metav1.DeleteOptions) error {
	return k.resource(res, ns).Delete(ctx, name, opts)
}

// podLog is what a pod's containers wrote.
func (k *kube) podLog(ctx context.Context, ns, name string) ([]byte, error) {
	return k.rest.Get().AbsPath("/api/v1/namespaces", ns, "pods", name, "log").DoRaw(ctx)
}

// podLogTail is the last lines a pod's container wrote since a time (the
// kubelet's resolution is a second).
func (k *kube) podLogTail(ctx context.Context, ns, name, container string, since time.Time, lines int) ([]byte, error) {
	return k.rest.Get().AbsPath("/api/v1/namespaces", ns, "pods", name, "log").
		Param("container", container).
		Param("sinceTime", since.UTC().Truncate(time.Second).Format(time.RFC3339)).
		Param("tailLines", strconv.Itoa(lines)).
		DoRaw(ctx)
}
