package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Labels every object dbaasd makes for a datastore carries.
const (
	LabelDatastore = "dbaasd.io/datastore"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "dbaasd"
)

// namespacePrefix starts the name of every datastore's namespace.
const namespacePrefix = "dbaasd-"

// Namespace is the Kubernetes namespace of a datastore: each has its own,
// so that deleting it leaves nothing behind and names never collide.
func Namespace(datastoreID string) string { return namespacePrefix + strings.ToLower(datastoreID) }

// Labels are the labels of every object dbaasd makes for c.
func Labels(c *engine.Cluster) map[string]string {
	return map[string]string{LabelDatastore: c.ID, LabelManagedBy: ManagedBy}
}

// setLabels adds want to *have.
func setLabels(have *map[string]string, want map[string]string) {
	if *have == nil {
		*have = map[string]string{}
	}
	for k, v := range want {
		(*have)[k] = v
	}
}

// EnsureNamespace makes the namespace with labels; one being deleted is
// an error (the datastore is going).
func (k *Client) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	err := k.Apply(ctx, Namespaces, ns, func() error {
		if ns.DeletionTimestamp != nil {
			return fmt.Errorf("namespace %s is being deleted", ns.Name)
		}
		setLabels(&ns.Labels, labels)
		return nil
	})
	return Error(err, "namespace %s", name)
}

// EnsureSecret makes the secret ns/name hold exactly data, with labels
// (its type is set when it is made).
func (k *Client) EnsureSecret(ctx context.Context, ns, name string, labels map[string]string, data map[string][]byte, typ corev1.SecretType) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	err := k.Apply(ctx, Secrets, sec, func() error {
		if sec.CreationTimestamp.IsZero() {
			sec.Type = typ
		}
		setLabels(&sec.Labels, labels)
		sec.Data = data
		return nil
	})
	return Error(err, "secret %s/%s", ns, name)
}

// NodeService is a Service that puts one node (or the pooler) of a
// datastore on the address and port dbaasd allocated to it.
type NodeService struct {
	Name     string
	Host     string // the node's address
	Floating string // its floating address, "" for none
	Port     int    // the allocated port
	PortName string
	Target   int32             // the port of the pod
	Selector map[string]string // the pod(s)
	// More are further ports of the same pods, on the same addresses.
	More []Port
}

// Port is one more port of a NodeService.
type Port struct {
	Name   string
	Port   int   // the allocated port
	Target int32 // the port of the pod
}

// EnsureService makes the Service s in ns, labelled with labels. Clients
// reach it on the external addresses, and their own address reaches the
// pod (externalTrafficPolicy Local), where the firewall checks it.
func (k *Client) EnsureService(ctx context.Context, ns string, labels map[string]string, s NodeService) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: ns}}
	err := k.Apply(ctx, Services, svc, func() error {
		setLabels(&svc.Labels, labels)
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Spec.Selector = s.Selector
		svc.Spec.ExternalIPs = []string{s.Host}
		if s.Floating != "" && s.Floating != s.Host {
			svc.Spec.ExternalIPs = append(svc.Spec.ExternalIPs, s.Floating)
		}
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		svc.Spec.PublishNotReadyAddresses = false
		svc.Spec.Ports = []corev1.ServicePort{{
			Name: s.PortName, Protocol: corev1.ProtocolTCP, Port: int32(s.Port), TargetPort: intstr.FromInt32(s.Target),
		}}
		for _, p := range s.More {
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
				Name: p.Name, Protocol: corev1.ProtocolTCP, Port: int32(p.Port), TargetPort: intstr.FromInt32(p.Target),
			})
		}
		return nil
	})
	return Error(err, "service %s/%s", ns, s.Name)
}

// DropServices deletes the Services dbaasd made in ns whose names drop
// says to.
func (k *Client) DropServices(ctx context.Context, ns string, drop func(string) bool) error {
	svcs, err := List[corev1.Service](ctx, k, Services, ns, map[string]string{LabelManagedBy: ManagedBy})
	if err != nil {
		return Error(err, "list services in %s", ns)
	}
	for _, svc := range svcs {
		if drop(svc.Name) {
			if err := k.Remove(ctx, Services, ns, svc.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return Error(err, "delete service %s/%s", ns, svc.Name)
			}
		}
	}
	return nil
}

// Error wraps an error of the Kubernetes API with what was being done;
// a refusal of the object's content (422, 400) is the request's fault.
func Error(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		return fmt.Errorf("kubernetes: %s: %w: %w", what, engine.ErrInvalid, err)
	}
	return fmt.Errorf("kubernetes: %s: %w", what, err)
}

// PodDown says why the pod named name (nil: missing) does not serve, ""
// when it is Ready.
func PodDown(name string, p *corev1.Pod) string {
	switch {
	case p == nil:
		return "pod " + name + " does not exist"
	case p.DeletionTimestamp != nil:
		return "pod " + name + " is being deleted"
	case !PodReady(p):
		return "pod " + name + " not ready: " + PodProblem(p)
	}
	return ""
}

// AllActive tells whether every node of an observation is ACTIVE (and
// there is at least one).
func AllActive(o engine.Observation) bool {
	for _, n := range o.Nodes {
		if n.Status != engine.NodeActive {
			return false
		}
	}
	return len(o.Nodes) > 0
}

// Describe is an observation's nodes for people: role, status and why.
func Describe(o engine.Observation) string {
	var parts []string
	for _, n := range o.Nodes {
		s := n.Role + " " + n.Status
		if n.Detail != "" {
			s += " (" + n.Detail + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// PodReady tells whether the pod runs with its Ready condition true.
func PodReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// PodProblem says why a pod is not ready, as the kubelet tells it.
func PodProblem(p *corev1.Pod) string {
	parts := []string{"phase " + string(p.Status.Phase)}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			parts = append(parts, cs.Name+": "+cs.State.Waiting.Reason+" "+cs.State.Waiting.Message)
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			parts = append(parts, fmt.Sprintf("%s: exited %d %s", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason))
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			parts = append(parts, "unschedulable: "+c.Message)
		}
	}
	return strings.TrimSpace(strings.Join(parts, "; "))
}

// Resources are a node's CPU and memory: the flavor as limits, requests a
// fraction of them (1 = guaranteed), the memory request never below
// floorMB (an engine's memory it cannot start without).
func Resources(f engine.Flavor, fraction float64, floorMB int64) corev1.ResourceRequirements {
	if f.VCPUs <= 0 || f.RAMMB <= 0 {
		return corev1.ResourceRequirements{}
	}
	limits := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(f.VCPUs)*1000, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(int64(f.RAMMB)<<20, resource.BinarySI),
	}
	if fraction <= 0 || fraction > 1 {
		fraction = 1
	}
	memMB := min(max(int64(float64(f.RAMMB)*fraction), 64, floorMB), int64(f.RAMMB))
	requests := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(max(int64(float64(f.VCPUs)*1000*fraction), 10), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(memMB<<20, resource.BinarySI),
	}
	return corev1.ResourceRequirements{Limits: limits, Requests: requests}
}

// DeleteNamespace deletes a datastore's namespace with everything in it,
// once its pods are gone (the caller deleted what owns them first: the
// namespace controller, finding pods still terminating, looks again only
// after their grace period), and returns once the namespace is gone.
func (k *Client) DeleteNamespace(ctx context.Context, ns string, poll time.Duration) error {
	for {
		pods, err := List[corev1.Pod](ctx, k, Pods, ns, nil)
		if err != nil && !apierrors.IsNotFound(err) {
			return Error(err, "list pods in %s", ns)
		}
		if len(pods) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d pods still in namespace %s: %w", len(pods), ns, ctx.Err())
		case <-time.After(poll):
		}
	}
	background := metav1.DeletePropagationBackground
	err := k.Remove(ctx, Namespaces, "", ns, metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !apierrors.IsNotFound(err) {
		return Error(err, "delete namespace %s", ns)
	}
	for {
		err := k.Get(ctx, Namespaces, "", ns, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s still there: %w", ns, ctx.Err())
		case <-time.After(poll):
		}
	}
}
