package redis

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// forwarderConfig is the file a forwarder reads (forwarder.json); it holds
// no secret.
type forwarderConfig struct {
	// Routes are the addresses to accept on and where to forward to.
	Routes []forwardRoute `json:"routes"`
	// Allow lists the client addresses (IPs or CIDRs) let through; every
	// other connection is reset before a byte is read or sent.
	Allow []string `json:"allow"`
}

type forwardRoute struct {
	Listen string `json:"listen"` // host:port (TCP)
	Target string `json:"target"` // Unix socket path
	// Optional routes (a floating IP that may not be on this machine yet)
	// are retried without holding up readiness.
	Optional bool `json:"optional,omitempty"`
}

// forwarderStatus is what a forwarder writes (to <config>.status) after
// applying its config, so the driver knows when a change took effect.
type forwarderStatus struct {
	Pid       int               `json:"pid"`               // the forwarder's process: it handles SIGHUP
	Hash      string            `json:"hash"`              // sha256 of the config file applied
	Listening []string          `json:"listening"`         // routes accepting connections
	Errors    map[string]string `json:"errors,omitempty"`  // required routes not listening
	Waiting   map[string]string `json:"waiting,omitempty"` // optional routes not listening
}

func statusPath(config string) string { return config + ".status" }

func configHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// parseAllow parses firewall entries: IPs (a single address) or CIDRs.
func parseAllow(entries []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("firewall entry %q is neither an IP address nor a CIDR: %w", e, errInvalidFirewall)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

var errInvalidFirewall = errors.New("invalid firewall entry")

// forwarderUID is the user whose local connections a forwarder lets
// through whatever their address: its own, the cluster's OS account
// (tests of the forwarder in their own process change it).
var forwarderUID = os.Getuid

// allowed reports whether addr is in one of the prefixes.
func allowed(prefixes []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// RunForwarder is the firewall forwarder of firewalled Redis clusters, run
// as its own long-lived process (the `dbaasd redis-forwarder` subcommand),
// as the cluster's OS account:
//
//	redis-forwarder -config <node>/forwarder.json -pidfile <node>/run/forwarder.pid
//
// It accepts TCP connections on each route's listen address and pipes them
// to the route's Unix socket when the client's address is allowed, or when
// the client is a process of this machine whose socket belongs to the
// forwarder's own user (the cluster's replicas and sentinels); any other
// connection is reset (SO_LINGER 0) before a byte is exchanged. SIGHUP
// reloads the config: routes are opened and closed to match and connections
// from addresses no longer allowed are cut. A route whose address is busy is
// retried until it can listen. SIGTERM and SIGINT stop it. After applying a
// config it writes <config>.status, naming its process: from then on it
// handles SIGHUP. It returns when stopped.
func RunForwarder(args []string) error {
	fs := flag.NewFlagSet(ForwarderSubcommand, flag.ContinueOnError)
	config := fs.String("config", "", "forwarder config file (JSON)")
	pidfile := fs.String("pidfile", "", "file to write the process ID to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *config == "" {
		return errors.New("redis-forwarder: -config is required")
	}
	f := &forwarder{
		config:    *config,
		listeners: map[string]*fwdListener{},
		conns:     map[*fwdConn]struct{}{},
		logger:    log.New(os.Stderr, "redis-forwarder: ", log.LstdFlags),
		denied:    map[netip.Addr]time.Time{},
		uid:       forwarderUID(),
		local:     &localAddrs{},
	}
	// One forwarder per config: a second one would fight over the ports.
	lock, err := os.OpenFile(*config+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("redis-forwarder: %w", err)
	}
	defer func() { _ = lock.Close() }()
	if err := lockWithin(lock, forwarderLockWait); err != nil {
		return fmt.Errorf("redis-forwarder: another forwarder runs with %s: %w", *config, err)
	}
	// Catch signals before anything can observe the forwarder running.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	if err := f.reload(); err != nil {
		return err
	}
	if *pidfile != "" {
		// Atomically: dbaasd reads the file at any moment, and a file
		// truncated for rewriting would read as "no forwarder".
		if err := writeFileAtomic(*pidfile, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			return fmt.Errorf("redis-forwarder: write pid file: %w", err)
		}
		defer func() { _ = os.Remove(*pidfile) }()
	}
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGHUP {
				if err := f.reload(); err != nil {
					f.logger.Printf("reload: %v (keeping the previous config)", err)
				}
				continue
			}
			f.shutdown()
			return nil
		case <-retry.C:
			f.retryListen()
		}
	}
}

type forwarder struct {
	config string
	logger *log.Logger
	uid    int         // the forwarder's user: the cluster's OS account
	local  *localAddrs // this machine's addresses

	mu        sync.Mutex
	hash      string
	allow     []netip.Prefix
	routes    map[string]forwardRoute // by listen address
	listeners map[string]*fwdListener
	failed    map[string]string // listen → error, for routes not yet listening
	conns     map[*fwdConn]struct{}
	denied    map[netip.Addr]time.Time // last time a denial was logged, per address
	// lastStatus is the status last written (JSON).
	lastStatus string
}

type fwdListener struct {
	ln     net.Listener
	target string
}

type fwdConn struct {
	client net.Conn
	remote netip.Addr
	own    bool // let through as a process of the cluster's account, not by its address
}

// reload reads the config and applies it.
func (f *forwarder) reload() error {
	b, err := os.ReadFile(f.config)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var cfg forwarderConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("parse config %s: %w", f.config, err)
	}
	allow, err := parseAllow(cfg.Allow)
	if err != nil {
		return err
	}
	routes := map[string]forwardRoute{}
	for _, r := range cfg.Routes {
		routes[r.Listen] = r
	}

	f.mu.Lock()
	f.hash = configHash(b)
	f.allow = allow
	f.routes = routes
	f.failed = map[string]string{}
	for l, fl := range f.listeners {
		if rt, ok := routes[l]; !ok || rt.Target != fl.target {
			_ = fl.ln.Close()
			delete(f.listeners, l)
		}
	}
	var cut []*fwdConn
	for c := range f.conns {
		if !c.own && !allowed(allow, c.remote) {
			cut = append(cut, c)
		}
	}
	f.mu.Unlock()
	for _, c := range cut {
		f.logger.Printf("closing connection from %s: no longer allowed", c.remote)
		_ = c.client.Close()
	}
	f.retryListen()
	return nil
}

// retryListen opens the routes that are not listening yet and writes the
// status when it changed.
func (f *forwarder) retryListen() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l, rt := range f.routes {
		if _, ok := f.listeners[l]; ok {
			continue
		}
		ln, err := net.Listen("tcp", l)
		if err != nil {
			if f.failed[l] != err.Error() {
				f.logger.Printf("listen %s: %v (retrying)", l, err)
			}
			f.failed[l] = err.Error()
			continue
		}
		delete(f.failed, l)
		fl := &fwdListener{ln: ln, target: rt.Target}
		f.listeners[l] = fl
		go f.accept(fl)
	}
	f.writeStatus()
}

// writeStatus writes <config>.status if its content changed.
func (f *forwarder) writeStatus() {
	st := forwarderStatus{Pid: os.Getpid(), Hash: f.hash}
	for l, e := range f.failed {
		m := &st.Errors
		if f.routes[l].Optional {
			m = &st.Waiting
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[l] = e
	}
	for l := range f.listeners {
		st.Listening = append(st.Listening, l)
	}
	sort.Strings(st.Listening)
	b, _ := json.Marshal(st)
	if string(b) == f.lastStatus {
		return
	}
	if err := writeFileAtomic(statusPath(f.config), b, 0o644); err != nil {
		f.logger.Printf("write status: %v", err)
		return
	}
	f.lastStatus = string(b)
}

func (f *forwarder) accept(fl *fwdListener) {
	for {
		c, err := fl.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go f.handle(c, fl.target)
	}
}

func (f *forwarder) handle(c net.Conn, target string) {
	remote, local := netip.AddrPort{}, netip.AddrPort{}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		remote = netip.AddrPortFrom(addrOf(ta.IP), uint16(ta.Port))
	}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		local = netip.AddrPortFrom(addrOf(ta.IP), uint16(ta.Port))
	}
	fc := &fwdConn{client: c, remote: remote.Addr()}
	f.mu.Lock()
	ok := remote.Addr().IsValid() && allowed(f.allow, remote.Addr())
	f.mu.Unlock()
	if !ok && remote.IsValid() && f.local.has(remote.Addr()) {
		if uid, found := socketUID(remote, local); found && uid == f.uid {
			ok, fc.own = true, true
		}
	}
	f.mu.Lock()
	logIt := false
	if ok && (fc.own || allowed(f.allow, fc.remote)) {
		f.conns[fc] = struct{}{} // registered under the lock that checked: a reload cuts it
	} else {
		ok = false
		if t, seen := f.denied[fc.remote]; !seen || time.Since(t) > time.Minute {
			if len(f.denied) > 4096 {
				f.denied = map[netip.Addr]time.Time{} // bounded memory under a scan
			}
			f.denied[fc.remote] = time.Now()
			logIt = true
		}
	}
	f.mu.Unlock()
	if !ok {
		if logIt {
			f.logger.Printf("refused connection from %s (not in the firewall list)", fc.remote)
		}
		if tc, isTCP := c.(*net.TCPConn); isTCP {
			_ = tc.SetLinger(0) // reset, not a graceful close
		}
		_ = c.Close()
		return
	}
	defer func() {
		f.mu.Lock()
		delete(f.conns, fc)
		f.mu.Unlock()
	}()
	up, err := net.DialTimeout("unix", target, 5*time.Second)
	if err != nil {
		f.logger.Printf("connect %s: %v", target, err)
		_ = c.Close()
		return
	}
	pipe(c, up)
}

// pipe copies both ways. The client's end of input is passed on as a
// half-close, so the server still answers what it was sent; when the server
// side ends, both connections are closed.
func pipe(client, up net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, client)
		if cw, ok := up.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = up.Close()
		}
	}()
	_, _ = io.Copy(client, up)
	_ = client.Close()
	_ = up.Close()
	<-done
}

func (f *forwarder) shutdown() {
	f.mu.Lock()
	for l, fl := range f.listeners {
		_ = fl.ln.Close()
		delete(f.listeners, l)
	}
	conns := make([]*fwdConn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	for _, c := range conns {
		_ = c.client.Close()
	}
}

// forwarderLockWait is how long a new forwarder waits for the lock of its
// config: a forwarder killed a moment ago holds it until the kernel has
// closed its files, which comes after its command line is gone (what
// dbaasd takes for "not running").
const forwarderLockWait = 5 * time.Second

// lockWithin takes an exclusive flock of f, waiting up to wait for a
// holder to let go.
func lockWithin(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil || !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory, so a reader sees the old content or the new, never a
// truncated file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
