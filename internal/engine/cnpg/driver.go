package cnpg

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/conncache"
)

// Options configure the driver.
type Options struct {
	// Kubeconfig is the path of a kubeconfig file; "" = the in-cluster
	// configuration of a pod's service account.
	Kubeconfig string
	// Config, when set, is used instead of Kubeconfig (tests).
	Config *rest.Config
	// Image is the PostgreSQL image, with {version} standing for the major
	// version (default ghcr.io/cloudnative-pg/postgresql:{version}).
	Image string
	// ImagePullPolicy of the PostgreSQL pods ("" = Kubernetes' default).
	ImagePullPolicy string
	// StorageClass of the volumes ("" = the cluster's default class).
	StorageClass string
	// RequestFraction is the share of the flavor's CPU and memory that
	// pods request (limits are the flavor); 1 = guaranteed (default).
	RequestFraction float64
	// AdminCIDRs are the addresses dbaasd connects to the servers from, as
	// the servers see them; the superuser is refused from anywhere else.
	// Empty = from anywhere (with its password).
	AdminCIDRs []string
	// TrustedCIDRs are in-cluster addresses a firewall always admits (the
	// pooler's pods connect to the servers from the pod network).
	TrustedCIDRs []string
	// SystemNamespace holds dbaasd's own short-lived pods (the catalog
	// reader); default dbaasd-system.
	SystemNamespace string
	// ObjectStore, when set, receives WAL and base backups.
	ObjectStore *ObjectStore
	// ReadyTimeout bounds how long Ensure waits for the operator to bring
	// a cluster to the desired state (default 15m).
	ReadyTimeout time.Duration
	// Poll is how often Ensure looks at the cluster while it waits
	// (default 2s).
	Poll time.Duration
	// SettingsCheck, when set, asks a PostgreSQL installed beside dbaasd
	// whether a server would start with a cluster's parameters before
	// they are accepted (see ValidateConfig); nil = the catalog's checks
	// alone.
	SettingsCheck SettingsChecker
	Logger        *slog.Logger
}

// SettingsChecker asks PostgreSQL whether a server of a major version
// would start with a whole configuration (postgres.Driver.CheckSettings).
type SettingsChecker interface {
	CheckSettings(ctx context.Context, version string, settings map[string]string, changed []string, config map[string]any) error
}

// Driver runs PostgreSQL datastores as CloudNativePG clusters.
type Driver struct {
	opts Options
	kc   *kube
	log  *slog.Logger
	// samples keeps a connection open to each node's server between
	// Samples (see Sample).
	samples *conncache.Cache[*pgx.Conn]

	mu      sync.Mutex
	catalog *catalogResult
}

var (
	_ engine.Driver           = (*Driver)(nil)
	_ engine.UserManager      = (*Driver)(nil)
	_ engine.DatabaseManager  = (*Driver)(nil)
	_ engine.ExtensionManager = (*Driver)(nil)
	_ engine.SlotManager      = (*Driver)(nil)
	_ engine.SelfFailover     = (*Driver)(nil)
)

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

// New connects to the cluster the options name; it does not check that
// the operator runs (Info does).
func New(opts Options) (*Driver, error) {
	if opts.Image == "" {
		opts.Image = "ghcr.io/cloudnative-pg/postgresql:{version}"
	}
	if opts.SystemNamespace == "" {
		opts.SystemNamespace = "dbaasd-system"
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 15 * time.Minute
	}
	if opts.Poll == 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.RequestFraction == 0 {
		opts.RequestFraction = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg := opts.Config
	if cfg == nil {
		var err error
		if cfg, err = RESTConfig(opts.Kubeconfig); err != nil {
			return nil, err
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "dbaasd"
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	log := opts.Logger.With("runtime", "kubernetes")
	kc, err := newKube(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Driver{opts: opts, kc: kc, log: log, samples: newSampleConns()}, nil
}

// FailoverGrace implements engine.SelfFailover: the operator promotes a
// replica on its own (after its failoverDelay, 0 by default, plus the
// time its probes take to notice); the reconciler leaves it that long
// before it asks for a repair.
func (d *Driver) FailoverGrace(*engine.Cluster) time.Duration { return 60 * time.Second }

func labels(c *engine.Cluster) map[string]string {
	return map[string]string{labelDatastore: c.ID, labelManagedBy: managedBy}
}

// Ensure implements engine.Driver: it makes the datastore's namespace,
// secrets, CNPG Cluster, node Services and Pooler match c, and returns
// once the operator reports the cluster ready at this generation with
// every instance's pod Ready.
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: a cluster needs at least one node", engine.ErrInvalid)
	}
	ns := Namespace(c.ID)
	if err := d.ensureNamespace(ctx, c); err != nil {
		return err
	}
	if err := d.ensureSecret(ctx, ns, superuserSecret, c, map[string][]byte{
		corev1.BasicAuthUsernameKey: []byte(superuser), corev1.BasicAuthPasswordKey: []byte(c.AdminPassword),
	}, corev1.SecretTypeBasicAuth); err != nil {
		return err
	}
	if d.opts.ObjectStore != nil {
		if err := d.ensureObjectStoreSecret(ctx, c); err != nil {
			return err
		}
	}
	cl := &crd.Cluster{ObjectMeta: metav1.ObjectMeta{Name: clusterName, Namespace: ns}}
	err := d.kc.apply(ctx, clusterRes, cl, func() error {
		if cl.Labels == nil {
			cl.Labels = map[string]string{}
		}
		for k, v := range labels(c) {
			cl.Labels[k] = v
		}
		delete(cl.Annotations, annotationHibernat)
		return d.applySpec(cl, c)
	})
	if err != nil {
		return kubeError(err, "apply cluster %s/%s", ns, clusterName)
	}
	cl, err = d.waitReady(ctx, c)
	if err != nil {
		return err
	}
	if err := d.ensureNodeServices(ctx, c, cl); err != nil {
		return err
	}
	if err := d.waitApplied(ctx, c); err != nil {
		return err
	}
	return d.ensurePooler(ctx, c)
}

// waitReady waits until the operator reports the cluster healthy with the
// desired instances, each pod Ready and running the desired image and
// resources. (CNPG's Cluster has no observed generation: that the
// operator acted on the latest spec is seen in what it made.)
func (d *Driver) waitReady(ctx context.Context, c *engine.Cluster) (*crd.Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	ns := Namespace(c.ID)
	want := d.clusterResources(c)
	image := d.image(c.Version)
	var last string
	for {
		cl := &crd.Cluster{}
		err := d.kc.get(ctx, clusterRes, ns, clusterName, cl)
		if err == nil {
			ok, why := clusterReady(cl, len(c.Nodes))
			if ok {
				pods, err := list[corev1.Pod](ctx, d.kc, podRes, ns, map[string]string{labelCluster: clusterName})
				if err != nil {
					return nil, kubeError(err, "list pods in %s", ns)
				}
				why = podsCurrent(pods, cl.Status.InstanceNames, image, want)
				if why == "" {
					if obs := observation(c, cl, pods); allActive(obs) {
						return cl, nil
					} else {
						why = "waiting for pods: " + describe(obs)
					}
				}
			}
			last = why
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster %s/%s not ready: %s: %w", ns, clusterName, last, ctx.Err())
		case <-time.After(d.opts.Poll):
		}
	}
}

// clusterReady tells whether the operator reports the cluster healthy
// with the given number of instances, and if not, why.
func clusterReady(cl *crd.Cluster, instances int) (bool, string) {
	cond := meta.FindStatusCondition(cl.Status.Conditions, crd.ConditionClusterReady)
	switch {
	case cl.Spec.Instances != instances:
		return false, fmt.Sprintf("the spec asks for %d instances", cl.Spec.Instances)
	case cond == nil || cl.Status.Phase != crd.PhaseHealthy:
		return false, "phase " + cl.Status.Phase
	case cond.Status != metav1.ConditionTrue:
		return false, fmt.Sprintf("phase %q: %s", cl.Status.Phase, cond.Message)
	case cl.Status.ReadyInstances != instances || len(cl.Status.InstanceNames) != instances:
		return false, fmt.Sprintf("%d of %d instances ready", cl.Status.ReadyInstances, instances)
	case cl.Status.CurrentPrimary == "" || cl.Status.CurrentPrimary != cl.Status.TargetPrimary:
		return false, "primary being elected"
	}
	return true, ""
}

// podsCurrent says why the instance pods are not exactly the instances
// named, each running image with the resources wanted ("" when they are).
func podsCurrent(pods []corev1.Pod, names []string, image string, want corev1.ResourceRequirements) string {
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		if inst := pods[i].Labels[labelInstanceName]; isInstancePod(&pods[i]) {
			if _, dup := byName[inst]; dup || pods[i].DeletionTimestamp != nil {
				return "pod " + inst + " being replaced"
			}
			byName[inst] = &pods[i]
		}
	}
	if len(byName) != len(names) {
		return fmt.Sprintf("%d instance pods for %d instances", len(byName), len(names))
	}
	for _, n := range names {
		p := byName[n]
		if p == nil {
			return "no pod for instance " + n
		}
		for _, ctr := range p.Spec.Containers {
			if ctr.Name != "postgres" {
				continue
			}
			if ctr.Image != image {
				return "pod " + n + " runs " + ctr.Image
			}
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				w, have := want.Limits[r], ctr.Resources.Limits[r]
				if w.Cmp(have) != 0 {
					return fmt.Sprintf("pod %s has %s limit %s, want %s", n, r, have.String(), w.String())
				}
			}
		}
	}
	return ""
}

func allActive(o engine.Observation) bool {
	for _, n := range o.Nodes {
		if n.Status != engine.NodeActive {
			return false
		}
	}
	return len(o.Nodes) > 0
}

func describe(o engine.Observation) string {
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

func (d *Driver) ensureNamespace(ctx context.Context, c *engine.Cluster) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace(c.ID)}}
	err := d.kc.apply(ctx, nsRes, ns, func() error {
		if ns.DeletionTimestamp != nil {
			return fmt.Errorf("namespace %s is being deleted", ns.Name)
		}
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		for k, v := range labels(c) {
			ns.Labels[k] = v
		}
		return nil
	})
	return kubeError(err, "namespace %s", ns.Name)
}

func (d *Driver) ensureSecret(ctx context.Context, ns, name string, c *engine.Cluster, data map[string][]byte, typ corev1.SecretType) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	err := d.kc.apply(ctx, secretRes, sec, func() error {
		if sec.CreationTimestamp.IsZero() {
			sec.Type = typ
		}
		if sec.Labels == nil {
			sec.Labels = map[string]string{}
		}
		for k, v := range labels(c) {
			sec.Labels[k] = v
		}
		// CNPG reloads secrets it is told to watch.
		sec.Labels["cnpg.io/reload"] = "true"
		sec.Data = data
		return nil
	})
	return kubeError(err, "secret %s/%s", ns, name)
}

// ensureNodeServices gives every node a Service on its allocated address
// and port that reaches the node's instance, and removes the Services of
// nodes that are gone.
func (d *Driver) ensureNodeServices(ctx context.Context, c *engine.Cluster, cl *crd.Cluster) error {
	ns := Namespace(c.ID)
	want := map[string]bool{}
	for _, ni := range nodeInstances(c, cl) {
		n := ni.node
		name := nodeService(n.Index)
		want[name] = true
		sel := map[string]string{labelCluster: clusterName, labelInstanceName: ni.instance}
		if err := d.ensureService(ctx, c, ns, name, n.Host, n.FloatingIP, n.Port, sel); err != nil {
			return err
		}
	}
	return d.dropServices(ctx, ns, func(name string) bool { return strings.HasPrefix(name, "node-") && !want[name] })
}

func (d *Driver) ensureService(ctx context.Context, c *engine.Cluster, ns, name, host, floating string, port int, sel map[string]string) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	err := d.kc.apply(ctx, serviceRes, svc, func() error {
		if svc.Labels == nil {
			svc.Labels = map[string]string{}
		}
		for k, v := range labels(c) {
			svc.Labels[k] = v
		}
		svc.Spec.Type = corev1.ServiceTypeClusterIP
		svc.Spec.Selector = sel
		svc.Spec.ExternalIPs = []string{host}
		if floating != "" && floating != host {
			svc.Spec.ExternalIPs = append(svc.Spec.ExternalIPs, floating)
		}
		// The client's address reaches the server (the firewall checks it).
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		svc.Spec.PublishNotReadyAddresses = false
		svc.Spec.Ports = []corev1.ServicePort{{
			Name: "postgres", Protocol: corev1.ProtocolTCP, Port: int32(port), TargetPort: intstr.FromInt32(postgresPort),
		}}
		return nil
	})
	return kubeError(err, "service %s/%s", ns, name)
}

func (d *Driver) dropServices(ctx context.Context, ns string, drop func(string) bool) error {
	svcs, err := list[corev1.Service](ctx, d.kc, serviceRes, ns, map[string]string{labelManagedBy: managedBy})
	if err != nil {
		return kubeError(err, "list services in %s", ns)
	}
	for _, svc := range svcs {
		if drop(svc.Name) {
			if err := d.kc.remove(ctx, serviceRes, ns, svc.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return kubeError(err, "delete service %s/%s", ns, svc.Name)
			}
		}
	}
	return nil
}

// Stop implements engine.Driver: the cluster is hibernated (CNPG stops
// its pods and keeps its volumes).
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	cl := &crd.Cluster{}
	err := d.kc.get(ctx, clusterRes, Namespace(c.ID), clusterName, cl)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return kubeError(err, "get cluster")
	}
	before := snapshot(cl)
	if cl.Annotations == nil {
		cl.Annotations = map[string]string{}
	}
	cl.Annotations[annotationHibernat] = "on"
	return kubeError(d.kc.patch(ctx, clusterRes, before, cl), "hibernate cluster")
}

// Destroy implements engine.Driver: the datastore's namespace goes, with
// everything in it; it returns once the namespace is gone.
//
// The Cluster and Pooler go first, and the namespace only once their pods
// are gone: the namespace controller, finding pods still terminating,
// looks again only after their grace period (CNPG's stopDelay, 30 min).
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	d.samples.Forget(c.ID + "/")
	ns := Namespace(c.ID)
	// The databases go with the cluster's volumes: their finalizers (which
	// would drop each one first, racing the cluster's own deletion) go.
	dbs, err := list[crd.Database](ctx, d.kc, databaseRes, ns, nil)
	if err != nil && !apierrors.IsNotFound(err) {
		return kubeError(err, "list databases in %s", ns)
	}
	for i := range dbs {
		db := &dbs[i]
		if len(db.Finalizers) == 0 {
			continue
		}
		before := snapshot(db)
		db.Finalizers = nil
		if err := d.kc.patch(ctx, databaseRes, before, db); err != nil && !apierrors.IsNotFound(err) {
			return kubeError(err, "release database %s/%s", ns, db.Name)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	background := metav1.DeletePropagationBackground
	for _, obj := range []struct {
		res  kind
		name string
	}{{poolerRes, poolerName}, {clusterRes, clusterName}} {
		// A missing CRD is a NotFound too: nothing of it to delete.
		err := d.kc.remove(ctx, obj.res, ns, obj.name, metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			return kubeError(err, "delete %s/%s", ns, obj.name)
		}
	}
	for {
		pods, err := list[corev1.Pod](ctx, d.kc, podRes, ns, nil)
		if err != nil && !apierrors.IsNotFound(err) {
			return kubeError(err, "list pods in %s", ns)
		}
		if len(pods) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d pods still in namespace %s: %w", len(pods), ns, ctx.Err())
		case <-time.After(d.opts.Poll):
		}
	}
	err = d.kc.remove(ctx, nsRes, "", ns, metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !apierrors.IsNotFound(err) {
		return kubeError(err, "delete namespace %s", ns)
	}
	for {
		err := d.kc.get(ctx, nsRes, "", ns, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s still there: %w", ns, ctx.Err())
		case <-time.After(d.opts.Poll):
		}
	}
}

// kubeError wraps an error of the Kubernetes API with what was being done;
// a refusal of the object's content (422, 400) is the request's fault.
func kubeError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		return fmt.Errorf("kubernetes: %s: %w: %w", what, engine.ErrInvalid, err)
	}
	return fmt.Errorf("kubernetes: %s: %w", what, err)
}
