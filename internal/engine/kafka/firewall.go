package kafka

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// allowList is a parsed firewall: nil lets every address in.
type allowList []netip.Prefix

// parseAllowList parses IPs and CIDRs; an invalid entry is an
// engine.ErrInvalid error.
func parseAllowList(entries []string) (allowList, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	out := make(allowList, 0, len(entries))
	for _, e := range entries {
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("%w: firewall entry %q is neither an IP address nor a CIDR", engine.ErrInvalid, e)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// allows reports whether a client address may connect.
func (l allowList) allows(a netip.Addr) bool {
	if l == nil {
		return true
	}
	a = a.Unmap()
	for _, p := range l {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// firewall decides, per accepted connection, whether to keep it. The list
// can be swapped while connections are being accepted (on SIGHUP).
//
// Connections from the broker's own listen addresses are always let in:
// that is the source address dbaasd uses when it reaches the broker from the
// same machine, and it must keep managing the cluster whatever the list says.
type firewall struct {
	list   atomic.Pointer[allowList]
	exempt map[netip.Addr]bool
	log    func(format string, args ...any)

	mu         sync.Mutex
	lastLogged time.Time
	suppressed int
}

func newFirewall(hosts []string, logf func(string, ...any)) *firewall {
	f := &firewall{exempt: map[netip.Addr]bool{}, log: logf}
	for _, h := range hosts {
		a, err := netip.ParseAddr(h)
		if err != nil {
			continue
		}
		a = a.Unmap()
		if a.IsUnspecified() {
			// Listening everywhere: dbaasd reaches it over loopback.
			f.exempt[netip.MustParseAddr("127.0.0.1")] = true
			f.exempt[netip.IPv6Loopback()] = true
			continue
		}
		f.exempt[a] = true
	}
	f.list.Store(&allowList{})
	return f
}

// set replaces the list.
func (f *firewall) set(l allowList) { f.list.Store(&l) }

// admit reports whether a connection from remote may proceed.
func (f *firewall) admit(remote net.Addr) bool {
	ap, err := netip.ParseAddrPort(remote.String())
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	if f.exempt[a] || (*f.list.Load()).allows(a) {
		return true
	}
	f.logRefused(a)
	return false
}

// logRefused logs refused clients at most once a second.
func (f *firewall) logRefused(a netip.Addr) {
	if f.log == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.lastLogged) < time.Second {
		f.suppressed++
		return
	}
	f.log("firewall: refused connection from %s (%d more refused since last message)", a, f.suppressed)
	f.lastLogged, f.suppressed = time.Now(), 0
}

// filterListener is one broker's listener: it accepts on the node's address
// and on its extra addresses, advertises the node's address, and closes at
// once every connection the firewall refuses.
type filterListener struct {
	lns  []net.Listener
	addr net.Addr
	fw   *firewall

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// listenFiltered listens on host:port and on every extra host at that port.
func listenFiltered(host string, port int, extra []string, fw *firewall) (*filterListener, error) {
	fl := &filterListener{fw: fw, conns: make(chan net.Conn), done: make(chan struct{})}
	for _, h := range append([]string{host}, extra...) {
		ln, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			for _, l := range fl.lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w", net.JoinHostPort(h, strconv.Itoa(port)), err)
		}
		fl.lns = append(fl.lns, ln)
	}
	fl.addr = fl.lns[0].Addr()
	for _, ln := range fl.lns {
		fl.wg.Add(1)
		go fl.acceptLoop(ln)
	}
	return fl, nil
}

func (fl *filterListener) acceptLoop(ln net.Listener) {
	defer fl.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !fl.fw.admit(c.RemoteAddr()) {
			_ = c.Close()
			continue
		}
		select {
		case fl.conns <- c:
		case <-fl.done:
			_ = c.Close()
			return
		}
	}
}

// Accept returns the next admitted connection.
func (fl *filterListener) Accept() (net.Conn, error) {
	select {
	case c := <-fl.conns:
		return c, nil
	case <-fl.done:
		return nil, net.ErrClosed
	}
}

// Close stops every underlying listener.
func (fl *filterListener) Close() error {
	var err error
	fl.closeOnce.Do(func() {
		close(fl.done)
		for _, l := range fl.lns {
			err = errors.Join(err, l.Close())
		}
	})
	fl.wg.Wait()
	return err
}

// Addr is the node's own address, which kfake advertises in metadata.
func (fl *filterListener) Addr() net.Addr { return fl.addr }
