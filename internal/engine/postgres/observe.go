package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// observeTimeout bounds how long a server may take to answer Observe.
const observeTimeout = time.Second

// Observe reports, for every desired node, whether its server runs and
// answers, its role (from pg_is_in_recovery), a replica's lag behind the
// primary in bytes, and whether its data outgrew the flavor's disk. It
// changes nothing and copes with servers that are down. It asks each
// server one query on a connection kept open for the next time (see
// onProbe), and measures data sizes only when they may have changed (see
// dataSize).
func (d *Driver) Observe(ctx context.Context, c *engine.Cluster) (engine.Observation, error) {
	var obs engine.Observation
	type probe struct {
		st     engine.NodeState
		lsn    uint64
		hasLSN bool
		size   int64
	}
	probes := make([]probe, len(c.Nodes))
	type answer struct {
		inRecovery bool
		lsn        uint64
		streaming  []string
		err        error
		asked      bool
	}
	answers := make([]answer, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		n := &c.Nodes[i]
		p := pathsOf(n)
		pr := &probes[i]
		pr.st = engine.NodeState{ID: n.ID, Role: engine.RoleUnknown, Status: engine.NodeDown}
		switch {
		case !hasData(p):
			pr.st.Detail = "the node has no data directory yet"
		case serverPID(p) == 0:
			pr.st.Detail = "the server is not running"
		default:
			// Ask every server at once, so Observe takes about
			// observeTimeout at worst, whatever the node count.
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := &answers[i]
				a.asked = true
				a.inRecovery, a.lsn, a.streaming, a.err = d.probeServer(ctx, c, p)
			}()
		}
	}
	wg.Wait()

	var primaryLSN uint64
	havePrimaryLSN := false
	streaming := map[string]bool{}
	limit := d.diskLimit(c)
	for i := range c.Nodes {
		a, pr := answers[i], &probes[i]
		switch {
		case !a.asked:
		case a.err != nil:
			pr.st.Detail = "the server does not answer: " + a.err.Error()
		default:
			pr.st.Status = engine.NodeActive
			pr.lsn, pr.hasLSN = a.lsn, a.lsn > 0
			pr.st.Position = a.lsn
			if a.inRecovery {
				pr.st.Role = engine.RoleReplica
				break
			}
			pr.st.Role = engine.RoleMaster
			if c.Nodes[i].Role == engine.RoleMaster {
				primaryLSN, havePrimaryLSN = a.lsn, true
				for _, app := range a.streaming {
					streaming[app] = true
				}
			}
		}
		if size, err := d.dataSize(pathsOf(&c.Nodes[i]), pr.lsn, limit); err == nil {
			pr.size = size
			obs.DiskUsedBytes = max(obs.DiskUsedBytes, size)
		}
	}

	for i := range c.Nodes {
		n := &c.Nodes[i]
		pr := &probes[i]
		if pr.st.Status != engine.NodeActive {
			continue
		}
		if pr.st.Role == engine.RoleReplica {
			if havePrimaryLSN && pr.hasLSN && primaryLSN > pr.lsn {
				pr.st.LagBytes = int64(primaryLSN - pr.lsn)
			}
			if havePrimaryLSN && !streaming[slotName(n.ID)] {
				pr.st.Detail = "not streaming from the primary"
			}
		}
		if limit > 0 && pr.size > limit {
			pr.st.Status = engine.NodeDiskFull
			pr.st.Detail = fmt.Sprintf("data uses %d bytes, more than the flavor's %d GB; the primary accepts only reads until it shrinks", pr.size, c.Flavor.DiskGB)
		}
	}
	for _, pr := range probes {
		obs.Nodes = append(obs.Nodes, pr.st)
	}
	if c.Pooler != nil {
		obs.Processes = append(obs.Processes, d.observePooler(c))
	}
	return obs, nil
}

// observePooler reports whether the cluster's PgBouncer runs (a repair
// starts it again when it does not).
func (d *Driver) observePooler(c *engine.Cluster) engine.ProcessState {
	ps := engine.ProcessState{Name: "pgbouncer", Detail: "pgbouncer is not running"}
	if d.runner != nil && poolerPID(d.runner.Existing(c.ID), poolerPathsOf(c)) > 0 {
		ps.Up, ps.Detail = true, ""
	}
	return ps
}

// probeServer asks a server, within observeTimeout and in one query on its
// probe connection, whether it is in recovery, its WAL position (received
// or replayed, whichever is further, on a replica; written on a primary)
// and, on a primary, which replicas stream from it.
func (d *Driver) probeServer(ctx context.Context, c *engine.Cluster, p nodePaths) (inRecovery bool, lsn uint64, streaming []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, observeTimeout)
	defer cancel()
	err = d.onProbe(ctx, c, p, func(conn *pgx.Conn) error {
		var pos *string
		if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery()
			THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text
			ELSE pg_current_wal_lsn()::text END,
			CASE WHEN pg_is_in_recovery() THEN '{}'::text[]
			ELSE ARRAY(SELECT application_name FROM pg_stat_replication WHERE state = 'streaming') END`,
			pgx.QueryExecModeSimpleProtocol).Scan(&inRecovery, &pos, &streaming); err != nil {
			return err
		}
		if pos != nil {
			lsn = parseLSN(*pos)
		}
		return nil
	})
	return inRecovery, lsn, streaming, err
}

// parseLSN reads a WAL position written as "16/B374D848"; 0 if malformed.
func parseLSN(s string) uint64 {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0
	}
	return h<<32 | l
}

// diskLimit is the size in bytes above which a node's disk counts as full
// (0 = no limit).
func (d *Driver) diskLimit(c *engine.Cluster) int64 {
	unit := d.opts.DiskBytesPerGB
	if unit <= 0 {
		unit = 1 << 30
	}
	return int64(c.Flavor.DiskGB) * unit
}
