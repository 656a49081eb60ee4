package barestart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/engine/mysql"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// startGalera starts n mariadbd nodes of one new Galera cluster at the same
// time, the way dbaasd starts a new cluster but by hand: each on a copy of
// dbaasd's template (o.Template), all with the same Galera state and a
// saved primary component of all of them (so that no node bootstraps and
// none needs a state transfer), with dbaasd's group communication timers
// and the smallest gcache dbaasd gives. Unlike dbaasd's nodes they talk
// plain TCP, not TLS. It returns once every node is synced in a primary
// component of n.
func startGalera(ctx context.Context, n int, o Options) ([]*Server, time.Duration, error) {
	provider := mysql.GaleraProvider()
	if provider == "" {
		return nil, 0, errors.New("bare galera: libgalera_smm.so is not installed")
	}
	if o.Template == "" {
		return nil, 0, errors.New("bare galera: needs dbaasd's MariaDB template")
	}
	mariadbd, err := proc.FindBinary("mariadbd")
	if err != nil {
		return nil, 0, err
	}
	type node struct {
		dir, self             string
		port, gcomm, ist, sst int
	}
	nodes := make([]node, n)
	members := make([]string, n)
	var peers []string
	for i := range nodes {
		nd := &nodes[i]
		nd.dir, nd.self = filepath.Join(o.Dir, strconv.Itoa(i)), uuid.NewString()
		for _, p := range []*int{&nd.port, &nd.gcomm, &nd.ist, &nd.sst} {
			if *p, err = freePort(); err != nil {
				return nil, 0, err
			}
		}
		members[i] = nd.self
		peers = append(peers, addr(nd.gcomm))
	}
	state := uuid.NewString()
	r := o.Runner
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	t := time.Now()
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nd := nodes[i]
			servers[i], errs[i] = func() (*Server, error) {
				data := filepath.Join(nd.dir, "data")
				if err := r.MkdirAll(nd.dir, 0o700); err != nil {
					return nil, err
				}
				if err := r.CopyTree(o.Template, data); err != nil {
					return nil, err
				}
				if _, err := r.WriteFile(filepath.Join(data, "grastate.dat"), mysql.GrastateFile(state, 0, false), 0o660); err != nil {
					return nil, err
				}
				if _, err := r.WriteFile(filepath.Join(data, "gvwstate.dat"), mysql.GvwstateFile(nd.self, members), 0o660); err != nil {
					return nil, err
				}
				sock := filepath.Join(nd.dir, "mysqld.sock")
				logPath := filepath.Join(nd.dir, "mariadbd.log")
				pid, err := r.StartDaemon(mariadbd, []string{"--no-defaults", "--datadir=" + data,
					"--port=" + strconv.Itoa(nd.port), "--bind-address=127.0.0.1", "--socket=" + sock,
					"--pid-file=" + filepath.Join(nd.dir, "mariadbd.pid"), "--skip-name-resolve", "--log-error=" + logPath,
					"--innodb-log-file-size=32M", "--innodb-buffer-pool-size=128M", "--log-bin=binlog",
					"--binlog-format=ROW", "--server-id=1", "--performance-schema=OFF", "--tmpdir=" + nd.dir,
					"--innodb-autoinc-lock-mode=2", "--wsrep-on=ON", "--wsrep-provider=" + provider,
					"--wsrep-cluster-name=bare-galera", "--wsrep-cluster-address=gcomm://" + strings.Join(peers, ","),
					"--wsrep-node-address=127.0.0.1", "--wsrep-sst-method=rsync",
					"--wsrep-sst-receive-address=" + addr(nd.sst),
					"--wsrep-provider-options=gmcast.listen_addr=tcp://" + addr(nd.gcomm) + ";ist.recv_addr=" + addr(nd.ist) +
						";gcache.size=32M;" + mysql.GaleraMembershipTimers,
				}, nd.dir, filepath.Join(nd.dir, "stdout.log"))
				if err != nil {
					return nil, fmt.Errorf("bare galera: %w", err)
				}
				s := &Server{Engine: "galera", Dir: nd.dir, Port: nd.port, PID: pid, stop: terminate(pid)}
				db, err := sql.Open("mysql", "root@unix("+sock+")/?timeout=2s")
				if err != nil {
					return s, err
				}
				defer func() { _ = db.Close() }()
				return s, poll(ctx, 2*time.Minute, "bare galera node", func(ctx context.Context) error {
					if !proc.Alive(pid) {
						return fmt.Errorf("mariadbd exited: %s", logTail(logPath))
					}
					var name, status, comment string
					if err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'").Scan(&name, &status); err != nil {
						return err
					}
					if err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'").Scan(&name, &comment); err != nil {
						return err
					}
					if status != "Primary" || comment != "Synced" {
						return fmt.Errorf("cluster status %s, state %s", status, comment)
					}
					return nil
				})
			}()
		}()
	}
	wg.Wait()
	took := time.Since(t)
	if err := errors.Join(errs...); err != nil {
		for _, s := range servers {
			_ = s.Stop(context.WithoutCancel(ctx))
		}
		return nil, 0, err
	}
	return servers, took, nil
}
