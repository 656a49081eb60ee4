// Package kuberedis runs Redis datastores on Kubernetes as the local
// runtime runs them: a master and its replicas watched by one Sentinel per
// node, each behind dbaasd's firewall forwarder. No Redis operator can be
// built where dbaasd is developed (docs/kubernetes-engines.md), so dbaasd
// writes the objects itself: in the datastore's namespace, a StatefulSet
// of node_count pods (server, sentinel and forwarder containers), its
// headless Service, a Secret with the pods' configuration and a Service per
// node on the address and ports dbaasd allocated.
//
// What runs in the pods is the local runtime's (redis.Pod): the same users
// and rules, memory and parameters, and the same forwarder. The pods elect
// their master through Sentinel; dbaasd reports the roles the servers
// state (INFO replication) and rolls a new configuration out itself,
// replicas first and the master after a Sentinel switchover (see roll).
package kuberedis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// Options configure the driver.
type Options struct {
	// Config is the Kubernetes API's configuration (kube.RESTConfig).
	Config *rest.Config
	// Image holds Redis, Sentinel and dbaasd (its redis-forwarder);
	// {version} stands for the version of the Redis beside dbaasd
	// (major.minor).
	Image           string
	ImagePullPolicy string
	StorageClass    string
	// RequestFraction is the share of the flavor's CPU and memory the
	// server's container requests (limits are the flavor); 1 = guaranteed.
	RequestFraction float64
	// AdminCIDRs are where dbaasd connects to the servers from, and
	// TrustedCIDRs the pod network (replicas and sentinels reach each
	// other from it): a firewall always admits both.
	AdminCIDRs   []string
	TrustedCIDRs []string
	// Local is the Redis beside dbaasd: the engine's version, catalog and
	// configuration checks.
	Local *redis.Driver
	// ObjectStore, when set, takes a restore's snapshot to the new
	// datastore's first pod: only then are there backups (see Backups).
	ObjectStore *objectstore.Config
	// ReadyTimeout bounds how long Ensure waits for the pods (default
	// 15m); Poll is how often it looks (default 2s).
	ReadyTimeout time.Duration
	Poll         time.Duration
	Logger       *slog.Logger
}

// Driver runs Redis datastores as StatefulSets.
type Driver struct {
	opts Options
	kc   *kube.Client
	log  *slog.Logger
}

var (
	_ engine.Driver         = (*Driver)(nil)
	_ engine.PasswordSetter = (*Driver)(nil)
	_ engine.PortNeeder     = (*Driver)(nil)
	_ engine.SelfFailover   = (*Driver)(nil)
	_ engine.Validator      = (*Driver)(nil)
	_ engine.DiskValidator  = (*Driver)(nil)
)

// New returns a driver of the cluster opts.Config names: a *Driver, or,
// with an object storage, a *Backups.
func New(opts Options) (engine.Driver, error) {
	d, err := newDriver(opts)
	if err != nil || opts.ObjectStore == nil {
		return d, err
	}
	return &Backups{d}, nil
}

// newDriver returns the driver without backups.
func newDriver(opts Options) (*Driver, error) {
	if opts.Local == nil {
		return nil, errors.New("redis on kubernetes: no local Redis for the catalog")
	}
	if opts.Image == "" {
		return nil, errors.New("redis on kubernetes: no image (it must hold Redis, Sentinel and dbaasd)")
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
	kc, err := kube.New(opts.Config, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return &Driver{opts: opts, kc: kc, log: opts.Logger.With("engine", engine.Redis, "runtime", "kubernetes")}, nil
}

// expand puts the engine's version into the image's name.
func expand(image, version string) string { return strings.ReplaceAll(image, "{version}", version) }

// Info implements engine.Driver: the local Redis's version, once the
// cluster answers.
func (d *Driver) Info(ctx context.Context) (engine.Info, error) {
	if err := d.kc.Installed(ctx, kube.StatefulSets); err != nil {
		return engine.Info{}, fmt.Errorf("kubernetes: %w", err)
	}
	info, err := d.opts.Local.Info(ctx)
	if err != nil {
		return engine.Info{}, fmt.Errorf("the Redis beside dbaasd (its catalog and checks): %w", err)
	}
	return info, nil
}

// Catalog implements engine.Driver with the local Redis's catalog.
func (d *Driver) Catalog(ctx context.Context) (engine.Catalog, error) {
	return d.opts.Local.Catalog(ctx)
}

// ValidateConfig implements engine.Validator with the local Redis.
func (d *Driver) ValidateConfig(ctx context.Context, c *engine.Cluster, changed []string) error {
	return d.opts.Local.ValidateConfig(ctx, c, changed)
}

// ValidateName implements engine.Validator.
func (d *Driver) ValidateName(kind, name string) error { return d.opts.Local.ValidateName(kind, name) }

// ValidateFirewall implements engine.Validator. A firewall is refused
// when dbaasd's own addresses are unknown (no AdminCIDRs): the pods'
// forwarders would refuse dbaasd too, and the datastore could never be
// seen ACTIVE again.
func (d *Driver) ValidateFirewall(entries []string) error {
	if len(entries) > 0 && len(d.opts.AdminCIDRs) == 0 {
		return fmt.Errorf("%w: firewall: Redis datastores on this deployment cannot have one: "+
			"dbaasd does not know the addresses it connects from (--k8s-admin-cidr), which the firewall must admit", engine.ErrInvalid)
	}
	return d.opts.Local.ValidateFirewall(entries)
}

// NodePorts implements engine.PortNeeder: each node's sentinel is on its
// node's address too, as on the local runtime.
func (d *Driver) NodePorts(*engine.Cluster) []string { return []string{sentinelPortName} }

// sentinelPortName is the sentinel's port in engine.Node.Ports (the local
// driver's name).
const sentinelPortName = "sentinel"

// FailoverGrace implements engine.SelfFailover: Sentinel promotes a
// replica on its own; the reconciler leaves it that long before it asks
// for a repair.
func (d *Driver) FailoverGrace(*engine.Cluster) time.Duration {
	return time.Duration(downAfterMs+failoverTimeoutMs) * time.Millisecond
}

// SetPassword implements engine.PasswordSetter: the password is in the
// pods' configuration, which Ensure rolls out; here it is only checked.
func (d *Driver) SetPassword(_ context.Context, _ *engine.Cluster, password string) error {
	return redis.CheckPassword(password)
}

// podName is the name of the i-th pod.
func podName(i int) string { return setName + "-" + strconv.Itoa(i) }

// podIndex is the index of the pod a hostname (or pod name) names, -1
// when it names none of the StatefulSet's.
func podIndex(host string) int {
	name, _, _ := strings.Cut(host, ".")
	s, ok := strings.CutPrefix(name, setName+"-")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 {
		return -1
	}
	return i
}

// nodeService names the Service of the node with the given index.
func nodeService(index int) string { return "node-" + strconv.Itoa(index) }

// sortedNodes are c's nodes by index: the i-th is served by pod i.
func sortedNodes(c *engine.Cluster) []engine.Node {
	nodes := append([]engine.Node{}, c.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Index < nodes[j].Index })
	return nodes
}

// Ensure implements engine.Driver: it writes the namespace, the pods'
// configuration, the StatefulSet and the Services, moves the master off a
// pod that is going away, replaces every pod that does not run the latest
// configuration (roll), and waits until every pod is ready with one master
// that every replica replicates from.
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: a Redis datastore needs at least one node", engine.ErrInvalid)
	}
	data, err := d.secretData(c)
	if err != nil {
		return err
	}
	info, err := d.opts.Local.Info(ctx)
	if err != nil {
		return err
	}
	ns := kube.Namespace(c.ID)
	if err := d.kc.EnsureNamespace(ctx, ns, kube.Labels(c)); err != nil {
		return err
	}
	if err := d.kc.EnsureSecret(ctx, ns, setName, kube.Labels(c), data, corev1.SecretTypeOpaque); err != nil {
		return err
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: setName, Namespace: ns}}
	if err := d.kc.Apply(ctx, kube.Services, svc, func() error { headless(c, svc); return nil }); err != nil {
		return kube.Error(err, "service %s/%s", ns, setName)
	}
	if err := d.ensureNodeServices(ctx, c); err != nil {
		return err
	}
	if err := d.leaveDeparting(ctx, c); err != nil {
		return err
	}
	ss := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: setName, Namespace: ns}}
	err = d.kc.Apply(ctx, kube.StatefulSets, ss, func() error {
		if ss.Labels == nil {
			ss.Labels = map[string]string{}
		}
		for k, v := range kube.Labels(c) {
			ss.Labels[k] = v
		}
		return d.applySet(ss, c, info.Version, dataHash(data))
	})
	if err != nil {
		return kube.Error(err, "apply statefulset %s/%s", ns, setName)
	}
	if err := d.growVolumes(ctx, c); err != nil {
		return err
	}
	if err := d.roll(ctx, c); err != nil {
		return err
	}
	return d.dropSeed(ctx, c)
}

// ensureNodeServices gives every node a Service on its allocated address
// that reaches its pod's server and sentinel (through the pod's
// forwarder), and removes the Services of nodes that are gone.
func (d *Driver) ensureNodeServices(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	want := map[string]bool{}
	for i, n := range sortedNodes(c) {
		name := nodeService(n.Index)
		want[name] = true
		s := kube.NodeService{
			Name: name, Host: n.Host, Floating: n.FloatingIP, Port: n.Port, PortName: "redis", Target: redis.PodServerPort,
			Selector: map[string]string{labelPodName: podName(i)},
		}
		if p := n.Ports[sentinelPortName]; p > 0 {
			s.More = []kube.Port{{Name: "sentinel", Port: p, Target: redis.PodSentinelPort}}
		}
		if err := d.kc.EnsureService(ctx, ns, kube.Labels(c), s); err != nil {
			return err
		}
	}
	return d.kc.DropServices(ctx, ns, func(name string) bool { return strings.HasPrefix(name, "node-") && !want[name] })
}

// Stop implements engine.Driver: writes to the master are paused until
// every replica has them, then the StatefulSet is scaled to zero (each
// server saves its dataset as it stops; the volumes stay). Ensure scales
// it back; the first pod is then the master, with every write.
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	ss := &appsv1.StatefulSet{}
	err := d.kc.Get(ctx, kube.StatefulSets, ns, setName, ss)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return kube.Error(err, "get statefulset %s/%s", ns, setName)
	}
	if ss.Spec.Replicas != nil && *ss.Spec.Replicas > 0 {
		d.quiesce(ctx, c)
	}
	before := kube.Snapshot(ss)
	zero := int32(0)
	ss.Spec.Replicas = &zero
	return kube.Error(d.kc.Patch(ctx, kube.StatefulSets, before, ss), "scale statefulset %s/%s to zero", ns, setName)
}

// Destroy implements engine.Driver: the StatefulSet goes, then, once its
// pods are gone, the namespace with everything in it (the volumes'
// claims included); it returns once the namespace is gone.
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	background := metav1.DeletePropagationBackground
	err := d.kc.Remove(ctx, kube.StatefulSets, ns, setName, metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !apierrors.IsNotFound(err) {
		return kube.Error(err, "delete %s/%s", ns, setName)
	}
	return d.kc.DeleteNamespace(ctx, ns, d.opts.Poll)
}

// ValidateDiskGrowth implements engine.DiskValidator (kube.CheckDiskGrowth).
func (d *Driver) ValidateDiskGrowth(ctx context.Context, datastoreID string) error {
	return d.kc.CheckDiskGrowth(ctx, kube.Namespace(datastoreID), map[string]string{labelApp: setName}, d.opts.StorageClass)
}
