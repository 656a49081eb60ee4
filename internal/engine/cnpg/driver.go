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
	"k8s.io/client-go/rest"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/conncache"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
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
	kc   *kube.Client
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
		if cfg, err = kube.RESTConfig(opts.Kubeconfig); err != nil {
			return nil, err
		}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "dbaasd"
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	log := opts.Logger.With("runtime", "kubernetes")
	kc, err := kube.New(cfg, log)
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

// Ensure implements engine.Driver: it makes the datastore's namespace,
// secrets, CNPG Cluster, node Services and Pooler match c, and returns
// once the operator reports the cluster ready at this generation with
// every instance's pod Ready.
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: a cluster needs at least one node", engine.ErrInvalid)
	}
	ns := kube.Namespace(c.ID)
	if err := d.kc.EnsureNamespace(ctx, kube.Namespace(c.ID), kube.Labels(c)); err != nil {
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
	err := d.kc.Apply(ctx, clusterRes, cl, func() error {
		if cl.Labels == nil {
			cl.Labels = map[string]string{}
		}
		for k, v := range kube.Labels(c) {
			cl.Labels[k] = v
		}
		delete(cl.Annotations, annotationHibernat)
		return d.applySpec(cl, c)
	})
	if err != nil {
		return kube.Error(err, "apply cluster %s/%s", ns, clusterName)
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
	ns := kube.Namespace(c.ID)
	want := d.clusterResources(c)
	image := d.image(c.Version)
	var last string
	for {
		cl := &crd.Cluster{}
		err := d.kc.Get(ctx, clusterRes, ns, clusterName, cl)
		if err == nil {
			ok, why := clusterReady(cl, len(c.Nodes))
			if ok {
				pods, err := kube.List[corev1.Pod](ctx, d.kc, kube.Pods, ns, map[string]string{labelCluster: clusterName})
				if err != nil {
					return nil, kube.Error(err, "list pods in %s", ns)
				}
				why = podsCurrent(pods, cl.Status.InstanceNames, image, want)
				if why == "" {
					if obs := observation(c, cl, pods); kube.AllActive(obs) {
						return cl, nil
					} else {
						why = "waiting for pods: " + kube.Describe(obs)
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

// ensureSecret makes a secret of the datastore's that CloudNativePG
// reloads when it changes.
func (d *Driver) ensureSecret(ctx context.Context, ns, name string, c *engine.Cluster, data map[string][]byte, typ corev1.SecretType) error {
	l := kube.Labels(c)
	l["cnpg.io/reload"] = "true"
	return d.kc.EnsureSecret(ctx, ns, name, l, data, typ)
}

// ensureNodeServices gives every node a Service on its allocated address
// and port that reaches the node's instance, and removes the Services of
// nodes that are gone.
func (d *Driver) ensureNodeServices(ctx context.Context, c *engine.Cluster, cl *crd.Cluster) error {
	ns := kube.Namespace(c.ID)
	want := map[string]bool{}
	for _, ni := range nodeInstances(c, cl) {
		n := ni.node
		name := nodeService(n.Index)
		want[name] = true
		sel := map[string]string{labelCluster: clusterName, labelInstanceName: ni.instance}
		if err := d.kc.EnsureService(ctx, ns, kube.Labels(c), kube.NodeService{
			Name: name, Host: n.Host, Floating: n.FloatingIP, Port: n.Port, PortName: "postgres", Target: postgresPort, Selector: sel,
		}); err != nil {
			return err
		}
	}
	return d.kc.DropServices(ctx, ns, func(name string) bool { return strings.HasPrefix(name, "node-") && !want[name] })
}

// Stop implements engine.Driver: the cluster is hibernated (CNPG stops
// its pods and keeps its volumes).
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	cl := &crd.Cluster{}
	err := d.kc.Get(ctx, clusterRes, kube.Namespace(c.ID), clusterName, cl)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return kube.Error(err, "get cluster")
	}
	before := kube.Snapshot(cl)
	if cl.Annotations == nil {
		cl.Annotations = map[string]string{}
	}
	cl.Annotations[annotationHibernat] = "on"
	return kube.Error(d.kc.Patch(ctx, clusterRes, before, cl), "hibernate cluster")
}

// Destroy implements engine.Driver: the datastore's namespace goes, with
// everything in it; it returns once the namespace is gone.
//
// The Cluster and Pooler go first, and the namespace only once their pods
// are gone: the namespace controller, finding pods still terminating,
// looks again only after their grace period (CNPG's stopDelay, 30 min).
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	d.samples.Forget(c.ID + "/")
	ns := kube.Namespace(c.ID)
	// The databases go with the cluster's volumes: their finalizers (which
	// would drop each one first, racing the cluster's own deletion) go.
	dbs, err := kube.List[crd.Database](ctx, d.kc, databaseRes, ns, nil)
	if err != nil && !apierrors.IsNotFound(err) {
		return kube.Error(err, "list databases in %s", ns)
	}
	for i := range dbs {
		db := &dbs[i]
		if len(db.Finalizers) == 0 {
			continue
		}
		before := kube.Snapshot(db)
		db.Finalizers = nil
		if err := d.kc.Patch(ctx, databaseRes, before, db); err != nil && !apierrors.IsNotFound(err) {
			return kube.Error(err, "release database %s/%s", ns, db.Name)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	background := metav1.DeletePropagationBackground
	for _, obj := range []struct {
		res  kube.Kind
		name string
	}{{poolerRes, poolerName}, {clusterRes, clusterName}} {
		// A missing CRD is a NotFound too: nothing of it to delete.
		err := d.kc.Remove(ctx, obj.res, ns, obj.name, metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			return kube.Error(err, "delete %s/%s", ns, obj.name)
		}
	}
	return d.kc.DeleteNamespace(ctx, ns, d.opts.Poll)
}
