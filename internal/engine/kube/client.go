// Package kube is what the Kubernetes engine drivers share: a client of the
// Kubernetes API that reads and writes typed objects (an operator's custom
// resources and Kubernetes' own) through the dynamic client, and the
// objects every datastore has whatever its engine: its namespace, its
// secrets, the Services that put its nodes on the addresses dbaasd
// allocated, and what a pod's status says.
package kube

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
	"k8s.io/client-go/tools/clientcmd"
)

// Kind is a resource of the Kubernetes API and the kind of its objects.
type Kind struct {
	GVR  schema.GroupVersionResource
	Kind string
}

// The core resources the drivers use; a driver names its operator's own.
var (
	Namespaces     = Kind{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "Namespace"}
	Secrets        = Kind{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, "Secret"}
	Services       = Kind{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "Service"}
	Pods           = Kind{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod"}
	Nodes          = Kind{schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "Node"}
	Deployments    = Kind{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment"}
	StatefulSets   = Kind{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "StatefulSet"}
	PVCs           = Kind{schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, "PersistentVolumeClaim"}
	StorageClasses = Kind{schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}, "StorageClass"}
)

// Object is a typed Kubernetes object: a struct with metav1.ObjectMeta
// (crd's, corev1's, appsv1's), read and written as JSON.
type Object interface {
	GetName() string
	GetNamespace() string
}

// Client is a driver's client of the Kubernetes API: client-go's dynamic
// client, with objects converted to and from typed structs through JSON
// (what the operators' and Kubernetes' Go types write is their JSON).
type Client struct {
	dyn  dynamic.Interface
	rest rest.Interface // for what is not an object (a pod's log)
}

// New connects to the API server cfg names; what the server warns of
// goes to log.
func New(cfg *rest.Config, log *slog.Logger) (*Client, error) {
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
	return &Client{dyn: dynamic.New(rc), rest: rc}, nil
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

func (k *Client) resource(res Kind, ns string) dynamic.ResourceInterface {
	if ns == "" {
		return k.dyn.Resource(res.GVR)
	}
	return k.dyn.Resource(res.GVR).Namespace(ns)
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
func encode(res Kind, obj Object) (*unstructured.Unstructured, error) {
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
func withKind(res Kind, data []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return data
	}
	av, _ := json.Marshal(res.GVR.GroupVersion().String())
	k, _ := json.Marshal(res.Kind)
	m["apiVersion"], m["kind"] = av, k
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

// Get reads the object ns/name into out.
func (k *Client) Get(ctx context.Context, res Kind, ns, name string, out any) error {
	u, err := k.resource(res, ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	return decode(u, out)
}

// List reads the objects of a namespace ("" = all) with the labels sel
// (nil = all).
func List[T any](ctx context.Context, k *Client, res Kind, ns string, sel map[string]string) ([]T, error) {
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
			return nil, fmt.Errorf("%s %s/%s: %w", res.Kind, l.Items[i].GetNamespace(), l.Items[i].GetName(), err)
		}
	}
	return out, nil
}

// Create makes obj; obj then holds what the server made.
func (k *Client) Create(ctx context.Context, res Kind, obj Object) error {
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

// Patch changes the object from what before holds to what obj holds
// with a JSON merge patch of the difference (nothing when there is none),
// without a resourceVersion: the fields obj's type does not have are
// left as they are, as are those it has but did not change. obj then
// holds what the server made.
func (k *Client) Patch(ctx context.Context, res Kind, before []byte, obj Object) error {
	after, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	p, err := jsonpatch.CreateMergePatch(before, after)
	if err != nil {
		return fmt.Errorf("patch of %s %s: %w", res.Kind, obj.GetName(), err)
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

// Snapshot is obj as JSON, the "before" of a Patch. (These types always
// marshal; were one not to, Patch, which marshals obj again, would say.)
func Snapshot(obj Object) []byte {
	b, _ := json.Marshal(obj)
	return b
}

// Apply is create-or-patch: it reads obj (named by its name and
// namespace), lets mutate set what dbaasd owns in it, and creates it if
// it did not exist, else patches what changed (see Patch): what mutate
// does not set keeps the value the server holds (the operator's
// defaults among them).
func (k *Client) Apply(ctx context.Context, res Kind, obj Object, mutate func() error) error {
	ns, name := obj.GetNamespace(), obj.GetName()
	err := k.Get(ctx, res, ns, name, obj)
	switch {
	case apierrors.IsNotFound(err):
		// obj is as the caller made it (named).
		if err := mutate(); err != nil {
			return err
		}
		if obj.GetName() != name || obj.GetNamespace() != ns {
			return fmt.Errorf("%s %s/%s: the name or namespace changed", res.Kind, ns, name)
		}
		return k.Create(ctx, res, obj)
	case err != nil:
		return err
	}
	before := Snapshot(obj)
	if err := mutate(); err != nil {
		return err
	}
	if obj.GetName() != name || obj.GetNamespace() != ns {
		return fmt.Errorf("%s %s/%s: the name or namespace changed", res.Kind, ns, name)
	}
	return k.Patch(ctx, res, before, obj)
}

// Remove deletes the object ns/name.
func (k *Client) Remove(ctx context.Context, res Kind, ns, name string, opts metav1.DeleteOptions) error {
	return k.resource(res, ns).Delete(ctx, name, opts)
}

// PodLog is what a pod's containers wrote.
func (k *Client) PodLog(ctx context.Context, ns, name string) ([]byte, error) {
	return k.rest.Get().AbsPath("/api/v1/namespaces", ns, "pods", name, "log").DoRaw(ctx)
}

// PodLogTail is the last lines a pod's container wrote since a time (the
// kubelet's resolution is a second).
func (k *Client) PodLogTail(ctx context.Context, ns, name, container string, since time.Time, lines int) ([]byte, error) {
	return k.rest.Get().AbsPath("/api/v1/namespaces", ns, "pods", name, "log").
		Param("container", container).
		Param("sinceTime", since.UTC().Truncate(time.Second).Format(time.RFC3339)).
		Param("tailLines", strconv.Itoa(lines)).
		DoRaw(ctx)
}

// RESTConfig loads a kubeconfig file, or the in-cluster configuration
// when path is "".
func RESTConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes: in-cluster configuration (pass a kubeconfig outside a cluster): %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// Installed tells whether the cluster serves res (an operator's CRD is
// installed), by listing at most one of its objects.
func (k *Client) Installed(ctx context.Context, res Kind) error {
	_, err := k.resource(res, "").List(ctx, metav1.ListOptions{Limit: 1})
	return err
}
