package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// SetPassword changes the tenant's password live on every node. Only the
// default user changes: dbaasd, the replicas and the sentinels use the
// internal user (see auth.go), so replication and failover never depend on
// the tenant's password.
//
//  1. each server's and sentinel's default user gets the new password (ACL
//     SETUSER, as the internal user; a server set up before the internal
//     user existed gets its users first), and each server's config file is
//     rewritten with it;
//  2. every connection of the default user to the servers and sentinels is
//     closed (CLIENT KILL USER default), so the old password stops working
//     at once, for new and existing connections alike.
//
// A node that is down only has its files rewritten. It is idempotent.
func (d *Driver) SetPassword(ctx context.Context, c *engine.Cluster, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	r, err := d.run(c)
	if err != nil {
		return err
	}
	nc := *c
	nc.Password = password
	var errs []error

	// 1. Servers and sentinels.
	type live struct {
		ep    endpoint
		rules []string
		p     paths
		n     *engine.Node
	}
	var running []live
	for i := range c.Nodes {
		n := &c.Nodes[i]
		p := nodePaths(n)
		if _, err := os.Stat(p.conf); err != nil {
			continue // never created: Ensure will use the new password
		}
		if serverProcess(r, n).Running() > 0 {
			running = append(running, live{unixEndpoint(p.serverSock), tenantServerRules, p, n})
		}
		if sentinelProcess(r, n).Running() > 0 {
			running = append(running, live{sentinelEndpoint(n), tenantSentinelRules, p, n})
		} else if err := rewriteSentinelUsers(r, &nc, p); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", n.ID, err))
		}
		var master *engine.Node
		if ri, err := readRepl(ctx, r, c, n); err == nil && ri.role == "slave" {
			master = &engine.Node{ID: "master", Host: ri.masterHost, Port: ri.masterPort}
		} else if err != nil {
			if h, port := replicaOfFromFile(r, p.conf); h != "" {
				master = &engine.Node{ID: "master", Host: h, Port: port}
			}
		}
		sc, err := buildServerConf(&nc, n, master)
		if err != nil {
			return err
		}
		if _, err := r.WriteFile(p.conf, sc.render(), 0o600); err != nil {
			errs = append(errs, err)
		}
	}
	for _, l := range running {
		cl, err := connectInternal(ctx, &nc, l.ep, creds(r, c, l.p, password), l.rules)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", l.n.ID, err))
			continue
		}
		if _, err := ensureUsers(ctx, cl, &nc, l.rules); err != nil {
			errs = append(errs, fmt.Errorf("node %s: set password: %w", l.n.ID, err))
		} else if l.ep.addr == nodePaths(l.n).sentinelSock {
			if err := cl.Do(ctx, "SENTINEL", "FLUSHCONFIG").Err(); err != nil {
				errs = append(errs, fmt.Errorf("node %s: SENTINEL FLUSHCONFIG: %w", l.n.ID, err))
			}
		}
		_ = cl.Close()
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// 2. Cut the connections authenticated with the old password.
	for _, l := range running {
		cl, _, err := connect(ctx, l.ep, []cred{internalCred(c)})
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", l.n.ID, err))
			continue
		}
		if err := cl.Do(ctx, "CLIENT", "KILL", "USER", "default").Err(); err != nil && !strings.Contains(err.Error(), "No such user") {
			errs = append(errs, fmt.Errorf("node %s: CLIENT KILL: %w", l.n.ID, err))
		}
		_ = cl.Close()
	}
	d.log.Info("changed redis password", "datastore_id", c.ID)
	return errors.Join(errs...)
}

// replicaOfFromFile reads the replicaof directive of a server config, as
// the cluster's OS account.
func replicaOfFromFile(r *proc.Runner, path string) (string, int) {
	b, err := r.ReadFile(path)
	if err != nil {
		return "", 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		args := splitArgs(line)
		if len(args) == 3 && (args[0] == "replicaof" || args[0] == "slaveof") {
			var port int
			if _, err := fmt.Sscan(args[2], &port); err == nil {
				return args[1], port
			}
		}
	}
	return "", 0
}

// rewriteSentinelUsers rewrites the users of a stopped sentinel's config
// file (for the tenant's new password), as the cluster's OS account.
func rewriteSentinelUsers(r *proc.Runner, c *engine.Cluster, p paths) error {
	b, err := r.ReadFile(p.sentinelConf)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", p.sentinelConf, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	out := lines[:0]
	for _, line := range lines {
		args := splitArgs(line)
		if len(args) >= 2 && args[0] == "user" && (args[1] == "default" || args[1] == internalUser) {
			continue
		}
		out = append(out, line)
	}
	out = append(out,
		userLine(internalUser, internalSecret(c), internalRules),
		userLine("default", c.Password, tenantSentinelRules))
	_, err = r.WriteFile(p.sentinelConf, []byte(strings.Join(out, "\n")+"\n"), 0o600)
	return err
}
