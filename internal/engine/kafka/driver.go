// Package kafka is dbaasd's Kafka engine: every datastore is a real broker
// process speaking the Kafka protocol, built on franz-go's kfake, with
// SASL/SCRAM users, enforced ACLs, disk persistence and a firewall.
//
// The package owns two sides of one seam. RunBroker is the broker process
// (wired as `dbaasd kafka-broker`): one process per datastore hosting one
// kfake broker per node, which outlives dbaasd. Driver is the engine.Driver
// that starts, adopts, reconfigures, observes and stops those processes and
// manages users, topics and ACLs over the Kafka protocol as a superuser.
//
// There is no replication between the brokers of a datastore: kfake keeps a
// single copy of every partition in the process, and the brokers are views
// of it on different addresses. See README.md.
package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// Options configure the driver.
type Options struct {
	// BrokerCommand is the command that runs RunBroker; the path of the
	// broker's configuration file is appended to it. The default is this
	// executable with the argument "kafka-broker".
	BrokerCommand []string
	// BrokerEnv is extra environment (NAME=value) for the broker command.
	BrokerEnv []string
	// Runner runs the broker as the engine user (default proc.Default()).
	Runner *proc.Runner
	// Logger receives what the driver does (default: discard).
	Logger *slog.Logger
	// StartTimeout bounds how long a broker may take to serve (default 60s).
	StartTimeout time.Duration
	// StopTimeout is how long a broker may take to flush and exit on
	// SIGTERM before it is killed (default 60s).
	StopTimeout time.Duration
}

// Driver is the Kafka engine. It is safe for concurrent use on different
// clusters.
type Driver struct {
	opts Options

	infoMu sync.Mutex
	info   *versionInfo
}

var (
	_ engine.Driver       = (*Driver)(nil)
	_ engine.UserManager  = (*Driver)(nil)
	_ engine.TopicManager = (*Driver)(nil)
	_ engine.ACLManager   = (*Driver)(nil)
)

// New returns a driver.
func New(o Options) (*Driver, error) {
	if len(o.BrokerCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable for the kafka-broker command: %w", err)
		}
		o.BrokerCommand = []string{exe, "kafka-broker"}
	}
	if o.Runner == nil {
		r, err := proc.Default()
		if err != nil {
			return nil, err
		}
		o.Runner = r
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 60 * time.Second
	}
	return &Driver{opts: o}, nil
}

// Info runs the broker command with --version, once, and reports the Kafka
// release kfake serves in full ("4.1"), with the kfake and franz-go module
// versions in Full.
func (d *Driver) Info(ctx context.Context) (engine.Info, error) {
	v, err := d.version(ctx)
	if err != nil {
		return engine.Info{}, err
	}
	return engine.Info{Engine: engine.Kafka, Version: v.Kafka, Full: v.full()}, nil
}

func (d *Driver) version(ctx context.Context) (versionInfo, error) {
	d.infoMu.Lock()
	defer d.infoMu.Unlock()
	if d.info != nil {
		return *d.info, nil
	}
	cmd := d.opts.Runner.Command(ctx, d.opts.BrokerCommand[0], append(d.opts.BrokerCommand[1:], "--version")...)
	cmd.Env = append(cmd.Env, d.opts.BrokerEnv...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return versionInfo{}, fmt.Errorf("%s --version: %w: %s", strings.Join(d.opts.BrokerCommand, " "), err, strings.TrimSpace(errOut.String()))
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil || v.Kafka == "" {
		return versionInfo{}, fmt.Errorf("%s --version printed %q: %v", strings.Join(d.opts.BrokerCommand, " "), out.String(), err)
	}
	d.info = &v
	return v, nil
}

// Catalog reports the parameters kfake honours; Kafka has no extensions.
func (d *Driver) Catalog(context.Context) (engine.Catalog, error) {
	return catalog(), nil
}

// desired builds the broker configuration for a cluster; bad content is an
// engine.ErrInvalid error.
func (d *Driver) desired(c *engine.Cluster, l layout) (*brokerConfig, settings, error) {
	var s settings
	if len(c.Nodes) == 0 {
		return nil, s, fmt.Errorf("%w: a Kafka cluster needs at least one node", engine.ErrInvalid)
	}
	if c.AdminPassword == "" {
		return nil, s, fmt.Errorf("%w: the cluster has no admin password", engine.ErrInvalid)
	}
	if err := checkVersion(c.Version); err != nil {
		return nil, s, err
	}
	if _, err := parseAllowList(c.Firewall); err != nil {
		return nil, s, err
	}
	s, err := resolveConfig(c.Config)
	if err != nil {
		return nil, s, err
	}
	b := &brokerConfig{
		ClusterID:        c.ID,
		DataDir:          l.data(),
		PidFile:          l.pid(),
		StatusFile:       l.status(),
		SuperUser:        SuperUser,
		SuperPassword:    c.AdminPassword,
		KafkaVersion:     c.Version,
		BrokerConfigs:    s.brokerConfigs,
		Firewall:         c.Firewall,
		RetentionCheckMs: s.retentionCheckMs,
	}
	for _, n := range c.Nodes {
		lc := listenerConfig{NodeID: n.ID, Host: n.Host, Port: n.Port, Dir: n.Dir}
		if n.FloatingIP != "" && n.FloatingIP != n.Host {
			lc.Extra = []string{n.FloatingIP}
		}
		b.Listeners = append(b.Listeners, lc)
	}
	if err := b.check(); err != nil {
		return nil, s, fmt.Errorf("%w: %v", engine.ErrInvalid, err)
	}
	return b, s, nil
}

// broker describes the cluster's broker process, which runs as the
// cluster's account r and serves every node: started with its
// configuration file (recognised by it), it writes its own pid file once
// it listens and flushes its state to disk on SIGTERM.
func (d *Driver) broker(r *proc.Runner, l layout) *proc.Daemon {
	return &proc.Daemon{
		Name:      "kafka broker",
		Runner:    r,
		Command:   d.opts.BrokerCommand[0],
		Args:      append(append([]string(nil), d.opts.BrokerCommand[1:]...), l.config()),
		Dir:       l.home.Dir,
		Env:       d.opts.BrokerEnv,
		Log:       l.log(),
		PidFile:   l.pid(),
		Recognise: brokerOf(l.config()),
		StopGrace: d.opts.StopTimeout,
	}
}

// brokerOf recognises the broker process started with this configuration
// file: the file's path is one of its arguments.
func brokerOf(configPath string) func(int, []string) bool {
	return func(_ int, argv []string) bool { return slices.Contains(argv, configPath) }
}

// running returns the pid and status of the cluster's live broker process,
// or 0.
func (d *Driver) running(c *engine.Cluster, l layout) (int, brokerStatus) {
	pid := d.broker(d.opts.Runner.Existing(c.ID), l).Running()
	if pid == 0 {
		return 0, brokerStatus{}
	}
	st, _ := readStatus(l.status())
	return pid, st
}

// Ensure starts the cluster's broker process or adopts the running one,
// restarts it when its listeners, data directory, version or superuser
// password change, reloads its firewall with SIGHUP, applies the broker
// configuration over the wire, and returns once every node answers and the
// superuser can log in.
func (d *Driver) Ensure(ctx context.Context, c *engine.Cluster) error {
	home := homeNode(c)
	if home == nil {
		return fmt.Errorf("%w: a Kafka cluster needs at least one node", engine.ErrInvalid)
	}
	l := layout{home: home}
	want, s, err := d.desired(c, l)
	if err != nil {
		return err
	}
	r, err := d.account(c)
	if err != nil {
		return err
	}
	if err := d.prepareDirs(r, c, l); err != nil {
		return err
	}
	prev, _, _ := loadBrokerConfig(l.config())
	content := want.encode()
	digest := contentDigest(content)

	dm := d.broker(r, l)
	pid, st := d.running(c, l)
	if pid > 0 && st.RestartKey != want.restartKey() {
		d.opts.Logger.Info("restarting kafka broker: listeners, version or credentials changed", "datastore_id", c.ID, "pid", pid)
		if err := dm.StopProcess(ctx, pid); err != nil {
			return err
		}
		pid = 0
	}
	if _, err := r.WriteFile(l.config(), content, 0o600); err != nil {
		return err
	}
	if pid > 0 && st.ConfigDigest != digest {
		if err := d.reload(ctx, l, pid, digest); err != nil {
			d.opts.Logger.Warn("kafka broker did not reload; restarting it", "datastore_id", c.ID, "pid", pid, "error", err)
			if err := dm.StopProcess(ctx, pid); err != nil {
				return err
			}
			pid = 0
		}
	}
	if pid > 0 {
		dm.Ready = func(ctx context.Context, _ int) error { return serving(ctx, c) }
		dm.ReadyTimeout = 10 * time.Second
		if err := dm.Await(ctx, pid); err != nil {
			d.opts.Logger.Warn("kafka broker does not answer; restarting it", "datastore_id", c.ID, "pid", pid, "error", err)
			if err := dm.StopProcess(ctx, pid); err != nil {
				return err
			}
			pid = 0
		}
	}
	if pid == 0 {
		if _, err := d.start(ctx, r, c, l, digest); err != nil {
			return err
		}
	}
	if err := converge(ctx, c, s); err != nil {
		return err
	}
	d.removeLeftNodes(r, c, l, prev)
	return nil
}

// account is the runner of the cluster's own OS account (created when
// missing): the broker runs as it, its files are its.
func (d *Driver) account(c *engine.Cluster) (*proc.Runner, error) {
	r, err := d.opts.Runner.ForCluster(c.ID)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return r, nil
}

// prepareDirs makes the cluster's directories private directories of its
// OS account, with every node's directory and the data directory inside.
func (d *Driver) prepareDirs(r *proc.Runner, c *engine.Cluster, l layout) error {
	for _, dir := range []string{c.Dir, c.RunDir} {
		if dir == "" {
			continue
		}
		if err := r.ClaimDir(dir); err != nil {
			return fmt.Errorf("cluster %s: %w", c.ID, err)
		}
	}
	for _, n := range c.Nodes {
		if n.Dir == "" {
			return fmt.Errorf("%w: node %s has no directory", engine.ErrInvalid, n.ID)
		}
		if err := r.MkdirAll(n.Dir, 0o700); err != nil {
			return err
		}
	}
	return r.MkdirAll(l.data(), 0o700)
}

// start starts the broker process and waits until it reports this
// configuration (digest) and every node serves; one that does not in
// time is stopped.
func (d *Driver) start(ctx context.Context, r *proc.Runner, c *engine.Cluster, l layout, digest string) (int, error) {
	if err := waitPortsFree(ctx, c); err != nil {
		return 0, err
	}
	_ = r.Remove(l.status())
	dm := d.broker(r, l)
	dm.Ready = func(ctx context.Context, pid int) error {
		if st, err := readStatus(l.status()); err != nil || st.PID != pid || st.ConfigDigest != digest {
			return errors.New("the broker has not reported this configuration yet")
		}
		return serving(ctx, c)
	}
	dm.ReadyTimeout = d.opts.StartTimeout
	dm.StopUnready = true
	pid, err := dm.Start(ctx)
	if err != nil {
		return 0, err
	}
	d.opts.Logger.Info("started kafka broker", "datastore_id", c.ID, "pid", pid, "nodes", len(c.Nodes))
	return pid, nil
}

// waitPortsFree waits a little for the nodes' ports to be free: a broker
// that was just killed may hold its sockets for a moment after its main
// thread is reported gone.
func waitPortsFree(ctx context.Context, c *engine.Cluster) error {
	deadline := time.Now().Add(5 * time.Second)
	for i := range c.Nodes {
		n := &c.Nodes[i]
		for !proc.PortFree(n.Host, n.Port) {
			if time.Now().After(deadline) {
				return fmt.Errorf("start kafka broker: %s is already in use by another process", nodeAddr(n))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(proc.Poll):
			}
		}
	}
	return nil
}

// reload signals the broker to re-read its configuration and waits until
// it reports the new file's digest.
func (d *Driver) reload(ctx context.Context, l layout, pid int, digest string) error {
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal broker %d: %w", pid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if st, err := readStatus(l.status()); err == nil && st.PID == pid && st.ConfigDigest == digest {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("broker %d did not apply its new configuration: %w", pid, ctx.Err())
		case <-time.After(proc.Poll):
		}
	}
}

// serving reports whether every node answers ApiVersions.
func serving(ctx context.Context, c *engine.Cluster) error {
	for i := range c.Nodes {
		if err := probe(ctx, nodeAddr(&c.Nodes[i]), time.Second); err != nil {
			return fmt.Errorf("node %s (%s): %w", c.Nodes[i].ID, nodeAddr(&c.Nodes[i]), err)
		}
	}
	return nil
}

// converge logs in as the superuser, checks that the metadata lists every
// node, and makes kfake's dynamic broker configuration match the cluster's
// (keys without a value are reset to their defaults).
func converge(ctx context.Context, c *engine.Cluster, s settings) error {
	return withAdmin(ctx, c, func(adm *kadm.Client, _ *kgo.Client) error {
		m, err := adm.BrokerMetadata(ctx)
		if err != nil {
			return fmt.Errorf("metadata as %s: %w", SuperUser, err)
		}
		if len(m.Brokers) != len(c.Nodes) {
			return fmt.Errorf("metadata lists %d brokers, want %d", len(m.Brokers), len(c.Nodes))
		}
		var alter []kadm.AlterConfig
		for name, v := range s.brokerConfigs {
			if v == "" {
				alter = append(alter, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: name})
				continue
			}
			val := v
			alter = append(alter, kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &val})
		}
		if len(alter) == 0 {
			return nil
		}
		resps, err := adm.AlterBrokerConfigs(ctx, alter)
		if err != nil {
			return fmt.Errorf("alter broker configs: %w", err)
		}
		for _, r := range resps {
			if r.Err != nil {
				if errors.Is(r.Err, kerr.InvalidConfig) || errors.Is(r.Err, kerr.InvalidRequest) {
					return fmt.Errorf("%w: alter broker configs: %v: %s", engine.ErrInvalid, r.Err, r.ErrMessage)
				}
				return fmt.Errorf("alter broker configs: %w: %s", r.Err, r.ErrMessage)
			}
		}
		return nil
	})
}

// removeLeftNodes removes the directories of nodes that left the cluster
// (they hold nothing but are the driver's to clean up), as the cluster's
// OS account: the previous configuration is in a directory it owns.
func (d *Driver) removeLeftNodes(r *proc.Runner, c *engine.Cluster, l layout, prev *brokerConfig) {
	if prev == nil {
		return
	}
	keep := map[string]bool{l.home.Dir: true}
	for _, n := range c.Nodes {
		keep[n.Dir] = true
	}
	for _, pl := range prev.Listeners {
		if pl.Dir != "" && !keep[pl.Dir] {
			d.opts.Logger.Info("removing directory of a node that left the kafka cluster", "datastore_id", c.ID, "node", pl.NodeID)
			_ = r.RemoveAll(pl.Dir)
		}
	}
}

// Observe reports each node ACTIVE (with its desired role: every Kafka
// broker is a peer) when the broker process is alive and the node answers
// ApiVersions within a second, DOWN otherwise, and DISK_FULL when the data
// outgrows the flavor's disk.
func (d *Driver) Observe(ctx context.Context, c *engine.Cluster) (engine.Observation, error) {
	var obs engine.Observation
	home := homeNode(c)
	if home == nil {
		return obs, nil
	}
	l := layout{home: home}
	pid, _ := d.running(c, l)
	obs.DiskUsedBytes = dirSize(l.data())
	full := c.Flavor.DiskGB > 0 && obs.DiskUsedBytes >= int64(c.Flavor.DiskGB)<<30

	obs.Nodes = make([]engine.NodeState, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		n := &c.Nodes[i]
		ns := &obs.Nodes[i]
		ns.ID, ns.Role, ns.Status = n.ID, engine.RoleUnknown, engine.NodeDown
		if pid == 0 {
			ns.Detail = "the kafka broker process is not running"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := probe(ctx, nodeAddr(n), time.Second); err != nil {
				ns.Detail = fmt.Sprintf("broker at %s does not answer: %v", nodeAddr(n), err)
				return
			}
			ns.Role, ns.Status = n.Role, engine.NodeActive
			if full {
				ns.Status = engine.NodeDiskFull
				ns.Detail = fmt.Sprintf("data uses %d bytes of %d GB", obs.DiskUsedBytes, c.Flavor.DiskGB)
			}
		}()
	}
	wg.Wait()
	return obs, nil
}

// Stop stops the cluster's broker process (it flushes its state to disk on
// SIGTERM), keeping the data.
func (d *Driver) Stop(ctx context.Context, c *engine.Cluster) error {
	r := d.opts.Runner.Existing(c.ID)
	for i := range c.Nodes {
		dm := d.broker(r, layout{home: &c.Nodes[i]})
		if pid := dm.Running(); pid > 0 {
			d.opts.Logger.Info("stopping kafka broker", "datastore_id", c.ID, "pid", pid)
			if err := dm.StopProcess(ctx, pid); err != nil {
				return err
			}
		}
	}
	return nil
}

// Destroy stops the broker, removes every node's directory (those of
// nodes that already left the cluster included) and the cluster's
// directories, and ends the cluster's OS account.
func (d *Driver) Destroy(ctx context.Context, c *engine.Cluster) error {
	r, err := d.account(c)
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, n := range c.Nodes {
		if n.Dir != "" {
			dirs[n.Dir] = true
		}
		if prev, _, err := loadBrokerConfig(filepath.Join(n.Dir, configFile)); err == nil {
			for _, pl := range prev.Listeners {
				if pl.Dir != "" {
					dirs[pl.Dir] = true
				}
			}
		}
	}
	if err := d.Stop(ctx, c); err != nil {
		return err
	}
	for dir := range dirs {
		if err := r.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
	}
	for _, dir := range []string{c.Dir, c.RunDir} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
	}
	if c.Dir != "" {
		// The cluster's directory goes too once nothing else is in it.
		_ = os.Remove(filepath.Join(c.Dir, "nodes"))
		_ = os.Remove(c.Dir)
	}
	return d.opts.Runner.ReleaseCluster(c.ID, c.ArchiveDir)
}

// PIDs returns the process serving node n (the cluster's single broker
// process), or nothing when it does not run.
func (d *Driver) PIDs(c *engine.Cluster, n *engine.Node) []int {
	home := homeNode(c)
	if home == nil {
		return nil
	}
	l := layout{home: home}
	pid, _ := d.running(c, l)
	if pid == 0 {
		return nil
	}
	if cfg, _, err := loadBrokerConfig(l.config()); err == nil {
		for _, lc := range cfg.Listeners {
			if lc.NodeID == n.ID {
				return []int{pid}
			}
		}
	}
	return nil
}
