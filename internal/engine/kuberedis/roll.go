package kuberedis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kube"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
)

// roll waits until every pod runs the StatefulSet's latest revision and
// the servers agree on one master, replacing outdated pods one at a time
// meanwhile (see next).
func (d *Driver) roll(ctx context.Context, c *engine.Cluster) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	var why string
	for {
		var err error
		why, err = d.next(ctx, c)
		if err == nil && why == "" {
			return nil
		}
		if err != nil {
			why = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis %s: not ready: %s: %w", kube.Namespace(c.ID), why, ctx.Err())
		case <-time.After(d.opts.Poll):
		}
	}
}

// next takes one step towards the latest revision and says what is still
// awaited ("" when nothing is). While a pod is not ready, it waits. Then
// an outdated pod that is not the master is deleted (the StatefulSet makes
// it again at the latest revision); the master's, last, only after
// Sentinel has handed its role to a replica. Pods at the latest revision
// are done when they are ready and every replica replicates from the one
// master.
func (d *Driver) next(ctx context.Context, c *engine.Cluster) (string, error) {
	st, err := d.read(ctx, c)
	if err != nil {
		return "", err
	}
	ss := st.set
	switch {
	case ss == nil:
		return "no StatefulSet yet", nil
	case ss.Status.ObservedGeneration != ss.Generation:
		return "the StatefulSet's controller has not seen its spec", nil
	}
	obs := d.observe(ctx, c, st)
	nodes := sortedNodes(c)
	master := -1
	var outdated []int
	for i := range nodes {
		p := st.pods[podName(i)]
		if p == nil || p.DeletionTimestamp != nil {
			return "waiting for pod " + podName(i), nil
		}
		if p.Labels[labelRevision] != ss.Status.UpdateRevision {
			outdated = append(outdated, i)
		}
		if obs.Nodes[i].Role == engine.RoleMaster {
			master = i
		}
	}
	if len(outdated) == 0 {
		if why := unsettled(obs); why != "" {
			return why, nil
		}
		if master < 0 {
			return "no master yet", nil
		}
		return "", nil
	}
	// One pod at a time: an outdated pod that is down goes at once, the
	// others only while every server answers.
	victim := -1
	for _, i := range outdated {
		if obs.Nodes[i].Status != engine.NodeActive {
			victim = i
			break
		}
	}
	if victim < 0 {
		// A replica still copying the master's dataset could not take
		// over: the next pod waits for it.
		if why := unsettled(obs); why != "" {
			return why, nil
		}
		for _, i := range outdated {
			if i != master {
				victim = i
				break
			}
		}
	}
	if victim < 0 { // only the master is outdated
		if len(nodes) > 1 {
			if err := d.switchover(ctx, c); err != nil {
				return "", err
			}
			return "waiting for Sentinel to hand the master's role to a replica", nil
		}
		victim = master
	}
	ns := kube.Namespace(c.ID)
	d.log.Info("replacing pod for the datastore's new configuration", "datastore", c.ID, "pod", podName(victim))
	if err := d.kc.Remove(ctx, kube.Pods, ns, podName(victim), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return "", kube.Error(err, "delete pod %s/%s", ns, podName(victim))
	}
	return "replacing pod " + podName(victim), nil
}

// unsettled says why the servers are not all answering, each replica
// with the master's data ("" when they are).
func unsettled(obs engine.Observation) string {
	if !kube.AllActive(obs) {
		return "waiting for the servers: " + kube.Describe(obs)
	}
	for i, s := range obs.Nodes {
		if s.Detail != "" {
			return podName(i) + ": " + s.Detail
		}
	}
	return ""
}

// switchover asks the sentinels to promote a replica (SENTINEL FAILOVER:
// the master stops taking writes until the chosen replica has them all).
// A failover already under way is waited for.
func (d *Driver) switchover(ctx context.Context, c *engine.Cluster) error {
	var last error
	for _, n := range sortedNodes(c) {
		a := sentinelAddr(n)
		if a == "" {
			continue
		}
		err := ask(ctx, c, a, func(ctx context.Context, cl *goredis.Client) error {
			return cl.Do(ctx, "SENTINEL", "FAILOVER", redis.MasterName).Err()
		})
		if err == nil || isInProgress(err) {
			return nil
		}
		last = err
	}
	if last == nil {
		return fmt.Errorf("no sentinel to ask for a switchover")
	}
	return fmt.Errorf("switchover: %w", last)
}

// isInProgress tells whether Sentinel refused a failover because one is
// under way.
func isInProgress(err error) bool { return strings.HasPrefix(err.Error(), "INPROG") }

// sentinelMaster is the index of the pod the sentinels of c's nodes name
// the master (-1 when none answers).
func sentinelMaster(ctx context.Context, c *engine.Cluster) int {
	for _, n := range sortedNodes(c) {
		a := sentinelAddr(n)
		if a == "" {
			continue
		}
		var host []string
		err := ask(ctx, c, a, func(ctx context.Context, cl *goredis.Client) error {
			var err error
			host, err = cl.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", redis.MasterName).StringSlice()
			return err
		})
		if err == nil && len(host) == 2 {
			return podIndex(host[0])
		}
	}
	return -1
}

// leaveDeparting moves the master's role off a pod that a smaller
// StatefulSet is about to remove: the sentinels of the pods that stay
// promote one of theirs first.
func (d *Driver) leaveDeparting(ctx context.Context, c *engine.Cluster) error {
	for try := 0; try < 3; try++ {
		m := sentinelMaster(ctx, c)
		if m < len(c.Nodes) {
			return nil
		}
		d.log.Info("moving the master off a pod that goes", "datastore", c.ID, "pod", podName(m))
		if err := d.switchover(ctx, c); err != nil {
			return err
		}
		deadline := time.Now().Add(time.Duration(failoverTimeoutMs) * time.Millisecond)
		for time.Now().Before(deadline) && sentinelMaster(ctx, c) == m {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d.opts.Poll):
			}
		}
	}
	if m := sentinelMaster(ctx, c); m >= len(c.Nodes) {
		return fmt.Errorf("the master is still on %s, which is going away", podName(m))
	}
	return nil
}

// quiesce prepares a Stop: the master takes no writes for a minute
// (CLIENT PAUSE WRITE) while its replicas catch up (WAIT), so that
// whichever pod is the master on start has every write.
func (d *Driver) quiesce(ctx context.Context, c *engine.Cluster) {
	st, err := d.read(ctx, c)
	if err != nil {
		return
	}
	obs := d.observe(ctx, c, st)
	for i, n := range sortedNodes(c) {
		if obs.Nodes[i].Role != engine.RoleMaster {
			continue
		}
		_ = ask(ctx, c, serverAddr(n), func(ctx context.Context, cl *goredis.Client) error {
			if err := cl.Do(ctx, "CLIENT", "PAUSE", "60000", "WRITE").Err(); err != nil {
				return err
			}
			return cl.Do(ctx, "WAIT", strconv.Itoa(len(c.Nodes)-1), "2000").Err()
		})
	}
}

// growVolumes asks for the flavor's disk on every volume claim of the
// StatefulSet that has less (the claims of a StatefulSet are made once
// from its template; ValidateDiskGrowth refuses a bigger disk when the
// storage class cannot grow them).
func (d *Driver) growVolumes(ctx context.Context, c *engine.Cluster) error {
	want, err := resource.ParseQuantity(strconv.Itoa(c.Flavor.DiskGB) + "Gi")
	if err != nil {
		return fmt.Errorf("%w: disk %d GB: %w", engine.ErrInvalid, c.Flavor.DiskGB, err)
	}
	ns := kube.Namespace(c.ID)
	claims, err := kube.List[corev1.PersistentVolumeClaim](ctx, d.kc, kube.PVCs, ns, map[string]string{labelApp: setName})
	if err != nil {
		return kube.Error(err, "list volume claims in %s", ns)
	}
	for i := range claims {
		pvc := &claims[i]
		have := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		if have.Cmp(want) >= 0 {
			continue
		}
		before := kube.Snapshot(pvc)
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = want
		if err := d.kc.Patch(ctx, kube.PVCs, before, pvc); err != nil {
			return kube.Error(err, "grow volume claim %s/%s", ns, pvc.Name)
		}
	}
	return nil
}
