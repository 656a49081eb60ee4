package redis

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The forwarder lets the cluster's own processes through by who they are,
// not by their address: for a TCP connection between two sockets of this
// machine, the kernel's socket tables (/proc/net/tcp and tcp6) name the
// user who owns the client's socket.

// addrOf converts an IP to a netip.Addr, IPv4-mapped addresses unmapped.
func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// socketUID returns the owner of the local TCP socket whose own address is
// client and whose peer is server (the client end of a connection a
// forwarder accepted on server), and whether one was found.
func socketUID(client, server netip.AddrPort) (int, bool) {
	if !client.IsValid() || !server.IsValid() {
		return 0, false
	}
	for _, table := range []struct {
		path string
		v6   bool
	}{{"/proc/net/tcp", false}, {"/proc/net/tcp6", true}} {
		bothV4 := client.Addr().Is4() && server.Addr().Is4()
		if !table.v6 && !bothV4 {
			continue // IPv6 sockets are only in tcp6
		}
		want := [2]string{procNetAddr(client, table.v6), procNetAddr(server, table.v6)}
		if uid, ok := scanSocketTable(table.path, want); ok {
			return uid, true
		}
	}
	return 0, false
}

// scanSocketTable finds the socket with local address want[0] and remote
// address want[1] in a /proc/net/tcp-style table and returns its uid.
func scanSocketTable(path string, want [2]string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[1] != want[0] || fields[2] != want[1] {
			continue
		}
		uid, err := strconv.Atoi(fields[7])
		return uid, err == nil
	}
	return 0, false
}

// procNetAddr writes an address as /proc/net/tcp (v6: tcp6) does: the
// address's 32-bit words in the kernel's (little-endian) byte order, in
// hex, a colon and the port in hex.
func procNetAddr(ap netip.AddrPort, v6 bool) string {
	var b []byte
	if v6 {
		a := ap.Addr().As16() // IPv4 as ::ffff:a.b.c.d
		b = a[:]
	} else {
		a := ap.Addr().As4()
		b = a[:]
	}
	var s strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&s, "%02X%02X%02X%02X", b[i+3], b[i+2], b[i+1], b[i])
	}
	fmt.Fprintf(&s, ":%04X", ap.Port())
	return s.String()
}

// localAddrs are this machine's addresses, refreshed every few seconds: a
// connection from another address cannot be from a local process, and
// costs no look-up.
type localAddrs struct {
	mu    sync.Mutex
	at    time.Time
	addrs map[netip.Addr]bool
}

func (l *localAddrs) has(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.at) > 5*time.Second {
		l.at = time.Now()
		l.addrs = map[netip.Addr]bool{}
		if ifas, err := net.InterfaceAddrs(); err == nil {
			for _, ifa := range ifas {
				if ipn, ok := ifa.(*net.IPNet); ok {
					l.addrs[addrOf(ipn.IP)] = true
				}
			}
		}
	}
	return l.addrs[a]
}
