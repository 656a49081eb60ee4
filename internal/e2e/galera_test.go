package e2e_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/intruder"
)

// TestGaleraRefusesIntruder is the attack of a local user of the machine
// on a Galera datastore's group communication: with no account of the
// datastore and no password, the user finds the cluster's listening ports
// (every user may read /proc/net/tcp, which names each socket's owner),
// takes the cluster's name (dbaasd-<datastore ID>, which the API shows),
// and starts a mariadbd of its own that asks to join as a fourth node —
// once in the clear, once with TLS and a certificate of its own making. It
// must be refused: the cluster stays at three members, the intruder's
// server receives none of the tenant's data, what it writes reaches no
// node, and the API still shows three nodes.
func TestGaleraRefusesIntruder(t *testing.T) {
	if testing.Short() {
		t.Skip("engines")
	}
	if os.Geteuid() != 0 {
		t.Skip("acting as another local user needs root")
	}
	provider := galeraLibrary(t)
	t.Parallel()
	e := at.Start(t, at.Options{Reconcile: true})
	ds := e.CreateDatastore(at.TokenA, "mysql", "galera-attacked", 3)
	r := e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", 4*wait)
	user := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "app", "password": "Secret-pass-1"}}).Str("user.id")
	db := at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "secretdb"}}).Str("database.id")
	e.WaitStatus(at.TokenA, "/v1/users/"+user, "user", "ACTIVE", wait)
	e.WaitStatus(at.TokenA, "/v1/databases/"+db, "database", "ACTIVE", wait)
	grant := at.MustPost(t, e, "/v1/grants", map[string]any{"grant": map[string]any{"datastore_id": ds, "database_id": db, "user_id": user}}).Str("grant.id")
	e.WaitStatus(at.TokenA, "/v1/grants/"+grant, "grant", "ACTIVE", wait)
	app := mustMy(t, r.Str("datastore.connection.master"), "app", "Secret-pass-1", "secretdb")
	secret := "tenant-secret-" + hex.EncodeToString(randomBytes(t, 8))
	for _, q := range []string{"CREATE TABLE t (v VARCHAR(64) PRIMARY KEY)", "INSERT INTO t VALUES ('" + secret + "')"} {
		if _, err := app.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	clientPorts := map[int]bool{}
	var nodeAddrs []string
	for _, v := range r.Get("datastore.connection").(map[string]any) {
		// The API answers with the client address of each node.
		addr := v.(string)
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("connection address %q: %v", addr, err)
		}
		p, _ := strconv.Atoi(port)
		clientPorts[p] = true
		nodeAddrs = append(nodeAddrs, addr)
	}
	if len(nodeAddrs) != 3 {
		t.Fatalf("connection addresses %v, want 3", nodeAddrs)
	}

	// The attacker's reconnaissance: every TCP port the datastore's OS
	// account listens on, except the client ports, is a group
	// communication port (state transfer ports open only during a join).
	account := intruder.Lookup(t, proc.AccountName(ds))
	var targets []string
	for _, p := range listeningPorts(t, account.UID) {
		if !clientPorts[p] {
			targets = append(targets, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		}
	}
	if len(targets) < 3 {
		t.Fatalf("found %d group communication ports of %s (%v), want 3", len(targets), account.Name, targets)
	}
	t.Logf("group communication ports found: %v", targets)

	local := intruder.NewLocalUser(t)
	home := intruder.HomeDir(t, local)

	// The cluster's CA key is dbaasd's: not even the cluster's own account
	// reads it; each node's key is that account's, and nobody else's.
	caFile := filepath.Join(e.DataDir, "clusters", ds, "ca", "ca.pem")
	if _, err := os.Stat(caFile); err != nil {
		t.Fatalf("the cluster has no CA: %v", err)
	}
	nodeKeys, _ := filepath.Glob(filepath.Join(e.DataDir, "clusters", ds, "nodes", "*", "tls", "node.key"))
	if len(nodeKeys) != 3 {
		t.Fatalf("node keys %v, want 3", nodeKeys)
	}
	var keyReads []intruder.Attempt
	for _, k := range nodeKeys {
		keyReads = append(keyReads, intruder.Attempt{Kind: intruder.Read, Target: k})
	}
	caReads := []intruder.Attempt{{Kind: intruder.Read, Target: caFile}, {Kind: intruder.List, Target: filepath.Dir(caFile)}}
	intruder.Allowed(t, account, keyReads)
	intruder.Denied(t, account, caReads)
	intruder.Denied(t, local, append(caReads, keyReads...))
	clusterName := "dbaasd-" + ds
	if len(clusterName) > 31 {
		clusterName = clusterName[:31]
	}
	clusterSize := func() (string, error) {
		var name, v string
		err := app.QueryRow("SHOW STATUS LIKE 'wsrep_cluster_size'").Scan(&name, &v)
		return v, err
	}

	for _, attempt := range []string{"plain", "own-ca"} {
		t.Run(attempt, func(t *testing.T) {
			dir := filepath.Join(home, attempt)
			asUser(t, local, "mkdir", "-m", "0700", dir)
			asUser(t, local, "mariadb-install-db", "--no-defaults", "--datadir="+filepath.Join(dir, "data"),
				"--auth-root-authentication-method=socket", "--skip-test-db", "--skip-name-resolve")
			free := func() int { return freePort(t) }
			opts := fmt.Sprintf("gmcast.listen_addr=tcp://127.0.0.1:%d;ist.recv_addr=127.0.0.1:%d;pc.wait_prim_timeout=PT45S", free(), free())
			if attempt == "own-ca" {
				opts += ";" + selfMadeTLS(t, local, dir)
			}
			cnf := strings.Join([]string{
				"[mysqld]",
				"datadir=" + filepath.Join(dir, "data"),
				"socket=" + filepath.Join(dir, "s"),
				"pid_file=" + filepath.Join(dir, "pid"),
				"log_error=" + filepath.Join(dir, "error.log"),
				"tmpdir=" + dir,
				"bind_address=127.0.0.1",
				fmt.Sprintf("port=%d", free()),
				"skip_name_resolve=ON",
				"binlog_format=ROW",
				"innodb_autoinc_lock_mode=2",
				"wsrep_on=ON",
				"wsrep_provider=" + provider,
				"wsrep_cluster_name=" + clusterName,
				"wsrep_cluster_address=gcomm://" + strings.Join(targets, ","),
				"wsrep_node_name=intruder",
				"wsrep_node_address=127.0.0.1",
				fmt.Sprintf("wsrep_sst_receive_address=127.0.0.1:%d", free()),
				"wsrep_sst_method=rsync",
				`wsrep_provider_options="` + opts + `"`,
				"",
			}, "\n")
			writeAs(t, local, filepath.Join(dir, "my.cnf"), cnf)
			srv := intruder.Command(t, local, "mariadbd", "--defaults-file="+filepath.Join(dir, "my.cnf"))
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = srv.Wait(); close(exited) }()
			t.Cleanup(func() {
				_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
				<-exited
			})

			// Watch the cluster until the intruder gives up (no primary
			// component found) or joins.
			joined := ""
			deadline := time.After(3 * time.Minute)
		watch:
			for {
				if v, err := clusterSize(); err != nil {
					t.Fatalf("cluster size: %v", err)
				} else if v != "3" {
					joined = "wsrep_cluster_size became " + v
				}
				if out, err := asUserOutput(local, "mariadb", "--no-defaults", "--socket="+filepath.Join(dir, "s"), "-N", "-e",
					"SHOW STATUS LIKE 'wsrep_local_state_comment'"); err == nil && strings.Contains(out, "Synced") {
					joined = "its server reports " + strings.TrimSpace(out)
				}
				if joined != "" {
					break
				}
				select {
				case <-exited:
					break watch
				case <-deadline:
					break watch
				case <-time.After(500 * time.Millisecond):
				}
			}
			logTail, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("intruder's error log ends: %s", tail(string(logTail), 12))
			if joined != "" {
				t.Errorf("an intruder without the cluster's key joined: %s", joined)
			}
			// What it writes reaches no node.
			_, _ = asUserOutput(local, "mariadb", "--no-defaults", "--socket="+filepath.Join(dir, "s"), "-e",
				"INSERT INTO secretdb.t VALUES ('written by an intruder')")
			_ = syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
			<-exited
			for _, addr := range nodeAddrs {
				c := mustMy(t, addr, "app", "Secret-pass-1", "secretdb")
				var n int
				if err := c.QueryRow("SELECT COUNT(*) FROM t WHERE v = 'written by an intruder'").Scan(&n); err != nil || n != 0 {
					t.Errorf("node %s: the intruder's row is there (%d, %v)", addr, n, err)
				}
			}
			// It received none of the tenant's data.
			if _, err := os.Stat(filepath.Join(dir, "data", "secretdb")); err == nil {
				t.Error("the intruder's data directory holds the tenant's database")
			}
			if f := fileContaining(t, filepath.Join(dir, "data"), secret); f != "" {
				t.Errorf("the intruder's file %s holds the tenant's row", f)
			}
		})
	}

	if v, err := clusterSize(); err != nil || v != "3" {
		t.Errorf("wsrep_cluster_size = %q (%v), want 3", v, err)
	}
	r = e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", "ACTIVE", wait)
	if n := len(r.Get("datastore.instances").([]any)); n != 3 {
		t.Errorf("the API shows %d nodes, want 3", n)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func galeraLibrary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/galera/libgalera_smm.so", "/usr/lib/galera-4/libgalera_smm.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("Galera is not installed")
	return ""
}

func asUser(t *testing.T, u intruder.User, name string, args ...string) {
	t.Helper()
	cmd := intruder.Command(t, u, name, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s as %s: %v: %s", name, u.Name, err, tail(string(out), 10))
	}
}

func asUserOutput(u intruder.User, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "USER=" + u.Name}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeAs writes a file the user owns, 0600.
func writeAs(t *testing.T, u intruder.User, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
}

// selfMadeTLS gives the intruder a CA and a certificate of its own and
// returns the Galera options that use them.
func selfMadeTLS(t *testing.T, u intruder.User, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "intruder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	crt := filepath.Join(dir, "cert.pem")
	kf := filepath.Join(dir, "key.pem")
	writeAs(t, u, crt, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeAs(t, u, kf, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	return "socket.ssl=YES;socket.ssl_key=" + kf + ";socket.ssl_cert=" + crt + ";socket.ssl_ca=" + crt
}

// fileContaining returns a file under root whose content holds s, or "".
func fileContaining(t *testing.T, root, s string) string {
	t.Helper()
	found := ""
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || found != "" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = p
			return errors.New("found")
		}
		return nil
	})
	return found
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
