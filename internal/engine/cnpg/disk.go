package cnpg

import (
	"context"

	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// ValidateDiskGrowth implements engine.DiskValidator (kube.CheckDiskGrowth).
func (d *Driver) ValidateDiskGrowth(ctx context.Context, datastoreID string) error {
	return d.kc.CheckDiskGrowth(ctx, kube.Namespace(datastoreID), map[string]string{labelCluster: clusterName}, d.opts.StorageClass)
}
