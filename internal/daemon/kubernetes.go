package daemon

import (
	"fmt"
	"log/slog"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg"
	"github.com/dbaasd/dbaasd/internal/objectstore"
)

// Runtimes: where dbaasd runs the datastores' servers.
const (
	RuntimeLocal      = "local"
	RuntimeKubernetes = "kubernetes"
)

// KubernetesConfig configures the Kubernetes runtime.
type KubernetesConfig struct {
	// Kubeconfig is a kubeconfig file; "" = in-cluster configuration.
	Kubeconfig string
	// PostgresImage is the PostgreSQL image, {version} standing for the
	// major version.
	PostgresImage   string
	ImagePullPolicy string
	StorageClass    string
	// RequestFraction is the share of a flavor pods request (1 = all).
	RequestFraction float64
	// AdminCIDRs are where dbaasd connects to servers from; TrustedCIDRs
	// are in-cluster addresses a firewall always admits (poolers).
	AdminCIDRs   []string
	TrustedCIDRs []string
	// ObjectStore, when set, receives WAL and base backups (default:
	// Config.BackupStore).
	ObjectStore *cnpg.ObjectStore
}

// objectStore is the CloudNativePG form of the backups' object storage.
func objectStore(c *objectstore.Config) *cnpg.ObjectStore {
	if c == nil {
		return nil
	}
	return &cnpg.ObjectStore{Endpoint: c.Endpoint, Bucket: c.Bucket, Prefix: c.Prefix, Region: c.Region,
		AccessKey: c.AccessKey, SecretKey: c.SecretKey}
}

// KubernetesDrivers returns the drivers of the Kubernetes runtime:
// PostgreSQL through CloudNativePG. MySQL, Redis and Kafka are not offered
// on this runtime yet (docs/kubernetes-engines.md).
func KubernetesDrivers(cfg KubernetesConfig, log *slog.Logger) (map[string]engine.Driver, error) {
	pg, err := cnpg.New(cnpg.Options{
		Kubeconfig: cfg.Kubeconfig, Image: cfg.PostgresImage, ImagePullPolicy: cfg.ImagePullPolicy,
		StorageClass: cfg.StorageClass, RequestFraction: cfg.RequestFraction,
		AdminCIDRs: cfg.AdminCIDRs, TrustedCIDRs: cfg.TrustedCIDRs, ObjectStore: cfg.ObjectStore, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	return map[string]engine.Driver{engine.PostgreSQL: pg}, nil
}

// portFree is the reconciler's port check: on Kubernetes the engine host's
// ports are Services of the cluster, allocated only through the store.
func (d *Daemon) portFree() func(host string, port int) bool {
	if d.cfg.Runtime != RuntimeKubernetes {
		return nil
	}
	return func(string, int) bool { return true }
}
