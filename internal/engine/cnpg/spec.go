package cnpg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// Names of the objects in a datastore's namespace.
const (
	clusterName         = "pg"
	poolerName          = "pg-pooler"
	superuserSecret     = "pg-superuser"
	s3Secret            = "pg-object-store"
	poolerService       = "pooler"
	superuser           = "postgres"
	labelInstanceName   = "cnpg.io/instanceName"
	labelCluster        = "cnpg.io/cluster"
	labelPoolerName     = "cnpg.io/poolerName"
	labelNodeID         = "dbaasd.io/node"
	postgresPort        = 5432
	annotationHibernat  = "cnpg.io/hibernation"
	annotationPgBouncer = "dbaasd.io/pgbouncer"
)

// nodeService names the Service of the node with the given index.
func nodeService(index int) string { return "node-" + strconv.Itoa(index) }

// objectName turns a PostgreSQL identifier (which may hold characters a
// Kubernetes name may not) into a stable DNS-1123 name with a prefix.
func objectName(prefix, ident string) string {
	sum := sha256.Sum256([]byte(ident))
	var b strings.Builder
	for _, r := range strings.ToLower(ident) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() >= 30 {
			break
		}
	}
	s := prefix + "-"
	if b.Len() > 0 {
		s += b.String() + "-"
	}
	return s + hex.EncodeToString(sum[:])[:10]
}

// userSecret names the secret holding a user's password.
func userSecret(user string) string { return objectName("user", user) }

// databaseObject names the Database object of a database.
func databaseObject(db string) string { return objectName("db", db) }

// paramValue renders a configuration value as PostgreSQL reads it.
func paramValue(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "on"
		}
		return "off"
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// tuned are the parameters dbaasd sizes from the flavor when the user did
// not set them, the same as the local runtime's (and the catalog's default
// templates): shared_buffers and effective_cache_size in 8kB pages, the
// *_mem ones in kB.
func tuned(f engine.Flavor) map[string]string {
	ram := max(f.RAMMB, 256)
	maxConn := min(max(ram/10, 25), 5000)
	return map[string]string{
		"shared_buffers":       strconv.Itoa(ram * 32),
		"effective_cache_size": strconv.Itoa(ram * 96),
		"max_connections":      strconv.Itoa(maxConn),
		"work_mem":             strconv.Itoa(min(max(ram*768/(3*maxConn), 4096), 2097152)),
		"maintenance_work_mem": strconv.Itoa(min(max(ram*64, 65536), 2097152)),
	}
}

// parameters are the Cluster's PostgreSQL parameters: the tuned defaults
// overridden by the user's configuration.
func parameters(c *engine.Cluster) map[string]string {
	out := tuned(c.Flavor)
	for k, v := range c.Config {
		out[k] = paramValue(v)
	}
	// The operator reads a bare shared_buffers as MB (PostgreSQL: 8kB
	// blocks) when it checks it against the memory request: say kB.
	if v := out["shared_buffers"]; v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out["shared_buffers"] = strconv.FormatInt(n*8, 10) + "kB"
		}
	}
	return out
}

// hostCIDR normalises a firewall entry (an address or a prefix).
func hostCIDR(s string) (string, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", fmt.Errorf("%w: firewall entry %q is neither an address nor a prefix", engine.ErrInvalid, s)
	}
	return netip.PrefixFrom(a, a.BitLen()).String(), nil
}

// hbaRules are the pg_hba lines dbaasd adds before CNPG's default rule
// (host all all all scram-sha-256). CNPG's own rules (local peer,
// certificates of the replication and pooler users) come first. The
// pooler's lookup role logs in with its certificate only. The superuser
// may connect over the network from the admin addresses only; with a
// firewall, every other user only from its addresses and, from trusted
// in-cluster addresses (the pod network), only over TLS with a client
// certificate of the cluster's CA — which the datastore's pooler presents
// and no other pod has, another datastore's server (dblink, postgres_fdw)
// included. Everything else is rejected.
func hbaRules(firewall, adminCIDRs, trusted []string) ([]string, error) {
	out := []string{"hostssl all " + lookupRole + " all cert"}
	if len(adminCIDRs) > 0 {
		for _, a := range adminCIDRs {
			out = append(out, "host all "+superuser+" "+a+" scram-sha-256")
		}
		out = append(out, "host all "+superuser+" all reject")
	}
	if len(firewall) == 0 {
		return out, nil
	}
	seen := map[string]bool{}
	for i, f := range append(append([]string{}, firewall...), trusted...) {
		cidr, err := hostCIDR(f)
		if err != nil {
			return nil, err
		}
		if seen[cidr] {
			continue
		}
		seen[cidr] = true
		if i < len(firewall) {
			out = append(out, "host all all "+cidr+" scram-sha-256")
		} else {
			out = append(out, "hostssl all all "+cidr+" scram-sha-256 clientcert=verify-ca")
		}
	}
	return append(out, "host all all all reject"), nil
}

// poolerHBA are the PgBouncer pg_hba lines of a pooler: CNPG appends
// "host all all 0.0.0.0/0 md5", so a firewall ends in a reject.
func poolerHBA(firewall []string) ([]string, error) {
	if len(firewall) == 0 {
		return nil, nil
	}
	var out []string
	for _, f := range firewall {
		cidr, err := hostCIDR(f)
		if err != nil {
			return nil, err
		}
		out = append(out, "host all all "+cidr+" md5")
	}
	return append(out, "host all all 0.0.0.0/0 reject", "host all all ::/0 reject"), nil
}

// clusterResources are the resources of c's nodes: requests hold at least
// shared_buffers.
func (d *Driver) clusterResources(c *engine.Cluster) corev1.ResourceRequirements {
	return kube.Resources(c.Flavor, d.opts.RequestFraction, memoryMB(parameters(c)["shared_buffers"], 8))
}

// memoryMB reads a PostgreSQL memory setting (a number of blocks of
// blockKB, or a value with a unit) as whole MiB, rounded up; 0 when it
// cannot be read.
func memoryMB(v string, blockKB int64) int64 {
	v = strings.TrimSpace(v)
	i := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := v, ""
	if i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0
	}
	kb := map[string]float64{"": float64(blockKB), "B": 1.0 / 1024, "kB": 1, "MB": 1024, "GB": 1 << 20, "TB": 1 << 30}
	mul, ok := kb[unit]
	if !ok {
		return 0
	}
	return int64(math.Ceil(n * mul / 1024))
}

// applySpec sets what dbaasd owns in a Cluster's spec, leaving the rest
// (managed roles, the bootstrap of an existing cluster, CNPG's defaults)
// as it is.
func (d *Driver) applySpec(cl *crd.Cluster, c *engine.Cluster) error {
	s := &cl.Spec
	s.Instances = len(c.Nodes)
	s.ImageName = d.image(c.Version)
	if d.opts.ImagePullPolicy != "" {
		s.ImagePullPolicy = corev1.PullPolicy(d.opts.ImagePullPolicy)
	}
	s.PostgresUID, s.PostgresGID = 26, 26
	enable := true
	s.EnableSuperuserAccess = &enable
	s.SuperuserSecret = &crd.LocalObjectReference{Name: superuserSecret}
	s.StorageConfiguration.Size = strconv.Itoa(max(c.Flavor.DiskGB, 1)) + "Gi"
	if d.opts.StorageClass != "" {
		sc := d.opts.StorageClass
		s.StorageConfiguration.StorageClass = &sc
	}
	s.Resources = d.clusterResources(c)
	s.PostgresConfiguration.Parameters = parameters(c)
	hba, err := hbaRules(c.Firewall, d.opts.AdminCIDRs, d.opts.TrustedCIDRs)
	if err != nil {
		return err
	}
	s.PostgresConfiguration.PgHBA = hba
	s.PrimaryUpdateStrategy = crd.PrimaryUpdateStrategyUnsupervised
	// A server being stopped (a rolling update, a scale-down, a delete)
	// waits for its clients 15 s, not CNPG's 180 s, before a fast (clean)
	// shutdown: the local runtime does not wait for clients at all.
	smart := int32(15)
	s.SmartShutdownTimeout = &smart
	// Commits wait for one replica, as with the local runtime: the
	// replica the operator promotes holds every acknowledged commit.
	if len(c.Nodes) > 1 {
		s.PostgresConfiguration.Synchronous = &crd.SynchronousReplicaConfiguration{
			Method: crd.SynchronousMethodAny, Number: 1,
			DataDurability: crd.DataDurabilityPreferred,
		}
	} else {
		s.PostgresConfiguration.Synchronous = nil
	}
	if s.Bootstrap == nil {
		// dbaasd's datastores start with no application database or
		// user, as the local runtime's: CNPG's (which it would otherwise
		// create, and keep the password of) is the postgres database and
		// the superuser, with the superuser's secret.
		s.Bootstrap = &crd.BootstrapConfiguration{InitDB: &crd.BootstrapInitDB{
			Database: "postgres", Owner: superuser, Secret: &crd.LocalObjectReference{Name: superuserSecret},
		}}
	}
	if d.opts.ObjectStore != nil {
		s.Backup = &crd.BackupConfiguration{BarmanObjectStore: d.objectStore(c.ID), RetentionPolicy: retentionPolicy(c)}
	}
	return nil
}

// image is the PostgreSQL image of a major version.
func (d *Driver) image(version string) string {
	if version == "" {
		version = "15"
	}
	return strings.ReplaceAll(d.opts.Image, "{version}", version)
}

// sortedInstanceNames orders CNPG instance names (<cluster>-<serial>) by
// serial: the node with the lowest index gets the oldest instance.
func sortedInstanceNames(names []string) []string {
	out := append([]string{}, names...)
	serial := func(n string) int {
		i := strings.LastIndexByte(n, '-')
		v, _ := strconv.Atoi(n[i+1:])
		return v
	}
	sort.SliceStable(out, func(i, j int) bool { return serial(out[i]) < serial(out[j]) })
	return out
}
