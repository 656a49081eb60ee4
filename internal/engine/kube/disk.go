package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// AnnotationDefaultClass marks a cluster's default storage class.
const AnnotationDefaultClass = "storageclass.kubernetes.io/is-default-class"

// CheckDiskGrowth refuses a bigger disk for a datastore whose volumes
// cannot grow: an operator grows a volume by growing its claim, which
// the API server takes only for a class with allowVolumeExpansion. Asked
// anyway, the operator would leave the cluster waiting on claims that
// never grow, so the request is refused before dbaasd accepts it. The
// claims are those of ns with the labels sel; class is the storage class
// the driver gives new volumes ("" = the cluster's default).
func (k *Client) CheckDiskGrowth(ctx context.Context, ns string, sel map[string]string, class string) error {
	claims, err := List[corev1.PersistentVolumeClaim](ctx, k, PVCs, ns, sel)
	if err != nil {
		return Error(err, "list volume claims")
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
		if class != "" {
			names[0] = &class
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
		sc, err := k.storageClass(ctx, key)
		if err != nil {
			return err
		}
		switch {
		case sc == nil && key == "":
			return engine.Invalid("", "the disks cannot grow: the Kubernetes cluster has no default storage class")
		case sc == nil:
			return engine.Invalid("", fmt.Sprintf("the disks cannot grow: storage class %q of the datastore's volumes does not exist", key))
		case sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion:
			return engine.Invalid("", fmt.Sprintf("the disks cannot grow: storage class %q of the datastore's volumes does not allow volume expansion", sc.Name))
		}
	}
	return nil
}

// storageClass returns the storage class name ("" = the default class),
// or nil when there is none of that name (or no default).
func (k *Client) storageClass(ctx context.Context, name string) (*storagev1.StorageClass, error) {
	if name != "" {
		var class storagev1.StorageClass
		if err := k.Get(ctx, StorageClasses, "", name, &class); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, nil
			}
			return nil, Error(err, "read storage class %s", name)
		}
		return &class, nil
	}
	all, err := List[storagev1.StorageClass](ctx, k, StorageClasses, "", nil)
	if err != nil {
		return nil, Error(err, "list storage classes")
	}
	for i := range all {
		if all[i].Annotations[AnnotationDefaultClass] == "true" {
			return &all[i], nil
		}
	}
	return nil, nil
}
