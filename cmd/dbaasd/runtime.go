package main

import (
	"flag"
	"fmt"
	"net/netip"

	"github.com/dbaasd/dbaasd/internal/daemon"
)

// runtimeFlags registers the flags that choose and configure the runtime
// (where datastores run) and the object storage of backups; the function
// it returns checks them once parsed and fills cfg.
func runtimeFlags(fs *flag.FlagSet, cfg *daemon.Config) func() error {
	var (
		adminCIDRs, trustedCIDRs     listFlag
		backupStore                  string
		accessKeyFile, secretKeyFile string
		k8s                          = &cfg.Kubernetes
	)
	fs.StringVar(&cfg.Runtime, "runtime", daemon.RuntimeLocal, "where datastores run: local (this machine) or kubernetes")
	fs.StringVar(&k8s.Kubeconfig, "k8s-kubeconfig", "", "kubeconfig of the Kubernetes runtime (default: in-cluster configuration)")
	fs.StringVar(&k8s.PostgresImage, "k8s-postgres-image", "ghcr.io/cloudnative-pg/postgresql:{version}", "PostgreSQL image of the Kubernetes runtime ({version} = major version)")
	fs.StringVar(&k8s.MySQLImage, "k8s-mysql-image", "docker-registry1.mariadb.com/library/mariadb:{version}", "MariaDB image of the Kubernetes runtime's MySQL engines ({version} = the version of the MariaDB beside dbaasd, e.g. 10.11)")
	fs.StringVar(&k8s.RedisImage, "k8s-redis-image", "", "image of the Kubernetes runtime's Redis, with Redis, Sentinel and dbaasd (its redis-forwarder) ({version} = the version of the Redis beside dbaasd, e.g. 7.0); Redis is not offered on Kubernetes without it")
	fs.StringVar(&k8s.ImagePullPolicy, "k8s-image-pull-policy", "", "pull policy of the engine images (Always, IfNotPresent, Never; default Kubernetes')")
	fs.StringVar(&k8s.StorageClass, "k8s-storage-class", "", "storage class of the datastores' volumes (default: the cluster's default class)")
	fs.Float64Var(&k8s.RequestFraction, "k8s-request-fraction", 1, "share of a flavor's CPU and memory that pods request (limits are the flavor)")
	fs.Var(&adminCIDRs, "k8s-admin-cidr", "address range dbaasd connects to the servers from, as they see it; the superuser is refused elsewhere (repeatable)")
	fs.Var(&trustedCIDRs, "k8s-trusted-cidr", "in-cluster address range a firewall admits with a client certificate of the datastore's CA, i.e. the pod network its pooler runs in (repeatable)")
	fs.StringVar(&backupStore, "backup-store", "", "S3-compatible object storage for backups, s3://BUCKET[/PREFIX]?endpoint=URL[&region=R] (default: the data dir)")
	fs.StringVar(&accessKeyFile, "backup-store-access-key-file", "", "file holding the object storage's access key id")
	fs.StringVar(&secretKeyFile, "backup-store-secret-key-file", "", "file holding the object storage's secret access key")
	return func() error {
		k8s.AdminCIDRs, k8s.TrustedCIDRs = adminCIDRs, trustedCIDRs
		switch cfg.Runtime {
		case daemon.RuntimeLocal, daemon.RuntimeKubernetes:
		default:
			return fmt.Errorf("--runtime %q: want local or kubernetes", cfg.Runtime)
		}
		for _, c := range append(append([]string{}, adminCIDRs...), trustedCIDRs...) {
			if _, err := netip.ParsePrefix(c); err != nil {
				return fmt.Errorf("--k8s-admin-cidr/--k8s-trusted-cidr %q: want an address range such as 10.0.0.0/8", c)
			}
		}
		if k8s.RequestFraction <= 0 || k8s.RequestFraction > 1 {
			return fmt.Errorf("--k8s-request-fraction %v: want a share above 0 and at most 1", k8s.RequestFraction)
		}
		if backupStore == "" {
			return nil
		}
		store, err := daemon.ParseBackupStore(backupStore, accessKeyFile, secretKeyFile)
		if err != nil {
			return err
		}
		cfg.BackupStore = store
		return nil
	}
}
