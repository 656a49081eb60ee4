package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Ensure converges a cluster: the primary exists and runs as primary, every
// replica is a streaming copy of it with its own physical slot, nodes that
// are no longer desired are gone, every server carries the desired
// configuration and firewall (reloaded, or restarted replicas first when a
// restart-only parameter changed), the disk guard is in the right state,
// and the pooler runs as desired. Running servers are adopted, not
// restarted; when nothing changed Ensure only reads.
//
// The nodes converge at once: a replica whose data is already a standby of
// the primary starts beside it, and only a replica that needs the primary
// (a copy to take) waits for it. Every node of a new cluster is a copy of
// the template, the replicas' made standbys before any server ran (see
// createNodes), so a new cluster's servers all start together.
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	if err := validateCluster(c); err != nil {
		return err
	}
	e, err := d.claimCluster(ctx, c)
	if err != nil {
		return err
	}
	master := c.Master()
	mp := pathsOf(master)
	if err := d.createNodes(ctx, e, c); err != nil {
		return err
	}
	sysID, err := controlSysID(mp.data)
	if err != nil {
		return fmt.Errorf("node %s: %w", master.ID, err)
	}

	results := map[string]nodeResult{}
	var mu sync.Mutex
	record := func(id string, res nodeResult) {
		mu.Lock()
		results[id] = res
		mu.Unlock()
	}
	// primaryUp is closed once the primary runs as primary with a slot for
	// every replica (primaryErr says whether it does).
	primaryUp := make(chan struct{})
	var primaryErr error
	awaitPrimary := func() error {
		select {
		case <-primaryUp:
			return primaryErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(c.Nodes))
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(primaryUp)
		res, err := d.ensurePrimary(ctx, e, c, master)
		record(master.ID, res)
		if err == nil {
			err = d.ensureReplicaSlots(ctx, c, mp)
		}
		primaryErr = err
	}()
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Role == engine.RoleMaster {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := d.ensureReplica(ctx, e, c, n, mp, sysID, awaitPrimary)
			errs[i] = err
			record(n.ID, res)
		}()
	}
	wg.Wait()
	if primaryErr != nil {
		return primaryErr // the replicas that waited for it failed with it
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := d.awaitTemplateReplicas(ctx, e, c, mp, results); err != nil {
		return err
	}

	if err := d.removeStaleNodes(ctx, e, c, mp); err != nil {
		return err
	}
	if err := d.applyConfig(ctx, e, c, results); err != nil {
		return err
	}
	if err := d.guardDisk(ctx, c); err != nil {
		return err
	}
	return d.ensurePooler(ctx, e, c)
}

// validateCluster checks what Ensure relies on: one master, and distinct
// IDs, directories and ports.
func validateCluster(c *engine.Cluster) error {
	masters := 0
	ids, dirs, ports := map[string]bool{}, map[string]bool{}, map[int]bool{}
	for _, n := range c.Nodes {
		if n.Role == engine.RoleMaster {
			masters++
		} else if n.Role != engine.RoleReplica {
			return fmt.Errorf("%w: node %s has role %q", engine.ErrInvalid, n.ID, n.Role)
		}
		switch {
		case n.ID == "" || ids[n.ID]:
			return fmt.Errorf("%w: node IDs must be set and distinct (%q)", engine.ErrInvalid, n.ID)
		case n.Dir == "" || dirs[filepath.Clean(n.Dir)]:
			return fmt.Errorf("%w: node %s: directories must be set and distinct (%q)", engine.ErrInvalid, n.ID, n.Dir)
		case n.Port <= 0 || n.Port > 65535 || ports[n.Port]:
			return fmt.Errorf("%w: node %s: ports must be valid and distinct (%d)", engine.ErrInvalid, n.ID, n.Port)
		}
		if err := checkSocketPath(pathsOf(&n)); err != nil {
			return err
		}
		ids[n.ID], dirs[filepath.Clean(n.Dir)], ports[n.Port] = true, true, true
	}
	if masters != 1 {
		return fmt.Errorf("%w: cluster %s must have exactly one %s node, has %d", engine.ErrInvalid, c.ID, engine.RoleMaster, masters)
	}
	if c.Dir == "" {
		return fmt.Errorf("%w: cluster %s has no directory", engine.ErrInvalid, c.ID)
	}
	return nil
}

// claimCluster returns the cluster's env with its directories and archive
// directory made its OS account's: what Ensure and Restore do first.
func (d *Driver) claimCluster(ctx context.Context, c *engine.Cluster) (*env, error) {
	e, err := d.clusterEnv(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := claimClusterDirs(e, c); err != nil {
		return nil, err
	}
	if err := ensureArchiveDir(e, c); err != nil {
		return nil, err
	}
	return e, nil
}

// claimClusterDirs makes the cluster's directory and runtime directory
// private directories of its OS account, with the nodes' parent inside.
func claimClusterDirs(e *env, c *engine.Cluster) error {
	for _, dir := range []string{c.Dir, c.RunDir} {
		if dir == "" {
			continue
		}
		if err := e.r.ClaimDir(dir); err != nil {
			return fmt.Errorf("cluster %s: %w", c.ID, err)
		}
	}
	return e.r.MkdirAll(filepath.Join(c.Dir, "nodes"), 0o700)
}

// prepareNodeDir creates a node's directory and marker. Creating one
// first checks that the engines' OS user can reach it, to fail with a
// clear message rather than a permission error deep inside initdb or
// pg_basebackup.
func (d *Driver) prepareNodeDir(ctx context.Context, e *env, c *engine.Cluster, p nodePaths) error {
	if !exists(p.dir) {
		if err := e.r.CheckAccess(ctx, filepath.Join(c.Dir, "nodes")); err != nil {
			return err
		}
	}
	if err := e.r.MkdirAll(p.dir, 0o700); err != nil {
		return err
	}
	return d.writeMarker(e, c, p)
}

// nodeResult is what converging one node did, for applying its configuration.
type nodeResult struct {
	prevConf []byte // dbaasd.conf before this Ensure rewrote it (nil = unchanged)
	changed  bool   // dbaasd.conf or pg_hba.conf changed
	started  bool   // the server started after they were written
}

// ensurePrimary makes the desired master (whose data createNodes made)
// run and be primary.
func (d *Driver) ensurePrimary(ctx context.Context, e *env, c *engine.Cluster, m *engine.Node) (nodeResult, error) {
	var res nodeResult
	p := pathsOf(m)
	var err error
	if res.prevConf, res.changed, err = d.writeNodeFiles(e, c, m, nil); err != nil {
		return res, err
	}
	started, st, err := d.ensureRunning(ctx, e, c, p)
	if err != nil {
		return res, err
	}
	res.started = started
	if st.inRecovery {
		if err := d.promote(ctx, e, c, p); err != nil {
			return res, err
		}
	}
	return res, nil
}

// writeNodeFiles writes a node's configuration, pg_hba.conf and (on
// replicas) standby.signal. It returns the previous dbaasd.conf when that
// changed, and whether dbaasd.conf or pg_hba.conf changed.
func (d *Driver) writeNodeFiles(e *env, c *engine.Cluster, n *engine.Node, primary *nodePaths) ([]byte, bool, error) {
	p := pathsOf(n)
	hosts := []string{}
	if n.Host != "" {
		hosts = append(hosts, n.Host)
	}
	if n.FloatingIP != "" && n.FloatingIP != n.Host {
		hosts = append(hosts, n.FloatingIP)
	}
	conf, _, err := renderConf(confInput{cluster: c, node: p, host: hosts, primary: primary})
	if err != nil {
		return nil, false, err
	}
	hba, err := renderHBA(c.Firewall)
	if err != nil {
		return nil, false, err
	}
	if _, err := e.r.WriteFile(filepath.Join(p.data, "postgresql.conf"), []byte(templateConf), 0o600); err != nil {
		return nil, false, err
	}
	if err := e.r.MkdirAll(filepath.Join(p.data, "conf.d"), 0o700); err != nil {
		return nil, false, err
	}
	confPath := filepath.Join(p.data, "conf.d", "dbaasd.conf")
	prev, _ := os.ReadFile(confPath)
	confChanged, err := e.r.WriteFile(confPath, []byte(conf), 0o600)
	if err != nil {
		return nil, false, err
	}
	hbaChanged, err := e.r.WriteFile(filepath.Join(p.data, "pg_hba.conf"), []byte(hba), 0o600)
	if err != nil {
		return nil, false, err
	}
	identChanged, err := e.r.WriteFile(filepath.Join(p.data, "pg_ident.conf"), []byte(renderIdent(e.r.User, d.selfUser)), 0o600)
	if err != nil {
		return nil, false, err
	}
	hbaChanged = hbaChanged || identChanged
	if primary != nil {
		if _, err := e.r.WriteFile(filepath.Join(p.data, "standby.signal"), nil, 0o600); err != nil {
			return nil, false, err
		}
	}
	if !confChanged {
		prev = nil
	}
	return prev, confChanged || hbaChanged, nil
}
