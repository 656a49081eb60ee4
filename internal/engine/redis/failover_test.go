package redis

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// writeConfirmed writes keys k0…k(n-1) to master, each confirmed by a
// replica (WAIT 1), and fails the test when one is not.
func writeConfirmed(t *testing.T, c *engine.Cluster, master *engine.Node, n int) {
	t.Helper()
	ctx := context.Background()
	cl := dial(t, master, c.Password, "")
	for i := 0; i < n; i++ {
		if err := cl.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if acks, err := cl.Do(ctx, "WAIT", 1, 2000).Int(); err != nil || acks < 1 {
			t.Fatalf("write %d: WAIT = %d, %v", i, acks, err)
		}
	}
}

// missingKeys counts the keys k0…k(n-1) node n does not hold.
func missingKeys(t *testing.T, c *engine.Cluster, n *engine.Node, count int) int {
	t.Helper()
	cl := dial(t, n, c.Password, "")
	missing := 0
	for i := 0; i < count; i++ {
		if v, err := cl.Get(context.Background(), fmt.Sprintf("k%d", i)).Int(); err != nil || v != i {
			missing++
		}
	}
	return missing
}

// The fault of issue 13, at the driver: in a two-node cluster the
// sentinel of the replica's node dies (-9), then the master's server
// (-9), with writes a replica confirmed that the master never saved. The
// one sentinel left cannot fail over alone. Ensure (the repair) must not
// start the old master, with its empty data set, over the replica: the
// dead sentinel is restarted, the replica is promoted, the old master
// comes back as its replica and every confirmed write is there.
func TestEnsureNeverRestartsAnEmptyMasterOverItsReplica(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, nil)
	master, replica := &c.Nodes[0], &c.Nodes[1]
	const writes = 50
	writeConfirmed(t, c, master, writes)

	if err := syscall.Kill(pidOf(nodePaths(replica).sentinelPid, sentinelWords...), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(serverPid(master), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "master observed down", func() error {
		obs, err := d.Observe(context.Background(), c)
		if err != nil || obs.Nodes[0].Status == engine.NodeActive {
			return fmt.Errorf("observed %+v, %v", obs.Nodes, err)
		}
		return nil
	})

	ensure(t, d, c)
	var roles []string
	eventually(t, 30*time.Second, "the replica is the master and the old master its replica", func() error {
		obs, err := d.Observe(context.Background(), c)
		if err != nil {
			return err
		}
		roles = roles[:0]
		for _, ns := range obs.Nodes {
			roles = append(roles, ns.Role+"/"+ns.Status)
		}
		if obs.Nodes[1].Role != engine.RoleMaster || obs.Nodes[0].Role != engine.RoleReplica || obs.Nodes[0].Status != engine.NodeActive {
			return fmt.Errorf("roles %v", roles)
		}
		for _, ps := range obs.Processes {
			if !ps.Up {
				return fmt.Errorf("%s of %s down: %s", ps.Name, ps.NodeID, ps.Detail)
			}
		}
		return nil
	})
	if m := missingKeys(t, c, replica, writes); m > 0 {
		t.Errorf("the new master lost %d of %d confirmed writes", m, writes)
	}
	eventually(t, 10*time.Second, "the old master copies the new one", func() error {
		if m := missingKeys(t, c, master, writes); m > 0 {
			return fmt.Errorf("%d keys missing", m)
		}
		return nil
	})
}

// A dead sentinel is observed (the datastore's status turns DEGRADED from
// it) and Ensure starts it again.
func TestDeadSentinelIsObservedAndRestarted(t *testing.T) {
	t.Parallel()
	d, c := setup(t, 2, nil)
	n := &c.Nodes[1]
	pid := pidOf(nodePaths(n).sentinelPid, sentinelWords...)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "sentinel observed down", func() error {
		obs, err := d.Observe(context.Background(), c)
		if err != nil {
			return err
		}
		for _, ps := range obs.Processes {
			if ps.Name == "redis-sentinel" && ps.NodeID == n.ID && !ps.Up {
				return nil
			}
		}
		return fmt.Errorf("processes %+v", obs.Processes)
	})
	ensure(t, d, c)
	obs, err := d.Observe(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range obs.Processes {
		if !ps.Up {
			t.Errorf("%s of %s still down after Ensure: %s", ps.Name, ps.NodeID, ps.Detail)
		}
	}
	if p := pidOf(nodePaths(n).sentinelPid, sentinelWords...); p == 0 || p == pid {
		t.Errorf("sentinel not restarted (pid %d, was %d)", p, pid)
	}
}
