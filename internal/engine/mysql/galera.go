package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// A synchronous cluster of more than one node is a Galera cluster: every
// node takes writes; a commit is certified by all nodes before it returns.
// Each node listens on three ports besides its client port: group
// communication (gmcast.listen_addr, the address in wsrep_cluster_address),
// incremental state transfer (ist.recv_addr) and full state transfer
// (wsrep_sst_receive_address, rsync). dbaasd allocates them from its port
// range with the client port (NodePorts, engine.Node.Ports); node.json
// records the ones the node's server was started with. A node that already
// has ports of its own (made before they were allocated) takes the
// allocated ones the next time it starts.
//
// A new cluster starts every node at once, none waiting for another
// (startNewGalera): each gets a copy of the template, the same Galera
// state and a saved primary component of all the nodes, which Galera
// restores once they are all up; no node needs a state transfer.
//
// Starting a cluster that has data: when no node runs in a primary
// component, the most advanced node bootstraps a new one
// (--wsrep-new-cluster): the position comes from grastate.dat, or from
// `mariadbd --wsrep-recover` when the node did not shut down cleanly (seqno
// -1); ties go to the node with safe_to_bootstrap, then the MASTER node.
// dbaasd sets safe_to_bootstrap on the node it chose (it knows every node
// of the cluster is down). When nodes still run but lost their primary
// component (the others were killed), the most advanced of them is told
// pc.bootstrap=YES instead. The other nodes then join one at a time (IST
// when the donor's gcache has what they miss, rsync SST otherwise; a node
// added to a running cluster starts with an empty data directory and
// receives everything by SST).
//
// Every connection between nodes (group communication, IST, SST) is TLS
// with the cluster's own CA: see tls.go.

// Names of a Galera node's ports in engine.Node.Ports.
const (
	portGcomm = "gcomm"
	portIST   = "ist"
	portSST   = "sst"
)

// galeraPorts are a node's Galera ports.
type galeraPorts struct {
	Gcomm int `json:"gcomm"`
	IST   int `json:"ist"`
	SST   int `json:"sst"`
}

// NodePorts names the ports every node of a Galera cluster needs besides
// its client port (engine.PortNeeder); a single server needs none.
func (d *Driver) NodePorts(c *engine.Cluster) []string {
	if d.mode == ModeSync && len(c.Nodes) > 1 {
		return []string{portGcomm, portIST, portSST}
	}
	return nil
}

// allocatedPorts returns the Galera ports dbaasd allocated for a node.
func allocatedPorts(n *node) (*galeraPorts, error) {
	p := &galeraPorts{Gcomm: n.Ports[portGcomm], IST: n.Ports[portIST], SST: n.Ports[portSST]}
	if p.Gcomm <= 0 || p.IST <= 0 || p.SST <= 0 {
		return nil, fmt.Errorf("node %s has no Galera ports allocated (%s, %s, %s): %w", n.ID, portGcomm, portIST, portSST, engine.ErrInvalid)
	}
	return p, nil
}

// GaleraProvider finds the Galera library ("" when it is not installed).
func GaleraProvider() string {
	for _, p := range []string{
		"/usr/lib/galera/libgalera_smm.so",
		"/usr/lib/galera-4/libgalera_smm.so",
		"/usr/lib64/galera-4/libgalera_smm.so",
		"/usr/lib64/galera/libgalera_smm.so",
		"/usr/lib/libgalera_smm.so",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, g := range []string{"/usr/lib/*/galera*/libgalera_smm.so", "/usr/local/lib/galera*/libgalera_smm.so"} {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

// galeraState is a node's view of its cluster.
type galeraState struct {
	State         string // wsrep_local_state_comment
	ClusterStatus string // wsrep_cluster_status
	Ready         bool
	Size          int
	LastCommitted int64
}

func (g galeraState) synced() bool {
	return g.State == "Synced" && g.ClusterStatus == "Primary" && g.Ready
}

func galeraStatus(ctx context.Context, db *sql.DB) (galeraState, error) {
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN "+
		"('wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_ready', 'wsrep_cluster_size', 'wsrep_last_committed')")
	if err != nil {
		return galeraState{}, err
	}
	defer func() { _ = rows.Close() }()
	var g galeraState
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return g, err
		}
		switch strings.ToLower(k) {
		case "wsrep_local_state_comment":
			g.State = v
		case "wsrep_cluster_status":
			g.ClusterStatus = v
		case "wsrep_ready":
			g.Ready = v == "ON"
		case "wsrep_cluster_size":
			g.Size, _ = strconv.Atoi(v)
		case "wsrep_last_committed":
			g.LastCommitted, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return g, rows.Err()
}

func (d *Driver) ensureGalera(ctx context.Context, c *engine.Cluster, nodes []*node, user map[string]string) error {
	if GaleraProvider() == "" {
		return fmt.Errorf("cluster %s: the Galera library (libgalera_smm.so) is not installed", c.ID)
	}
	if err := d.ensureGaleraTLS(c, nodes); err != nil {
		return err
	}
	cfgs := map[*node]serverConfig{}
	for _, n := range nodes {
		cfgs[n] = d.configFor(c, n, user, nodes)
		if err := d.writeConfig(n, cfgs[n]); err != nil {
			return err
		}
	}
	// A server running without Galera (a single server growing into a
	// cluster) restarts as a member. Members running without TLS (started
	// before Galera's traffic was encrypted) restart all at once: members
	// with and without TLS cannot talk, so a rolling restart would split
	// the cluster.
	var plain []*node
	for _, n := range nodes {
		if serverPID(n) == 0 {
			continue
		}
		switch {
		case n.st.Applied["wsrep_on"] != "ON":
			if err := d.stopNode(ctx, n, stopGrace); err != nil {
				return err
			}
		case !d.plainGalera && !strings.Contains(n.st.Applied["wsrep_provider_options"], "socket.ssl=YES"):
			plain = append(plain, n)
		}
	}
	if len(plain) > 0 {
		d.log.Warn("restarting the Galera cluster with TLS", "datastore_id", c.ID, "nodes", len(plain))
		// The MASTER node last, so that it is the one safe to bootstrap.
		sort.SliceStable(plain, func(i, j int) bool { return plain[j].Role == engine.RoleMaster && plain[i].Role != engine.RoleMaster })
		for _, n := range plain {
			if err := d.stopNode(ctx, n, stopGrace); err != nil {
				return err
			}
		}
	}
	if d.newGaleraCluster(c, nodes) {
		return d.startNewGalera(ctx, c, nodes, cfgs)
	}
	if err := d.ensurePrimaryComponent(ctx, c, nodes, cfgs); err != nil {
		return err
	}
	// Every other node joins, one at a time. A node whose data is a
	// template copy that never was in the cluster (it did not start with
	// the others) holds no position a donor could continue from: it
	// starts empty and receives a full state transfer.
	var restarts []*node
	for _, n := range nodes {
		if n.st.Seeded && serverPID(n) == 0 {
			if err := n.r.RemoveAll(n.dataDir()); err != nil {
				return err
			}
		}
		seed := func(ctx context.Context) error { return n.r.MkdirAll(n.dataDir(), 0o700) }
		restart, err := d.ensureServer(ctx, c, n, cfgs[n], true, seed)
		if err != nil {
			return err
		}
		if n.st.Seeded {
			n.st.Seeded = false
			if err := d.saveState(n); err != nil {
				return err
			}
		}
		if restart {
			restarts = append(restarts, n)
		}
	}
	// Rolling restart for variables that are not dynamic.
	for _, n := range restarts {
		if err := d.restartServer(ctx, c, n, cfgs[n].merged(), true); err != nil {
			return err
		}
	}
	return nil
}

// ensurePrimaryComponent makes sure some node runs in a primary component:
// it keeps a running one, revives a running non-primary one, or bootstraps
// the most advanced node from disk.
func (d *Driver) ensurePrimaryComponent(ctx context.Context, c *engine.Cluster, nodes []*node, cfgs map[*node]serverConfig) error {
	desired := map[string]bool{}
	for _, n := range nodes {
		desired[filepath.Clean(n.Dir)] = true
	}
	all := append(append([]*node{}, nodes...), d.undesiredNodes(nodes[0].r, c, desired)...)
	var stranded []*node    // running, answering, but not in a primary component
	var unanswering []*node // running but not answering (a joiner without donor)
	var lastCommitted = map[*node]int64{}
	for _, n := range all {
		pid := serverPID(n)
		if pid == 0 {
			continue
		}
		db := connect(c, n)
		g, err := galeraStatus(ctx, db.DB)
		_ = db.Close()
		if err != nil {
			unanswering = append(unanswering, n)
			continue
		}
		if g.ClusterStatus == "Primary" {
			return nil
		}
		stranded = append(stranded, n)
		lastCommitted[n] = g.LastCommitted
	}
	if len(stranded) > 0 {
		sort.SliceStable(stranded, func(i, j int) bool { return lastCommitted[stranded[i]] > lastCommitted[stranded[j]] })
		n := stranded[0]
		d.log.Warn("no primary component: bootstrapping from the most advanced running node", "datastore_id", c.ID, "node", n.ID)
		db := connect(c, n)
		_, err := db.ExecContext(ctx, "SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'")
		_ = db.Close()
		if err != nil {
			return sqlErr("node "+n.ID+": pc.bootstrap", err)
		}
		return d.waitReady(ctx, c, n, 0, true)
	}

	// Nothing runs in a primary component: bootstrap from disk. A node
	// that runs but does not answer waits for a donor that does not
	// exist; it is stopped first.
	for _, n := range unanswering {
		if err := d.stopNode(ctx, n, stopGrace); err != nil {
			return err
		}
	}
	boot, pos, err := d.mostAdvanced(ctx, c, nodes)
	if err != nil {
		return err
	}
	if boot == nil {
		// A new cluster: the MASTER node (or the first) from the template.
		boot = nodes[0]
		if m := c.Master(); m != nil {
			for _, n := range nodes {
				if n.ID == m.ID {
					boot = n
				}
			}
		}
		if err := d.seedFromTemplate(ctx, c.AdminPassword, boot); err != nil {
			return err
		}
	} else if err := d.setSafeToBootstrap(boot); err != nil {
		return err
	}
	d.log.Info("bootstrapping Galera cluster", "datastore_id", c.ID, "node", boot.ID, "position", pos)
	boot.st.Applied = cfgs[boot].merged()
	if err := d.saveState(boot); err != nil {
		return err
	}
	return d.startServer(ctx, c, boot, true, "--wsrep-new-cluster")
}

// newGaleraCluster reports whether the cluster is new: none of its nodes
// runs, and none has data other than a template copy that never started
// (a node left on disk that is no longer desired must have none).
func (d *Driver) newGaleraCluster(c *engine.Cluster, nodes []*node) bool {
	desired := map[string]bool{}
	for _, n := range nodes {
		desired[filepath.Clean(n.Dir)] = true
		if serverPID(n) > 0 || n.hasData() && !n.st.Seeded {
			return false
		}
	}
	for _, n := range d.undesiredNodes(nodes[0].r, c, desired) {
		if n.hasData() || serverPID(n) > 0 {
			return false
		}
	}
	return true
}

// startNewGalera starts a new cluster with every node at once, none of
// them waiting for another. Each node gets a copy of the template and the
// same saved Galera state: one state UUID at seqno 0 (grastate.dat), and a
// primary component of all the nodes as the last one they were in
// (gvwstate.dat, with the node's own member ID). Galera then restores that
// primary component as soon as every member is up (pc.recovery), and as
// every member has the same data at the same position, none needs a state
// transfer.
func (d *Driver) startNewGalera(ctx context.Context, c *engine.Cluster, nodes []*node, cfgs map[*node]serverConfig) error {
	state := uuid.NewString()
	members := make([]string, len(nodes))
	for i := range nodes {
		members[i] = uuid.NewString()
	}
	d.log.Info("starting a new Galera cluster", "datastore_id", c.ID, "nodes", len(nodes))
	err := proc.Parallel(nodes, func(n *node) error {
		if err := d.seedFromTemplate(ctx, c.AdminPassword, n); err != nil {
			return err
		}
		i := slices.Index(nodes, n)
		if err := writeGrastate(n, state, 0, false); err != nil {
			return err
		}
		if err := writeGvwstate(n, members[i], members); err != nil {
			return err
		}
		n.st.Applied = cfgs[n].merged()
		n.st.Seeded = true
		if err := d.saveState(n); err != nil {
			return err
		}
		if err := d.startServer(ctx, c, n, true); err != nil {
			return err
		}
		n.st.Seeded = false
		return d.saveState(n)
	})
	if err != nil {
		return fmt.Errorf("start new Galera cluster: %w", err)
	}
	return nil
}

// writeGrastate gives a node's data directory a Galera state.
func writeGrastate(n *node, state string, seqno int64, safeToBootstrap bool) error {
	_, err := n.r.WriteFile(filepath.Join(n.dataDir(), "grastate.dat"), GrastateFile(state, seqno, safeToBootstrap), 0o660)
	return err
}

// GrastateFile is the content of a grastate.dat: the Galera state (cluster
// state UUID, position) a node starts from.
func GrastateFile(state string, seqno int64, safeToBootstrap bool) []byte {
	safe := 0
	if safeToBootstrap {
		safe = 1
	}
	return fmt.Appendf(nil, "# GALERA saved state\nversion: 2.1\nuuid:    %s\nseqno:   %d\nsafe_to_bootstrap: %d\n", state, seqno, safe)
}

// writeGvwstate gives a node's data directory a saved primary component of
// members, the node being self.
func writeGvwstate(n *node, self string, members []string) error {
	_, err := n.r.WriteFile(filepath.Join(n.dataDir(), "gvwstate.dat"), GvwstateFile(self, members), 0o660)
	return err
}

// GvwstateFile is the content of a gvwstate.dat: a saved primary
// component of members, the node being self. Nodes that all start with
// it restore that component once they all see each other, with no node
// bootstrapping.
func GvwstateFile(self string, members []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "my_uuid: %s\n#vwbeg\nview_id: 3 %s 1\nbootstrap: 0\n", self, members[0])
	for _, m := range members {
		fmt.Fprintf(&b, "member: %s 0\n", m)
	}
	b.WriteString("#vwend\n")
	return []byte(b.String())
}

// grastate is a node's saved Galera state (grastate.dat).
type grastate struct {
	UUID            string
	Seqno           int64
	SafeToBootstrap bool
	exists          bool
}

func readGrastate(n *node) grastate {
	b, err := os.ReadFile(filepath.Join(n.dataDir(), "grastate.dat"))
	if err != nil {
		return grastate{Seqno: -1}
	}
	g := grastate{Seqno: -1, exists: true}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "uuid":
			g.UUID = v
		case "seqno":
			g.Seqno, _ = strconv.ParseInt(v, 10, 64)
		case "safe_to_bootstrap":
			g.SafeToBootstrap = v == "1"
		}
	}
	return g
}

func (d *Driver) setSafeToBootstrap(n *node) error {
	p := filepath.Join(n.dataDir(), "grastate.dat")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil // no Galera state yet: nothing forbids bootstrapping
	}
	re := regexp.MustCompile(`(?m)^safe_to_bootstrap:.*$`)
	out := re.ReplaceAll(b, []byte("safe_to_bootstrap: 1"))
	_, err = n.r.WriteFile(p, out, 0o660)
	return err
}

var recoveredRe = regexp.MustCompile(`Recovered position:\s*([0-9a-fA-F-]+):(-?[0-9]+)`)

// wsrepRecover asks a stopped node's storage engine for its position.
func (d *Driver) wsrepRecover(ctx context.Context, n *node) (int64, error) {
	bin, err := proc.FindBinary("mariadbd")
	if err != nil {
		return -1, err
	}
	logf := filepath.Join(n.logDir(), "wsrep-recover.log")
	_ = n.r.Remove(logf)
	out, err := run(ctx, n.r, n.Dir, nil, bin, "--defaults-file="+n.cnfPath(), "--wsrep-recover", "--log-error="+logf)
	b, _ := os.ReadFile(logf)
	if m := recoveredRe.FindSubmatch(append(b, out...)); m != nil {
		return strconv.ParseInt(string(m[2]), 10, 64)
	}
	if err != nil {
		return -1, fmt.Errorf("node %s: wsrep recovery: %w: %s", n.ID, err, tailLines(string(b), 3))
	}
	return -1, nil
}

// mostAdvanced picks the node to bootstrap a stopped cluster from: the one
// with the highest committed position among those with data (nil when no
// node has data).
func (d *Driver) mostAdvanced(ctx context.Context, c *engine.Cluster, nodes []*node) (*node, int64, error) {
	type cand struct {
		n    *node
		pos  int64
		safe bool
	}
	var cands []cand
	for _, n := range nodes {
		if !n.hasData() || n.st.Seeded {
			continue // a template copy that never started holds nothing of the cluster
		}
		g := readGrastate(n)
		pos := g.Seqno
		if g.exists && pos < 0 {
			p, err := d.wsrepRecover(ctx, n)
			if err != nil {
				return nil, 0, err
			}
			pos = p
		}
		cands = append(cands, cand{n, pos, g.SafeToBootstrap})
	}
	if len(cands) == 0 {
		return nil, 0, nil
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.pos != b.pos {
			return a.pos > b.pos
		}
		if a.safe != b.safe {
			return a.safe
		}
		return a.n.Role == engine.RoleMaster && b.n.Role != engine.RoleMaster
	})
	return cands[0].n, cands[0].pos, nil
}
