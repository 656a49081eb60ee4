package cnpg

import (
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// CloudNativePG's resources the driver uses (Kubernetes' own are kube's).
var (
	clusterRes  = kube.Kind{GVR: crd.ClusterResource, Kind: "Cluster"}
	databaseRes = kube.Kind{GVR: crd.DatabaseResource, Kind: "Database"}
	poolerRes   = kube.Kind{GVR: crd.PoolerResource, Kind: "Pooler"}
	backupRes   = kube.Kind{GVR: crd.BackupResource, Kind: "Backup"}
)
