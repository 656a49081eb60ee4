package barestart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine/mysql"
)

// galera is one new Galera cluster of bare MariaDB servers, started the
// way dbaasd starts a new cluster but by hand: each node on a copy of
// dbaasd's template, all with the same Galera state and a saved primary
// component of all of them (so that no node bootstraps and none needs a
// state transfer), with dbaasd's group communication timers and the
// smallest gcache dbaasd gives. Unlike dbaasd's nodes they talk plain TCP,
// not TLS. A node counts as started once it is synced in a primary
// component.
type galera struct {
	provider string
	state    string
	members  []string // each node's own UUID
	peers    []string // each node's group communication address
	nodes    []galeraNode
}

// galeraNode is one node's ports.
type galeraNode struct{ port, gcomm, ist, sst int }

// newGalera picks the identities and ports of an n-node cluster.
func newGalera(n int, o Options) (*galera, error) {
	g := &galera{provider: mysql.GaleraProvider(), state: uuid.NewString(), nodes: make([]galeraNode, n)}
	if g.provider == "" {
		return nil, errors.New("bare galera: libgalera_smm.so is not installed")
	}
	if o.Template == "" {
		return nil, errors.New("bare galera: needs dbaasd's MariaDB template")
	}
	for i := range g.nodes {
		nd := &g.nodes[i]
		for _, p := range []*int{&nd.port, &nd.gcomm, &nd.ist, &nd.sst} {
			var err error
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		}
		g.members = append(g.members, uuid.NewString())
		g.peers = append(g.peers, addr(nd.gcomm))
	}
	return g, nil
}

// start starts node i in o.Dir (StartAtOnce's start function).
func (g *galera) start(ctx context.Context, i int, o Options) (*Server, error) {
	r, nd := o.Runner, g.nodes[i]
	if err := r.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	return startMariaDBNode(ctx, o, mariadbNode{
		port: nd.port,
		args: []string{"--innodb-autoinc-lock-mode=2", "--wsrep-on=ON", "--wsrep-provider=" + g.provider,
			"--wsrep-cluster-name=bare-galera", "--wsrep-cluster-address=gcomm://" + strings.Join(g.peers, ","),
			"--wsrep-node-address=127.0.0.1", "--wsrep-sst-method=rsync", "--wsrep-sst-receive-address=" + addr(nd.sst),
			"--wsrep-provider-options=gmcast.listen_addr=tcp://" + addr(nd.gcomm) + ";ist.recv_addr=" + addr(nd.ist) +
				";gcache.size=32M;" + mysql.GaleraMembershipTimers},
		prepare: func(data string) error {
			if _, err := r.WriteFile(filepath.Join(data, "grastate.dat"), mysql.GrastateFile(g.state, 0, false), 0o660); err != nil {
				return err
			}
			_, err := r.WriteFile(filepath.Join(data, "gvwstate.dat"), mysql.GvwstateFile(g.members[i], g.members), 0o660)
			return err
		},
		ready: synced,
	})
}

// synced succeeds once the server is a synced member of a primary
// component.
func synced(ctx context.Context, db *sql.DB) error {
	status := map[string]string{}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', 'wsrep_local_state_comment')")
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		status[k] = v
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if status["wsrep_cluster_status"] != "Primary" || status["wsrep_local_state_comment"] != "Synced" {
		return fmt.Errorf("cluster status %q, state %q", status["wsrep_cluster_status"], status["wsrep_local_state_comment"])
	}
	return nil
}
