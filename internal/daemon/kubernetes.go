package daemon

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg"
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
	// ObjectStore, when set, receives WAL and base backups.
	ObjectStore *cnpg.ObjectStore
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

// ParseBackupStore reads the --backup-store s3:// URL and the files of its
// credentials (never taken from the URL).
func ParseBackupStore(raw, accessKeyFile, secretKeyFile string) (*cnpg.ObjectStore, error) {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		// Not repeated: it holds a secret.
		return nil, fmt.Errorf("--backup-store: want s3://BUCKET[/PREFIX]?endpoint=URL, with the credentials in files, not in the URL")
	}
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("--backup-store %q: want s3://BUCKET[/PREFIX]?endpoint=URL", raw)
	}
	q := u.Query()
	o := &cnpg.ObjectStore{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	if o.Endpoint != "" {
		if e, err := url.Parse(o.Endpoint); err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return nil, fmt.Errorf("--backup-store: endpoint %q: want an http(s) URL", o.Endpoint)
		}
	}
	read := func(flagName, path string) (string, error) {
		if path == "" {
			return "", fmt.Errorf("--backup-store needs --%s", flagName)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("--%s: %w", flagName, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("--%s: %s is empty", flagName, path)
		}
		return v, nil
	}
	if o.AccessKey, err = read("backup-store-access-key-file", accessKeyFile); err != nil {
		return nil, err
	}
	if o.SecretKey, err = read("backup-store-secret-key-file", secretKeyFile); err != nil {
		return nil, err
	}
	return o, nil
}
