package cnpg

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// annotationDefaultClass marks a cluster's default storage class.
const annotationDefaultClass = "storageclass.kubernetes.io/is-default-class"

// ValidateDiskGrowth refuses a bigger disk for a datastore whose volumes
// cannot grow: the operator grows a volume by growing its claim, which
// the API server takes only for a class with allowVolumeExpansion. Asked
// anyway, the operator would leave the cluster waiting on claims that
// never grow, so the request is refused before dbaasd accepts it.
func (d *Driver) ValidateDiskGrowth(ctx context.Context, datastoreID string) error {
	claims, err := list[corev1.PersistentVolumeClaim](ctx, d.kc, pvcRes, Namespace(datastoreID), map[string]string{labelCluster: clusterName})
	if err != nil {
		return kubeError(err, "list volume claims")
	}
	// A claim names its class (the API server fills in the default class
	// when it is made); before the first one exists, volumes get the
	// driver's class or the default one.
	var names []*string
	for _, pvc := range claims {
		names = append(names, pvc.Spec.StorageClassName)
	}
	if len(claims) == 0 {
		names = append(names, nil)
		if d.opts.StorageClass != "" {
			names[0] = &d.opts.StorageClass
		}
	}
	seen := map[string]bool{}
	for _, name := range names {
		if name != nil && *name == "" {
			return engine.Invalid("", "the disks cannot grow: the datastore's volumes have no storage class, and only a class's volumes can be expanded")
		}
		key := ""
		if name != nil {
			key = *name
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		class, err := d.storageClass(ctx, key)
		if err != nil {
			return err
		}
		switch {
		case class == nil && key == "":
			return engine.Invalid("", "the disks cannot grow: the Kubernetes cluster has no default storage class")
		case class == nil:
			return engine.Invalid("", fmt.Sprintf("the disks cannot grow: storage class %q of the datastore's volumes does not exist", key))
		case class.AllowVolumeExpansion == nil || !*class.AllowVolumeExpansion:
			return engine.Invalid("", fmt.Sprintf("the disks cannot grow: storage class %q of the datastore's volumes does not allow volume expansion", class.Name))
		}
	}
	return nil
}

// storageClass returns the storage class name ("" = the default class),
// or nil when there is none of that name (or no default).
func (d *Driver) storageClass(ctx context.Context, name string) (*storagev1.StorageClass, error) {
	if name != "" {
		var class storagev1.StorageClass
		if err := d.kc.get(ctx, classRes, "", name, &class); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, kubeError(err, "read storage class %s", name)
		}
		return &class, nil
	}
	all, err := list[storagev1.StorageClass](ctx, d.kc, classRes, "", nil)
	if err != nil {
		return nil, kubeError(err, "list storage classes")
	}
	for i := range all {
		if all[i].Annotations[annotationDefaultClass] == "true" {
			return &all[i], nil
		}
	}
	return nil, nil
}
