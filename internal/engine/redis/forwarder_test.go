package redis

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestParseAllow(t *testing.T) {
	t.Parallel()
	ps, err := parseAllow([]string{"127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.2": false, "10.9.8.7": true, "11.0.0.1": false,
		"::1": true, "::ffff:127.0.0.1": true, "fd12::1": true, "fe80::1": false,
	} {
		if got := allowed(ps, netip.MustParseAddr(a)); got != want {
			t.Errorf("allowed(%s) = %v, want %v", a, got, want)
		}
	}
	if _, err := parseAllow([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}

// TestForwarderInProcess runs the forwarder in this process (so the race
// detector sees it) in front of a Unix echo server.
func TestForwarderInProcess(t *testing.T) {
	t.Parallel()
	dir := enginetest.TempDir(t)
	sock := filepath.Join(dir, "echo.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					_, _ = c.Write([]byte(sc.Text() + "\n"))
				}
			}()
		}
	}()
	port := enginetest.FreePort(t)
	listen := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfgPath := filepath.Join(dir, "forwarder.json")
	write := func(allow ...string) {
		b, _ := json.Marshal(forwarderConfig{Routes: []forwardRoute{{Listen: listen, Target: sock}}, Allow: allow})
		if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("127.0.0.1")
	// The forwarder runs in this process, as the test's user, which is
	// also the client's: let nothing through by its owner here (see
	// TestSocketUID for that path).
	forwarderUID = func() int { return -1 }
	done := make(chan error, 1)
	// Signals go to the whole process; the forwarder below is the only
	// code in this test binary that listens for SIGHUP.
	go func() { done <- RunForwarder([]string{"-config", cfgPath, "-pidfile", filepath.Join(dir, "pid")}) }()
	waitStatus := func() {
		t.Helper()
		b, _ := os.ReadFile(cfgPath)
		eventually(t, 5*time.Second, "forwarder applies its config", func() error {
			var st forwarderStatus
			sb, err := os.ReadFile(statusPath(cfgPath))
			if err == nil {
				err = json.Unmarshal(sb, &st)
			}
			if err != nil {
				return err
			}
			if st.Hash != configHash(b) || len(st.Listening) != 1 {
				return errors.New("not yet")
			}
			return nil
		})
	}
	waitStatus()

	echo := func(from string) (string, error) {
		d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", listen)
		if err != nil {
			return "", err
		}
		defer func() { _ = c.Close() }()
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("hi\n")); err != nil {
			return "", err
		}
		return bufio.NewReader(c).ReadString('\n')
	}
	if got, err := echo("127.0.0.1"); err != nil || got != "hi\n" {
		t.Errorf("allowed source: %q, %v", got, err)
	}
	got, err := echo("127.0.0.2")
	if err == nil || got != "" {
		t.Errorf("refused source: %q, %v; want an error and no data", got, err)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Logf("refused source ended with %v (reset expected, any close accepted)", err)
	}

	// Reload: allow 127.0.0.2, then cut it off while connected.
	write("127.0.0.0/30")
	_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitStatus()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	held, err := d.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Close() }()
	r := bufio.NewReader(held)
	if _, err := held.Write([]byte("one\n")); err != nil {
		t.Fatal(err)
	}
	if s, err := r.ReadString('\n'); err != nil || s != "one\n" {
		t.Fatalf("held connection: %q, %v", s, err)
	}
	write("127.0.0.1")
	_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitStatus()
	_ = held.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = held.Write([]byte("two\n"))
	if s, err := r.ReadString('\n'); err == nil {
		t.Errorf("connection from a removed address still answered %q", s)
	}

	_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunForwarder: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("forwarder did not stop on SIGTERM")
	}
}

// The owner of a local client socket is found from the server's side of the
// connection, as the forwarder looks it up.
func TestSocketUID(t *testing.T) {
	t.Parallel()
	for _, network := range []string{"tcp4", "tcp6"} {
		ln, err := net.Listen(network, map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network])
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		client, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		remote := netip.AddrPortFrom(addrOf(server.RemoteAddr().(*net.TCPAddr).IP), uint16(server.RemoteAddr().(*net.TCPAddr).Port))
		local := netip.AddrPortFrom(addrOf(server.LocalAddr().(*net.TCPAddr).IP), uint16(server.LocalAddr().(*net.TCPAddr).Port))
		uid, ok := socketUID(remote, local)
		if !ok || uid != os.Getuid() {
			t.Errorf("%s: socketUID = %d, %v; want %d", network, uid, ok, os.Getuid())
		}
		if _, ok := socketUID(netip.AddrPortFrom(remote.Addr(), remote.Port()+1), local); ok {
			t.Errorf("%s: found an owner for a connection that does not exist", network)
		}
		_ = client.Close()
		_ = server.Close()
		_ = ln.Close()
	}
}

// A new forwarder waits for the lock a dying one still holds, and gives up
// on one that keeps it.
func TestForwarderLockWaitsForADyingHolder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "forwarder.json.lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	holder, waiter := open(), open()
	if err := lockWithin(holder, 0); err != nil {
		t.Fatal(err)
	}
	if err := lockWithin(waiter, 50*time.Millisecond); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("lock held throughout: err %v, want EWOULDBLOCK", err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = holder.Close()
	}()
	if err := lockWithin(waiter, 5*time.Second); err != nil {
		t.Fatalf("lock released after 100 ms: %v", err)
	}
}
