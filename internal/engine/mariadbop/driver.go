// Package mariadbop runs MySQL-compatible datastores on Kubernetes through
// mariadb-operator: a datastore is a MariaDB object (semi-synchronous
// replication with the operator's automatic failover for mysql_native, a
// Galera cluster for mysql) in the datastore's own namespace, its nodes
// are the operator's pods, put on the addresses dbaasd allocated by one
// Service each.
//
// The SQL that makes the API's users, databases, grants and firewall
// exist is the local runtime's (mysql.Objects), run on the primary
// through its node's Service; the firewall is the accounts' host part, so
// MariaDB itself refuses a client from elsewhere. The catalog, the
// configuration checks and the settings come from the MariaDB installed
// beside dbaasd (mysql.Driver), the version the image must run.
package mariadbop

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// Names of the objects in a datastore's namespace.
const (
	mariadbName = "mariadb"
	rootSecret  = "mariadb-root"
	rootKey     = "password"
	rootUser    = "root"
	mariadbPort = 3306
	// labelPodName and labelRevision are the StatefulSet controller's
	// labels of each pod: its name, and the revision it runs.
	labelPodName  = "statefulset.kubernetes.io/pod-name"
	labelRevision = "controller-revision-hash"
	// The operator's container of the server.
	mariadbContainer = "mariadb"
)

// Options configure the driver.
type Options struct {
	// Mode is mysql.ModeNative (mysql_native) or mysql.ModeSync (mysql).
	Mode string
	// Config is the Kubernetes API's configuration (kube.RESTConfig).
	Config *rest.Config
	// Image is the MariaDB image, {version} standing for the version the
	// local MariaDB reports (major.minor).
	Image           string
	ImagePullPolicy string
	StorageClass    string
	// RequestFraction is the share of the flavor's CPU and memory that
	// pods request (limits are the flavor); 1 = guaranteed (default).
	RequestFraction float64
	// Local is the MariaDB beside dbaasd: the engine's version, catalog and
	// configuration checks, and its tools take and load backups.
	Local *mysql.Driver
	// ObjectStore, when set, takes a restore's dump to the new datastore:
	// only then are there backups (see Backups).
	ObjectStore *objectstore.Config
	// ReadyTimeout bounds how long Ensure waits for the operator (default
	// 15m); Poll is how often it looks (default 2s).
	ReadyTimeout time.Duration
	Poll         time.Duration
	Logger       *slog.Logger
}

// Driver runs MySQL-compatible datastores as mariadb-operator MariaDBs.
type Driver struct {
	// Objects makes users, databases and grants on the primary.
	mysql.Objects

	opts Options
	kc   *kube.Client
	log  *slog.Logger
}

var (
	_ engine.Driver          = (*Driver)(nil)
	_ engine.UserManager     = (*Driver)(nil)
	_ engine.DatabaseManager = (*Driver)(nil)
	_ engine.SelfFailover    = (*Driver)(nil)
	_ engine.Validator       = (*Driver)(nil)
	_ engine.DiskValidator   = (*Driver)(nil)
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
	if opts.Mode != mysql.ModeNative && opts.Mode != mysql.ModeSync {
		return nil, fmt.Errorf("mariadb-operator driver: unknown mode %q", opts.Mode)
	}
	if opts.Local == nil {
		return nil, errors.New("mariadb-operator driver: no local MariaDB for the catalog")
	}
	if opts.Image == "" {
		opts.Image = "docker-registry1.mariadb.com/library/mariadb:{version}"
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
	d := &Driver{opts: opts, kc: kc, log: opts.Logger.With("engine", engineName(opts.Mode), "runtime", "kubernetes")}
	d.Objects = mysql.Objects{Write: d.onWriter}
	return d, nil
}

func engineName(mode string) string {
	if mode == mysql.ModeSync {
		return engine.MySQL
	}
	return engine.MySQLNative
}

// Info implements engine.Driver: the local MariaDB's version, once the
// operator's CRD answers.
func (d *Driver) Info(ctx context.Context) (engine.Info, error) {
	if err := d.kc.Installed(ctx, mariadbRes); err != nil {
		return engine.Info{}, fmt.Errorf("kubernetes: mariadb-operator is not installed in the cluster: %w", err)
	}
	info, err := d.opts.Local.Info(ctx)
	if err != nil {
		return engine.Info{}, fmt.Errorf("the MariaDB beside dbaasd (its catalog and checks): %w", err)
	}
	return info, nil
}

// Catalog implements engine.Driver with the local MariaDB's catalog.
func (d *Driver) Catalog(ctx context.Context) (engine.Catalog, error) {
	return d.opts.Local.Catalog(ctx)
}

// ValidateConfig implements engine.Validator with the local MariaDB.
func (d *Driver) ValidateConfig(ctx context.Context, c *engine.Cluster, changed []string) error {
	return d.opts.Local.ValidateConfig(ctx, c, changed)
}

// ValidateName implements engine.Validator.
func (d *Driver) ValidateName(kind, name string) error { return d.opts.Local.ValidateName(kind, name) }

// ValidateFirewall implements engine.Validator.
func (d *Driver) ValidateFirewall(entries []string) error {
	return d.opts.Local.ValidateFirewall(entries)
}

// FailoverGrace implements engine.SelfFailover: the operator promotes a
// replica of a semi-sync cluster on its own; the reconciler leaves it
// that long before it asks for a repair.
func (d *Driver) FailoverGrace(*engine.Cluster) time.Duration { return 60 * time.Second }

// podName is the name of the i-th server's pod.
func podName(i int) string { return mariadbName + "-" + strconv.Itoa(i) }

// nodeService names the Service of the node with the given index.
func nodeService(index int) string { return "node-" + strconv.Itoa(index) }

// sortedNodes are c's nodes by index: the i-th is served by pod i.
func sortedNodes(c *engine.Cluster) []engine.Node {
	nodes := append([]engine.Node{}, c.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Index < nodes[j].Index })
	return nodes
}

// Ensure implements engine.Driver: it makes the datastore's namespace, root
// secret, MariaDB and node Services match c, waits until the operator
// reports the MariaDB ready at this generation with every pod Ready, then
// gives the users exactly the firewall's host entries.
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: a cluster needs at least one node", engine.ErrInvalid)
	}
	ns := kube.Namespace(c.ID)
	if err := d.kc.EnsureNamespace(ctx, ns, kube.Labels(c)); err != nil {
		return err
	}
	if err := d.kc.EnsureSecret(ctx, ns, rootSecret, kube.Labels(c), map[string][]byte{rootKey: []byte(c.AdminPassword)}, corev1.SecretTypeOpaque); err != nil {
		return err
	}
	cnf, err := d.opts.Local.Settings(ctx, c)
	if err != nil {
		return err
	}
	info, err := d.opts.Local.Info(ctx)
	if err != nil {
		return err
	}
	m := &MariaDB{ObjectMeta: metav1.ObjectMeta{Name: mariadbName, Namespace: ns}}
	err = d.kc.Apply(ctx, mariadbRes, m, func() error {
		if m.Labels == nil {
			m.Labels = map[string]string{}
		}
		for k, v := range kube.Labels(c) {
			m.Labels[k] = v
		}
		return d.applySpec(m, c, info.Version, string(cnf))
	})
	if err != nil {
		return kube.Error(err, "apply mariadb %s/%s", ns, mariadbName)
	}
	if err := d.scaleBack(ctx, ns); err != nil {
		return err
	}
	if err := d.waitReady(ctx, c); err != nil {
		return err
	}
	if err := d.ensureNodeServices(ctx, c); err != nil {
		return err
	}
	if err := d.onWriter(ctx, c, func(db *sql.DB) error { return mysql.ReconcileFirewall(ctx, db, c) }); err != nil {
		return err
	}
	return d.loadSeed(ctx, c)
}

// applySpec sets what dbaasd owns of the MariaDB from c.
func (d *Driver) applySpec(m *MariaDB, c *engine.Cluster, version, cnf string) error {
	size, err := resource.ParseQuantity(strconv.Itoa(c.Flavor.DiskGB) + "Gi")
	if err != nil {
		return fmt.Errorf("%w: disk %d GB: %w", engine.ErrInvalid, c.Flavor.DiskGB, err)
	}
	m.Spec.Image = strings.ReplaceAll(d.opts.Image, "{version}", version)
	m.Spec.ImagePullPolicy = d.opts.ImagePullPolicy
	res := kube.Resources(c.Flavor, d.opts.RequestFraction, 0)
	m.Spec.Resources = &res
	m.Spec.RootPasswordSecretKeyRef = SecretKeyRef{Name: rootSecret, Key: rootKey}
	m.Spec.MyCnf = &cnf
	m.Spec.Storage.Size = &size
	grow := true
	m.Spec.Storage.ResizeInUseVolumes = &grow
	if m.CreationTimestamp.IsZero() {
		m.Spec.Storage.StorageClassName = d.opts.StorageClass
	}
	m.Spec.Replicas = int32(len(c.Nodes))
	// Replication and Galera are set from the start, whatever the number
	// of nodes, so that adding nodes later is a change of replicas alone.
	if d.opts.Mode == mysql.ModeSync {
		m.Spec.Galera = &Galera{Enabled: true}
	} else {
		m.Spec.Replication = &Replication{Enabled: true}
	}
	// TLS from the operator's own CA per datastore: replication between
	// the servers (and Galera's traffic and state transfers) is encrypted,
	// as the local runtime encrypts Galera's; clients may use it, and are
	// not made to.
	sst := d.opts.Mode == mysql.ModeSync
	m.Spec.TLS = &TLS{Enabled: true, GaleraSSTEnabled: &sst}
	m.Spec.Suspend = false
	return nil
}

// scaleBack undoes Stop: the operator, no longer suspended, restores the
// StatefulSet's replicas itself; a StatefulSet scaled to zero is given one
// pod so that the operator finds a server to configure.
func (d *Driver) scaleBack(ctx context.Context, ns string) error {
	ss := &statefulSet{}
	err := d.kc.Get(ctx, kube.StatefulSets, ns, mariadbName, ss)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return kube.Error(err, "get statefulset %s/%s", ns, mariadbName)
	}
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas > 0 {
		return nil
	}
	before := kube.Snapshot(ss)
	one := int32(1)
	ss.Spec.Replicas = &one
	return kube.Error(d.kc.Patch(ctx, kube.StatefulSets, before, ss), "scale statefulset %s/%s", ns, mariadbName)
}

// statefulSet is the part of a StatefulSet dbaasd reads and patches.
type statefulSet struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Replicas *int32 `json:"replicas,omitempty"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64  `json:"observedGeneration"`
		UpdateRevision     string `json:"updateRevision"`
	} `json:"status"`
}

// waitReady waits until the operator runs the current spec (see current)
// and reports the MariaDB ready with every node ACTIVE.
func (d *Driver) waitReady(ctx context.Context, c *engine.Cluster) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	ns := kube.Namespace(c.ID)
	var last string
	for {
		why, err := d.notReady(ctx, c)
		if err == nil && why == "" {
			return nil
		}
		last = why
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mariadb %s/%s not ready: %s: %w", ns, mariadbName, last, ctx.Err())
		case <-time.After(d.opts.Poll):
		}
	}
}

// notReady says why c's servers are not ready with its current spec ("" when
// they are).
func (d *Driver) notReady(ctx context.Context, c *engine.Cluster) (string, error) {
	ns := kube.Namespace(c.ID)
	m, pods, err := d.read(ctx, ns)
	if err != nil {
		return "", err
	}
	if m == nil {
		return "the MariaDB does not exist", nil
	}
	if ok, why := ready(m, len(c.Nodes)); !ok {
		return why, nil
	}
	ss := &statefulSet{}
	if err := d.kc.Get(ctx, kube.StatefulSets, ns, mariadbName, ss); apierrors.IsNotFound(err) {
		ss = nil
	} else if err != nil {
		return "", kube.Error(err, "get statefulset %s/%s", ns, mariadbName)
	}
	if why := current(m, ss, pods); why != "" {
		return why, nil
	}
	if obs := observation(c, m, pods); !kube.AllActive(obs) {
		return "waiting for pods: " + kube.Describe(obs), nil
	}
	return "", nil
}

// ensureNodeServices gives every node a Service on its allocated address
// and port that reaches its server's pod, and removes the Services of
// nodes that are gone.
func (d *Driver) ensureNodeServices(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	want := map[string]bool{}
	for i, n := range sortedNodes(c) {
		name := nodeService(n.Index)
		want[name] = true
		err := d.kc.EnsureService(ctx, ns, kube.Labels(c), kube.NodeService{
			Name: name, Host: n.Host, Floating: n.FloatingIP, Port: n.Port, PortName: "mysql", Target: mariadbPort,
			Selector: map[string]string{labelPodName: podName(i)},
		})
		if err != nil {
			return err
		}
	}
	return d.kc.DropServices(ctx, ns, func(name string) bool { return strings.HasPrefix(name, "node-") && !want[name] })
}

// onWriter runs fn on an admin connection to the server that takes
// writes: the primary the operator reports (any node of a Galera cluster
// is one; the operator's primary is the one it sends writes to).
func (d *Driver) onWriter(ctx context.Context, c *engine.Cluster, fn func(db *sql.DB) error) error {
	return d.onPrimary(ctx, c, func(_ engine.Node, db *sql.DB) error { return fn(db) })
}

// onPrimary is onWriter, telling fn the primary's node too.
func (d *Driver) onPrimary(ctx context.Context, c *engine.Cluster, fn func(n engine.Node, db *sql.DB) error) error {
	ns := kube.Namespace(c.ID)
	m := &MariaDB{}
	if err := d.kc.Get(ctx, mariadbRes, ns, mariadbName, m); err != nil {
		return kube.Error(err, "get mariadb %s/%s", ns, mariadbName)
	}
	idx := m.Status.CurrentPrimaryPodIndex
	nodes := sortedNodes(c)
	if idx == nil || *idx >= len(nodes) {
		return fmt.Errorf("mariadb %s/%s has no primary yet", ns, mariadbName)
	}
	n := nodes[*idx]
	db, err := open(n, c.AdminPassword)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	// A new Service's rules reach kube-proxy a moment after it is made.
	deadline := time.Now().Add(serviceDelay)
	for {
		err := db.PingContext(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("mariadb %s (pod %s): %w", n.ID, podName(*idx), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fn(n, db)
}

// serviceDelay bounds how long onWriter waits for a node's Service to
// answer.
const serviceDelay = 20 * time.Second

// open is an admin connection pool to a node, through its Service.
func open(n engine.Node, password string) (*sql.DB, error) {
	cfg := mysqldrv.NewConfig()
	cfg.User, cfg.Passwd = rootUser, password
	cfg.Net, cfg.Addr = "tcp", n.Host+":"+strconv.Itoa(n.Port)
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = 5*time.Second, 30*time.Second, 30*time.Second
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

// Stop implements engine.Driver: the operator is suspended and the
// StatefulSet scaled to zero (the volumes stay); Ensure undoes both.
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	m := &MariaDB{}
	err := d.kc.Get(ctx, mariadbRes, ns, mariadbName, m)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return kube.Error(err, "get mariadb")
	}
	before := kube.Snapshot(m)
	m.Spec.Suspend = true
	if err := d.kc.Patch(ctx, mariadbRes, before, m); err != nil {
		return kube.Error(err, "suspend mariadb")
	}
	ss := &statefulSet{}
	if err := d.kc.Get(ctx, kube.StatefulSets, ns, mariadbName, ss); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return kube.Error(err, "get statefulset")
	}
	before = kube.Snapshot(ss)
	zero := int32(0)
	ss.Spec.Replicas = &zero
	return kube.Error(d.kc.Patch(ctx, kube.StatefulSets, before, ss), "scale statefulset to zero")
}

// Destroy implements engine.Driver: the MariaDB goes, then, once its pods
// are gone, the namespace with everything in it; it returns once the
// namespace is gone.
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	background := metav1.DeletePropagationBackground
	err := d.kc.Remove(ctx, mariadbRes, ns, mariadbName, metav1.DeleteOptions{PropagationPolicy: &background})
	if err != nil && !apierrors.IsNotFound(err) {
		return kube.Error(err, "delete %s/%s", ns, mariadbName)
	}
	return d.kc.DeleteNamespace(ctx, ns, d.opts.Poll)
}

// ValidateDiskGrowth implements engine.DiskValidator (kube.CheckDiskGrowth).
func (d *Driver) ValidateDiskGrowth(ctx context.Context, datastoreID string) error {
	return d.kc.CheckDiskGrowth(ctx, kube.Namespace(datastoreID), map[string]string{labelInstance: mariadbName}, d.opts.StorageClass)
}
