package redis

// The firewall.
//
// Redis has no host-based access control, so the driver enforces
// Cluster.Firewall itself. Packet filters were considered and rejected:
// this machine has neither iptables nor nft, they need root (dbaasd may run
// unprivileged) and they would be one more system-wide state to repair. The
// mechanism is instead a forwarder process per node (RunForwarder, the
// `dbaasd redis-forwarder` subcommand), used only when the list is not empty:
//
//   - the server stops listening on TCP (`port 0`, applied live with CONFIG
//     SET) and keeps only its Unix socket (mode 0700, engine user only);
//   - the forwarder listens on Host:Port (and FloatingIP:Port, and the
//     sentinel's port) and pipes allowed connections to the sockets; others
//     are reset before any byte is exchanged;
//   - the cluster's own traffic (replication, sentinels, the driver's
//     Observe) comes from the nodes' addresses: servers and sentinels set
//     bind-source-addr to their host, and those addresses are always
//     allowed. (A node on a wildcard address makes loopback allowed.)
//
// With an empty list the forwarder is stopped and the server listens on
// Host:Port itself (CONFIG SET port/bind), so unfirewalled clusters pay no
// proxy hop. Switching modes closes the listening sockets for a moment; a
// sentinel is restarted to change how it listens. Changing the list while
// firewalled is a reload (SIGHUP): connections from addresses no longer
// allowed are cut at once.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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
	seen := map[string]bool{}
	for _, m := range c.Nodes {
		hosts := []string{listenIP(&m)}
		if m.FloatingIP != "" {
			hosts = append(hosts, m.FloatingIP)
		}
		for _, h := range hosts {
			ip := net.ParseIP(h)
			if ip == nil {
				continue
			}
			addrs := []string{ip.String()}
			if ip.IsUnspecified() {
				addrs = []string{"127.0.0.1", "::1"}
			}
			for _, a := range addrs {
				if !seen[a] {
					seen[a] = true
					cfg.Allow = append(cfg.Allow, a)
				}
			}
		}
	}
	return cfg
}

// ensureForwarder writes node n's forwarder config and starts the forwarder
// or makes the running one reload. It does not wait for the routes to
// listen (a sentinel may still hold its port): see waitForwarder.
func (d *Driver) ensureForwarder(ctx context.Context, c *engine.Cluster, n *engine.Node) (string, error) {
	r, err := d.run(c)
	if err != nil {
		return "", err
	}
	p := nodePaths(n)
	st, err := readState(p)
	if err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(forwarderConfigFor(c, n, st.SentinelPort), "", "  ")
	b = append(b, '\n')
	if _, err := r.WriteFile(p.forwarderConf, b, 0o600); err != nil {
		return "", err
	}
	hash := configHash(b)
	if pid := runningPid(p.forwarderPid, p.forwarderConf); pid > 0 {
		if st, _ := readForwarderStatus(p); st.Hash != hash {
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
	_ = os.Remove(p.forwarderPid)
	args := append(append([]string{}, cmd[1:]...), "-config", p.forwarderConf, "-pidfile", p.forwarderPid)
	pid, err := r.StartDaemon(cmd[0], args, p.dir, p.forwarderLog, d.opts.ForwarderEnv...)
	if err != nil {
		return "", fmt.Errorf("node %s: start firewall forwarder: %w", n.ID, err)
	}
	// Record the pid at once (the forwarder rewrites the same value once it
	// listens), so that nothing starts a second forwarder meanwhile.
	if _, err := r.WriteFile(p.forwarderPid, fmt.Appendf(nil, "%d\n", pid), 0o644); err != nil {
		return "", err
	}
	d.log.Info("started redis firewall forwarder", "cluster", c.ID, "node", n.ID, "pid", pid)
	return hash, nil
}

func readForwarderStatus(p paths) (forwarderStatus, error) {
	var st forwarderStatus
	b, err := os.ReadFile(statusPath(p.forwarderConf))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// forwarderListens reports whether node p's running forwarder listens on a.
func forwarderListens(p paths, a string) bool {
	if runningPid(p.forwarderPid, p.forwarderConf) == 0 {
		return false
	}
	st, err := readForwarderStatus(p)
	if err != nil {
		return false
	}
	for _, l := range st.Listening {
		if l == a {
			return true
		}
	}
	return false
}

// waitForwarder waits until node n's forwarder applied the config with this
// hash and listens on every route.
func waitForwarder(ctx context.Context, n *engine.Node, hash string) error {
	p := nodePaths(n)
	deadline := time.Now().Add(15 * time.Second)
	var last forwarderStatus
	for {
		st, err := readForwarderStatus(p)
		if err == nil {
			last = st
			if st.Hash == hash && len(st.Errors) == 0 {
				return nil
			}
		}
		pid := proc.ReadPidFile(p.forwarderPid)
		if pid > 0 && !proc.Alive(pid) {
			return fmt.Errorf("node %s: firewall forwarder exited: %s", n.ID, logTail(p.forwarderLog, 1000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s: firewall forwarder not ready (errors %v): %s", n.ID, last.Errors, logTail(p.forwarderLog, 1000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: wait for firewall forwarder: %w", n.ID, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stopForwarder stops node n's forwarder and removes its files.
func (d *Driver) stopForwarder(c *engine.Cluster, n *engine.Node, remove bool) {
	p := nodePaths(n)
	if pid := runningPid(p.forwarderPid, p.forwarderConf); pid > 0 {
		proc.Terminate(pid, 5*time.Second)
		d.log.Info("stopped redis firewall forwarder", "cluster", c.ID, "node", n.ID)
	}
	if remove {
		for _, f := range []string{p.forwarderConf, statusPath(p.forwarderConf), p.forwarderConf + ".lock", p.forwarderPid} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				d.log.Warn("remove forwarder file", "file", f, "err", err)
			}
		}
	}
}
