package cnpg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/cnpg/crd"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
)

// ensurePooler makes the datastore's PgBouncer (a CNPG Pooler in front of
// the read-write service) and its Service on the pooler's address match
// c.Pooler, or removes both when the datastore has no pooler.
func (d *Driver) ensurePooler(ctx context.Context, c *engine.Cluster) error {
	ns := kube.Namespace(c.ID)
	if c.Pooler == nil {
		if err := d.kc.Remove(ctx, poolerRes, ns, poolerName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return kube.Error(err, "delete pooler")
		}
		return d.kc.DropServices(ctx, ns, func(name string) bool { return name == poolerService })
	}
	hba, err := poolerHBA(c.Firewall)
	if err != nil {
		return err
	}
	// The lookup role first: PgBouncer starts with its secret.
	if err := d.ensureLookupRole(ctx, c); err != nil {
		return err
	}
	size := max(c.Pooler.Size, 1)
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\n%d\n%s\n%s", c.Pooler.Mode, size, strings.Join(hba, "\n"), lookupQuery))
	digest := hex.EncodeToString(sum[:8])
	p := &crd.Pooler{ObjectMeta: metav1.ObjectMeta{Name: poolerName, Namespace: ns}}
	err = d.kc.Apply(ctx, poolerRes, p, func() error {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		for k, v := range kube.Labels(c) {
			p.Labels[k] = v
		}
		one := int32(1)
		p.Spec.Cluster = crd.LocalObjectReference{Name: clusterName}
		p.Spec.Type = crd.PoolerTypeRW
		p.Spec.Instances = &one
		if p.Spec.PgBouncer == nil {
			p.Spec.PgBouncer = &crd.PgBouncerSpec{}
		}
		p.Spec.PgBouncer.PoolMode = c.Pooler.Mode
		p.Spec.PgBouncer.Parameters = map[string]string{"default_pool_size": strconv.Itoa(size)}
		p.Spec.PgBouncer.PgHBA = hba
		p.Spec.PgBouncer.AuthQuery = lookupQuery
		p.Spec.PgBouncer.AuthQuerySecret = &crd.LocalObjectReference{Name: lookupSecret}
		// PgBouncer runs from the PostgreSQL image, which carries it.
		// A digest of its settings (mode, size, firewall, lookup) in the pods'
		// annotations: a change rolls the pooler's pod, so once the
		// rollout is done (waitPooler) no PgBouncer runs with the old
		// settings. Left to the operator, a running PgBouncer reloads
		// them some time later, and a login under way when it does can
		// fail ("bouncer config error").
		p.Spec.Template = &crd.PodTemplateSpec{
			ObjectMeta: crd.Metadata{Annotations: map[string]string{annotationPgBouncer: digest}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "pgbouncer", Image: d.image(c.Version), ImagePullPolicy: corev1.PullPolicy(d.opts.ImagePullPolicy),
			}}}}
		return nil
	})
	if err != nil {
		return kube.Error(err, "apply pooler")
	}
	if err := d.kc.EnsureService(ctx, ns, kube.Labels(c), kube.NodeService{
		Name: poolerService, Host: c.Pooler.Host, Port: c.Pooler.Port, PortName: "postgres", Target: postgresPort,
		Selector: map[string]string{labelPoolerName: poolerName},
	}); err != nil {
		return err
	}
	// The lookup function in every database, made while the pooler's pod
	// starts (which takes far longer).
	if err := d.ensureLookups(ctx, c); err != nil {
		return err
	}
	return d.waitPooler(ctx, ns, digest)
}

// waitPooler waits until the pooler runs the settings of digest and
// nothing else (see poolerPending).
func (d *Driver) waitPooler(ctx context.Context, ns, digest string) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	for {
		var dep appsv1.Deployment
		err := d.kc.Get(ctx, kube.Deployments, ns, poolerName, &dep)
		var why string
		if err == nil {
			var pods []corev1.Pod
			pods, err = kube.List[corev1.Pod](ctx, d.kc, kube.Pods, ns, map[string]string{labelPoolerName: poolerName})
			why = poolerPending(&dep, pods, digest)
		}
		if err != nil {
			why = err.Error()
		}
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pooler %s/%s not ready: %s: %w", ns, poolerName, why, ctx.Err())
		case <-time.After(d.opts.Poll):
		}
	}
}

// poolerPending says why the pooler does not run exactly the settings of
// digest yet ("" when it does): the operator has carried them into the
// deployment (it does so some time after the Pooler changed; a deployment
// still ready with the old template is not done), the rollout has ended,
// and its one pod is the only one: a pod of the old settings is gone, not
// just terminating. A terminating PgBouncer can still be reached for a
// moment, and refuses logins while it shuts down; the datastore is not
// ACTIVE before that is over.
func poolerPending(dep *appsv1.Deployment, pods []corev1.Pod, digest string) string {
	switch {
	case dep.Spec.Template.Annotations[annotationPgBouncer] != digest:
		return "the operator has not carried the settings into the deployment yet"
	case dep.Status.ObservedGeneration < dep.Generation:
		return "deployment not observed yet"
	case dep.Status.UpdatedReplicas < 1 || dep.Status.ReadyReplicas < 1 || dep.Status.Replicas != dep.Status.UpdatedReplicas:
		return fmt.Sprintf("%d of 1 pooler pods ready", dep.Status.ReadyReplicas)
	}
	if len(pods) != 1 {
		return fmt.Sprintf("%d pooler pods, want 1 (an old one is still terminating)", len(pods))
	}
	p := &pods[0]
	switch {
	case p.DeletionTimestamp != nil:
		return "pooler pod " + p.Name + " is terminating"
	case p.Annotations[annotationPgBouncer] != digest:
		return "pooler pod " + p.Name + " runs older settings"
	case !kube.PodReady(p):
		return "pooler pod " + p.Name + " is not ready"
	}
	return ""
}
