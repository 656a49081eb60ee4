package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"

	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/kuberedis"
	"github.com/dbaasd/dbaasd/internal/engine/mariadbop"
	"github.com/dbaasd/dbaasd/internal/engine/mysql"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
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
	PostgresImage string
	// MySQLImage is the MariaDB image of both MySQL engines, {version}
	// standing for the version of the MariaDB beside dbaasd (major.minor).
	MySQLImage string
	// RedisImage holds Redis, Sentinel and dbaasd (its redis-forwarder),
	// {version} standing for the version of the Redis beside dbaasd
	// (major.minor); "" = Redis is not offered.
	RedisImage      string
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
	// TemplateDir is where a PostgreSQL installed beside dbaasd keeps the
	// template its configuration checks read (default: the data dir's
	// templates); see KubernetesDrivers.
	TemplateDir string
}

// KubernetesDrivers returns the drivers of the Kubernetes runtime:
// PostgreSQL through CloudNativePG, both MySQL engines through
// mariadb-operator and, given its image, Redis with Sentinel in
// StatefulSets of dbaasd's own (kuberedis). Kafka is not offered on this
// runtime (docs/kubernetes-engines.md). When PostgreSQL is installed beside
// dbaasd, it checks the parameters users set before they are accepted, as
// on the local runtime; without it, the catalog's checks alone apply. The
// MySQL engines need the MariaDB beside dbaasd (their catalog and checks):
// without it, or without mariadb-operator in the cluster, they are not
// offered.
func KubernetesDrivers(ctx context.Context, cfg KubernetesConfig, log *slog.Logger) (map[string]engine.Driver, error) {
	// One check of an empty configuration proves the whole path (the
	// binaries, the template it prepares once, access for the engine's
	// OS user) at start, rather than at the first request.
	var check cnpg.SettingsChecker
	local := postgres.New(postgres.Options{TemplateDir: filepath.Join(cfg.TemplateDir, "postgresql"), Logger: log})
	if err := local.CheckSettings(ctx, "", nil, nil, nil); err != nil {
		log.Warn("configuration values are checked against the catalog only: no PostgreSQL beside dbaasd can check them", "error", err)
	} else {
		log.Info("configuration values are checked by the PostgreSQL beside dbaasd")
		check = local
	}
	pg, err := cnpg.New(cnpg.Options{
		Kubeconfig: cfg.Kubeconfig, Image: cfg.PostgresImage, ImagePullPolicy: cfg.ImagePullPolicy,
		StorageClass: cfg.StorageClass, RequestFraction: cfg.RequestFraction,
		AdminCIDRs: cfg.AdminCIDRs, TrustedCIDRs: cfg.TrustedCIDRs, ObjectStore: cfg.ObjectStore,
		SettingsCheck: check, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	drivers := map[string]engine.Driver{engine.PostgreSQL: pg}
	rc, err := kube.RESTConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	for name, mode := range map[string]string{engine.MySQLNative: mysql.ModeNative, engine.MySQL: mysql.ModeSync} {
		local := mysql.New(mysql.Options{Mode: mode, TemplateDir: filepath.Join(cfg.TemplateDir, "mysql"), Logger: log})
		drv, err := mariadbop.New(mariadbop.Options{
			Mode: mode, Config: rc, Image: cfg.MySQLImage, ImagePullPolicy: cfg.ImagePullPolicy,
			StorageClass: cfg.StorageClass, RequestFraction: cfg.RequestFraction, Local: local,
			ObjectStore: cfg.ObjectStore, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("kubernetes runtime: %w", err)
		}
		drivers[name] = drv
	}
	if cfg.RedisImage == "" {
		log.Info("redis is not offered on kubernetes: no image (--k8s-redis-image)")
		return drivers, nil
	}
	rd, err := kuberedis.New(kuberedis.Options{
		Config: rc, Image: cfg.RedisImage, ImagePullPolicy: cfg.ImagePullPolicy, StorageClass: cfg.StorageClass,
		RequestFraction: cfg.RequestFraction, AdminCIDRs: cfg.AdminCIDRs, TrustedCIDRs: cfg.TrustedCIDRs,
		Local: redis.New(redis.Options{Logger: log}), ObjectStore: cfg.ObjectStore, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("kubernetes runtime: %w", err)
	}
	drivers[engine.Redis] = rd
	return drivers, nil
}

// kubernetesMachine is the capacity flavors and limits follow on the
// Kubernetes runtime: what one node of the cluster can give an instance's
// pod (engine.CapacityReporter), read at start, instead of dbaasd's host.
// Disk limits still follow the free space of the data dir's file system:
// storage classes do not say how much they can give. Without an answer,
// the host's figures stay, as dbaasd logs.
func kubernetesMachine(ctx context.Context, m catalog.Machine, drivers map[string]engine.Driver, log *slog.Logger) catalog.Machine {
	for _, name := range slices.Sorted(maps.Keys(drivers)) {
		r, ok := drivers[name].(engine.CapacityReporter)
		if !ok {
			continue
		}
		c, err := r.Capacity(ctx)
		if err != nil {
			log.Warn("flavors and limits follow this host: the cluster's nodes could not be read", "error", err)
			return m
		}
		m.CPUs, m.VCPUsLimit, m.RAMMB = c.CPUs, c.CPUs, c.RAMMB
		log.Info("flavors and limits follow the cluster's nodes", "vcpus", c.CPUs, "ram_mb", c.RAMMB)
		return m
	}
	return m
}

// portFree is the reconciler's port check: on Kubernetes the engine host's
// ports are Services of the cluster, allocated only through the store.
func (d *Daemon) portFree() func(host string, port int) bool {
	if d.cfg.Runtime != RuntimeKubernetes {
		return nil
	}
	return func(string, int) bool { return true }
}
