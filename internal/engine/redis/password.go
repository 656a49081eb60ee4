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

// SetPassword changes the cluster password live on every node:
//
//  1. each server gets the new requirepass and masterauth (CONFIG SET) and
//     its config file is rewritten with them; replication links stay up
//     (they authenticated when they connected);
//  2. each sentinel gets the new password for the servers (auth-pass), for
//     the other sentinels (sentinel-pass) and for itself (its default user),
//     and saves its config;
//  3. every client connection to the servers and sentinels is closed, so
//     the old password stops working at once, for new and existing
//     connections alike (replication links are not client connections).
//
// A node that is down only has its files rewritten. It is idempotent: a
// node that already has the new password is left as is, and connections
// try the new password, then the cluster's, then the files'.
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

	// 1. Servers.
	for i := range c.Nodes {
		n := &c.Nodes[i]
		p := nodePaths(n)
		if _, err := os.Stat(p.conf); err != nil {
			continue // never created: Ensure will use the new password
		}
		var master *engine.Node
		if runningPid(p.serverPid, serverWords...) > 0 {
			cl, _, err := connect(ctx, unixEndpoint(p.serverSock), passwords(c, p, password))
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: %w", n.ID, err))
				continue
			}
			err = cl.ConfigSet(ctx, "masterauth", password).Err()
			if err == nil {
				err = cl.ConfigSet(ctx, "requirepass", password).Err()
			}
			var info string
			if err == nil {
				info, err = cl.Info(ctx, "replication").Result()
			}
			_ = cl.Close()
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: set password: %w", n.ID, err))
				continue
			}
			if ri := parseRepl(parseInfo(info)); ri.role == "slave" {
				master = &engine.Node{ID: "master", Host: ri.masterHost, Port: ri.masterPort}
			}
		} else if h, port := replicaOfFromFile(p.conf); h != "" {
			master = &engine.Node{ID: "master", Host: h, Port: port}
		}
		sc, err := buildServerConf(&nc, n, master, password)
		if err != nil {
			return err
		}
		if _, err := r.WriteFile(p.conf, sc.render(), 0o600); err != nil {
			errs = append(errs, err)
		}
	}

	// 2. Sentinels.
	for i := range c.Nodes {
		n := &c.Nodes[i]
		p := nodePaths(n)
		if runningPid(p.sentinelPid, sentinelWords...) == 0 {
			if err := rewriteSentinelPassword(r, p, password); err != nil {
				errs = append(errs, fmt.Errorf("node %s: %w", n.ID, err))
			}
			continue
		}
		cl, _, err := connectSentinel(ctx, c, n, password)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: sentinel: %w", n.ID, err))
			continue
		}
		for _, args := range [][]any{
			{"SENTINEL", "SET", MasterName, "auth-pass", password},
			{"SENTINEL", "CONFIG", "SET", "sentinel-pass", password},
			{"ACL", "SETUSER", "default", "resetpass", ">" + password},
			{"SENTINEL", "FLUSHCONFIG"},
		} {
			if err := cl.Do(ctx, args...).Err(); err != nil {
				errs = append(errs, fmt.Errorf("node %s: sentinel %v %v: %w", n.ID, args[0], args[1], err))
				break
			}
		}
		_ = cl.Close()
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	// 3. Cut the connections authenticated with the old password.
	for i := range c.Nodes {
		n := &c.Nodes[i]
		p := nodePaths(n)
		for _, ep := range []struct {
			sock string
			pid  string
			w    []string
		}{{p.serverSock, p.serverPid, serverWords}, {p.sentinelSock, p.sentinelPid, sentinelWords}} {
			if runningPid(ep.pid, ep.w...) == 0 {
				continue
			}
			cl, _, err := connect(ctx, unixEndpoint(ep.sock), []string{password})
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: %w", n.ID, err))
				continue
			}
			for _, typ := range []string{"normal", "pubsub"} {
				if err := cl.Do(ctx, "CLIENT", "KILL", "TYPE", typ, "SKIPME", "yes").Err(); err != nil {
					errs = append(errs, fmt.Errorf("node %s: CLIENT KILL: %w", n.ID, err))
				}
			}
			_ = cl.Close()
		}
	}
	d.log.Info("changed redis password", "cluster", c.ID)
	return errors.Join(errs...)
}

// replicaOfFromFile reads the replicaof directive of a server config.
func replicaOfFromFile(path string) (string, int) {
	b, err := os.ReadFile(path)
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

// rewriteSentinelPassword replaces the password in a stopped sentinel's
// config file (its own, the one for the servers and the one for the other
// sentinels).
func rewriteSentinelPassword(r *proc.Runner, p paths, password string) error {
	b, err := os.ReadFile(p.sentinelConf)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", p.sentinelConf, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for i, line := range lines {
		args := splitArgs(line)
		switch {
		case len(args) >= 2 && args[0] == "user" && args[1] == "default":
			lines[i] = "user default on " + quote(">"+password) + " ~* &* +@all"
		case len(args) >= 3 && args[0] == "sentinel" && args[1] == "auth-pass" && args[2] == MasterName:
			lines[i] = fmt.Sprintf("sentinel auth-pass %s %s", MasterName, quote(password))
		case len(args) >= 2 && args[0] == "sentinel" && args[1] == "sentinel-pass":
			lines[i] = "sentinel sentinel-pass " + quote(password)
		}
	}
	_, err = r.WriteFile(p.sentinelConf, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	return err
}
