package mysql

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/pki"
)

// Galera's traffic between the nodes of a cluster — group communication
// (gcomm), incremental state transfers (IST) and full state transfers
// (SST: rsync, through stunnel) — is encrypted and authenticated with TLS.
// Each cluster has a certificate authority of its own that dbaasd
// generates (ECDSA P-256), and each node a key and a certificate signed by
// it. Both ends of every connection present their certificate and check
// the other's against the cluster's CA (Galera's socket.ssl; stunnel's
// verifyChain on the SST client and server), so a process without a key
// of the cluster — a local user's mariadbd started with the cluster's name
// and a node's address, or another datastore's node — can neither join
// nor receive data nor write. Certificates name no host: the CA is the
// cluster's alone, so being signed by it is what proves membership.
//
// Files:
//
//	<cluster dir>/ca/ca.pem   the CA's certificate and key: dbaasd's own
//	                          (owner root, directory 0700, file 0600); the
//	                          cluster's OS account cannot read it, the other
//	                          datastores cannot reach it at all
//	<node dir>/tls/ca.crt     the CA's certificate       (the cluster's OS
//	<node dir>/tls/node.crt   the node's certificate      account's, 0600, in
//	<node dir>/tls/node.key   the node's private key      a 0700 directory)
//
// The CA directory lies inside the cluster's directory, which the cluster's
// account owns and so could change: dbaasd opens it relative to the
// cluster directory without following links and uses it only while it is
// still dbaasd's own private directory.

const (
	caDirName = "ca"
	caFile    = "ca.pem"
	// caLifetime and nodeLifetime are the validity of new certificates; a
	// node's certificate is renewed (signed by the same CA, so its peers
	// keep trusting it) when less than nodeRenewBefore is left.
	caLifetime      = 50 * 365 * 24 * time.Hour
	nodeLifetime    = 10 * 365 * 24 * time.Hour
	nodeRenewBefore = 180 * 24 * time.Hour
)

func (n *node) tlsDir() string        { return filepath.Join(n.Dir, "tls") }
func (n *node) tlsCA() string         { return filepath.Join(n.tlsDir(), "ca.crt") }
func (n *node) tlsCert() string       { return filepath.Join(n.tlsDir(), "node.crt") }
func (n *node) tlsKey() string        { return filepath.Join(n.tlsDir(), "node.key") }
func caPath(c *engine.Cluster) string { return filepath.Join(c.Dir, caDirName, caFile) }

// ensureGaleraTLS makes sure the cluster has its CA and every node a valid
// key and certificate of it.
func (d *Driver) ensureGaleraTLS(c *engine.Cluster, nodes []*node) error {
	ca, err := loadOrCreateCA(c)
	if err != nil {
		return fmt.Errorf("cluster %s: Galera CA: %w", c.ID, err)
	}
	for _, n := range nodes {
		if err := d.ensureNodeCert(c, ca, n); err != nil {
			return fmt.Errorf("node %s: Galera certificate: %w", n.ID, err)
		}
	}
	return nil
}

// openCADir opens the cluster's CA directory, creating it, and checks
// that it is a directory of dbaasd's own that no one else can use.
func openCADir(c *engine.Cluster) (int, error) {
	dfd, err := unix.Open(c.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", c.Dir, err)
	}
	defer func() { _ = unix.Close(dfd) }()
	if err := unix.Mkdirat(dfd, caDirName, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("create %s: %w", filepath.Join(c.Dir, caDirName), err)
	}
	fd, err := unix.Openat(dfd, caDirName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", filepath.Join(c.Dir, caDirName), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	if int(st.Uid) != os.Geteuid() || st.Mode&0o077 != 0 {
		_ = unix.Close(fd)
		return -1, fmt.Errorf("%s is not dbaasd's private directory (owner %d, mode %#o): it was replaced; "+
			"remove it only if the cluster's nodes are to get new certificates", filepath.Join(c.Dir, caDirName), st.Uid, st.Mode&0o7777)
	}
	return fd, nil
}

// loadOrCreateCA reads the cluster's CA, or generates it when there is
// none.
func loadOrCreateCA(c *engine.Cluster) (*pki.CA, error) {
	fd, err := openCADir(c)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unix.Close(fd) }()
	b, err := readAt(fd, caFile)
	if err == nil {
		return pki.ParseCA(b)
	}
	if !errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("read %s: %w", caPath(c), err)
	}
	ca, err := pki.NewCA("Galera CA of datastore "+c.ID, time.Now(), caLifetime)
	if err != nil {
		return nil, err
	}
	pemBytes, err := ca.PEM()
	if err != nil {
		return nil, err
	}
	if err := writeAt(fd, caFile, pemBytes); err != nil {
		return nil, fmt.Errorf("write %s: %w", caPath(c), err)
	}
	return ca, nil
}

// readAt reads a regular file in the directory fd without following a link.
func readAt(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer func() { _ = f.Close() }() // read only
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// writeAt writes a 0600 file in the directory fd atomically (a temporary
// file renamed into place).
func writeAt(dirfd int, name string, data []byte) error {
	tmp := name + ".tmp"
	_ = unix.Unlinkat(dirfd, tmp, 0)
	fd, err := unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), tmp)
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return unix.Renameat(dirfd, tmp, dirfd, name)
}

// ensureNodeCert gives a node the CA's certificate and a key and
// certificate of its own, unless it has valid ones.
func (d *Driver) ensureNodeCert(c *engine.Cluster, ca *pki.CA, n *node) error {
	if err := n.r.MkdirAll(n.tlsDir(), 0o700); err != nil {
		return err
	}
	if haveCA, err := n.r.ReadFile(n.tlsCA()); err != nil || !bytes.Equal(haveCA, ca.CertPEM) {
		if _, err := n.r.WriteFile(n.tlsCA(), ca.CertPEM, 0o600); err != nil {
			return err
		}
	}
	leaf := nodeLeaf(n)
	if nodeCertValid(ca, n, leaf) {
		return nil
	}
	d.log.Info("issuing a Galera certificate", "datastore_id", c.ID, "node", n.ID)
	crt, key, err := ca.Issue(leaf, time.Now())
	if err != nil {
		return err
	}
	// The key first: a crash in between leaves a certificate that does not
	// match it, which the next Ensure replaces.
	if _, err := n.r.WriteFile(n.tlsKey(), key, 0o600); err != nil {
		return err
	}
	_, err = n.r.WriteFile(n.tlsCert(), crt, 0o600)
	return err
}

// nodeLeaf describes a node's certificate. Its common name is also the
// user name of rsync state transfers: letters, digits and dashes only.
func nodeLeaf(n *node) pki.Leaf {
	l := pki.Leaf{
		CommonName: "node-" + certName(n.ID),
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		Lifetime:   nodeLifetime,
	}
	if ip := net.ParseIP(n.Host); ip != nil {
		l.IPs = []net.IP{ip}
	}
	return l
}

// nodeCertValid reports whether a node's key and certificate exist, match,
// are signed by the CA and stay valid for a while.
func nodeCertValid(ca *pki.CA, n *node, leaf pki.Leaf) bool {
	crt, err := n.r.ReadFile(n.tlsCert())
	if err != nil {
		return false
	}
	key, err := n.r.ReadFile(n.tlsKey())
	if err != nil {
		return false
	}
	return ca.Valid(crt, key, leaf, time.Now().Add(nodeRenewBefore))
}

// certName keeps the letters, digits and dashes of a node ID.
func certName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, id)
}

// galeraTLSOptions are the wsrep_provider_options that make a node use
// its key and certificate for group communication and IST.
func galeraTLSOptions(n *node) string {
	return "socket.ssl=YES;socket.ssl_key=" + n.tlsKey() + ";socket.ssl_cert=" + n.tlsCert() + ";socket.ssl_ca=" + n.tlsCA()
}

// sstTLSOptions are the [sst] options that make rsync state transfers go
// through stunnel with the node's key and certificate, each end checking
// the other's against the cluster's CA (VERIFY_CA: the joiner's stunnel
// asks the donor for its certificate, the donor's checks the joiner's).
func sstTLSOptions(n *node) map[string]string {
	return map[string]string{
		"ssl-mode": "VERIFY_CA",
		"ssl-ca":   n.tlsCA(),
		"ssl-cert": n.tlsCert(),
		"ssl-key":  n.tlsKey(),
	}
}
