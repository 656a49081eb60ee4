package redis

// The firewall.
//
// Redis has no host-based access control, so the driver enforces
// Cluster.Firewall itself. Packet filters were considered and rejected:
// this machine has neither iptables nor nft, they need root (dbaasd may run
// unprivileged) and they would be one more system-wide state to repair. The
// mechanism is instead a forwarder process per node (RunForwarder, the
// `dbaasd redis-forwarder` subcommand, running as the cluster's OS
// account), used only when the list is not empty:
//
//   - the server stops listening on TCP (`port 0`, applied live with CONFIG
//     SET) and keeps only its Unix socket (mode 0700, the cluster's account
//     only);
//   - the forwarder listens on Host:Port (and FloatingIP:Port, and the
//     sentinel's port) and pipes the connections of listed addresses to the
//     sockets; every other connection is reset before any byte is
//     exchanged, local addresses included;
//   - the cluster's own traffic gets through by its own path, not by an
//     address: dbaasd talks to the servers and sentinels over their Unix
//     sockets, and a connection from this machine whose socket belongs to
//     the cluster's OS account (a replica of the cluster, one of its
//     sentinels: /proc/net/tcp names each socket's owner) is let through
//     whatever its address. Other local users' connections, root's
//     included, are refused like any unlisted address. (When dbaasd does
//     not run as root, datastores have no accounts of their own and every
//     process of dbaasd's user gets through.)
//
// With an empty list the forwarder is stopped and the server listens on
// Host:Port itself (CONFIG SET port/bind), so unfirewalled clusters pay no
// proxy hop. Switching modes closes the listening sockets for a moment; a
// sentinel is restarted to change how it listens. Each forwarder is started
// once per Ensure at most; a change of the list while firewalled is told
// to the running forwarder (SIGHUP) only once it has said it is ready (its
// status file names its process), and connections from addresses no
// longer allowed are cut at once.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// forwarderConfigFor returns node n's forwarder config.
func forwarderConfigFor(c *engine.Cluster, n *engine.Node, sentinelPort int) forwarderConfig {
	p := nodePaths(n)
	cfg := forwarderConfig{Allow: append([]string{}, c.Firewall...)}
	cfg.Routes = append(cfg.Routes, forwardRoute{Listen: addr(listenIP(n), n.Port), Target: p.serverSock})
	if n.FloatingIP != "" && n.FloatingIP != n.Host {
		cfg.Routes = append(cfg.Routes, forwardRoute{Listen: addr(n.FloatingIP, n.Port), Target: p.serverSock, Optional: true})
	}
	if len(c.Nodes) > 1 && sentinelPort > 0 {
		cfg.Routes = append(cfg.Routes, forwardRoute{Listen: addr(listenIP(n), sentinelPort), Target: p.sentinelSock})
	}
	return cfg
}

// forwarderReadyWait bounds how long a forwarder that was just started may
// take to say it is ready.
const forwarderReadyWait = 15 * time.Second

// ensureForwarder writes node n's forwarder config and starts the
// forwarder, or tells the running one to reload once it is ready. It
// returns the config's hash; it does not wait for the routes to listen (a
// server or sentinel may still hold a port): see waitForwarder.
func (d *Driver) ensureForwarder(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node) (string, error) {
	p := nodePaths(n)
	st, err := readState(r, p)
	if err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(forwarderConfigFor(c, n, sentinelPort(n, st)), "", "  ")
	b = append(b, '\n')
	if _, err := r.WriteFile(p.forwarderConf, b, 0o600); err != nil {
		return "", err
	}
	hash := configHash(b)
	dm := forwarderProcess(r, n)
	if pid := dm.Running(); pid > 0 {
		fs, err := waitForwarderReady(ctx, r, n, pid)
		if err != nil {
			return "", fmt.Errorf("node %s: %w", n.ID, err)
		}
		if fs.Hash != hash {
			if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
				return "", fmt.Errorf("node %s: reload forwarder: %w", n.ID, err)
			}
		}
		return hash, nil
	}
	cmd, err := d.forwarderCommand()
	if err != nil {
		return "", err
	}
	dm.Command = cmd[0]
	dm.Args = append(append([]string{}, cmd[1:]...), "-config", p.forwarderConf, "-pidfile", p.forwarderPid)
	dm.Env = d.opts.ForwarderEnv
	pid, err := dm.Start(ctx)
	if err != nil {
		return "", fmt.Errorf("node %s: start firewall forwarder: %w", n.ID, err)
	}
	d.log.Info("started redis firewall forwarder", "datastore_id", c.ID, "node", n.ID, "pid", pid)
	return hash, nil
}

// readForwarderStatus reads the status a forwarder writes, as the cluster's
// OS account (the forwarder runs as it and writes in its directory).
func readForwarderStatus(r *proc.Runner, p paths) (forwarderStatus, error) {
	var st forwarderStatus
	b, err := r.ReadFile(statusPath(p.forwarderConf))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// waitForwarderReady waits until node n's forwarder pid has applied a
// config and written its status (it handles SIGHUP from then on).
func waitForwarderReady(ctx context.Context, r *proc.Runner, n *engine.Node, pid int) (forwarderStatus, error) {
	var st forwarderStatus
	dm := forwarderProcess(r, n)
	dm.Ready = func(context.Context, int) error {
		s, err := readForwarderStatus(r, nodePaths(n))
		if err != nil {
			return err
		}
		if s.Pid != pid {
			return fmt.Errorf("its status names process %d", s.Pid)
		}
		st = s
		return nil
	}
	dm.ReadyTimeout = forwarderReadyWait
	err := dm.Await(ctx, pid)
	return st, err
}

// waitForwarder waits until node n's forwarder applied the config with this
// hash and listens on every required route.
func waitForwarder(ctx context.Context, r *proc.Runner, n *engine.Node, hash string) error {
	dm := forwarderProcess(r, n)
	pid := dm.Running()
	if pid == 0 {
		return fmt.Errorf("node %s: firewall forwarder is not running: %s", n.ID, r.LogTail(dm.Log, 5))
	}
	dm.Ready = func(context.Context, int) error {
		st, err := readForwarderStatus(r, nodePaths(n))
		switch {
		case err != nil:
			return err
		case st.Pid != pid:
			return fmt.Errorf("its status names process %d", st.Pid)
		case st.Hash != hash:
			return errors.New("the new configuration is not applied yet")
		case len(st.Errors) > 0:
			return fmt.Errorf("errors %v", st.Errors)
		}
		return nil
	}
	dm.ReadyTimeout = forwarderReadyWait
	return dm.Await(ctx, pid)
}

// observeForwarder reports whether node n's forwarder runs and listens on
// every required route.
func observeForwarder(r *proc.Runner, n *engine.Node) engine.ProcessState {
	ps := engine.ProcessState{Name: "redis-forwarder", NodeID: n.ID}
	p := nodePaths(n)
	pid := forwarderProcess(r, n).Running()
	if pid == 0 {
		ps.Detail = "the firewall forwarder is not running"
		return ps
	}
	st, err := readForwarderStatus(r, p)
	switch {
	case err != nil || st.Pid != pid:
		ps.Detail = "the firewall forwarder is starting"
	case len(st.Errors) > 0:
		ps.Detail = fmt.Sprintf("the firewall forwarder cannot listen: %v", st.Errors)
	default:
		ps.Up = true
	}
	return ps
}

// stopForwarder stops node n's forwarder and, with remove, its files.
func (d *Driver) stopForwarder(ctx context.Context, r *proc.Runner, c *engine.Cluster, n *engine.Node, remove bool) {
	p := nodePaths(n)
	if pid, _ := forwarderProcess(r, n).Stop(ctx); pid > 0 {
		d.log.Info("stopped redis firewall forwarder", "datastore_id", c.ID, "node", n.ID)
	}
	if remove {
		for _, f := range []string{p.forwarderConf, statusPath(p.forwarderConf), p.forwarderConf + ".lock", p.forwarderPid} {
			if err := r.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				d.log.Warn("remove forwarder file", "file", f, "error", err)
			}
		}
	}
}
