package proc

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// account returns a datastore account's runner for a fresh cluster ID,
// released at the end of the test; it skips unless dbaasd would create
// accounts (root).
func account(t *testing.T) (*Runner, *Runner, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("datastore OS accounts need root")
	}
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	r, err := base.ForCluster(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = base.ReleaseCluster(id) })
	return base, r, id
}

// privateDir is a 0711 directory of root, like dbaasd's data dir.
func privateDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbaasd-acct")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestAccountLifecycle(t *testing.T) {
	base, r, id := account(t)
	if r.User != AccountName(id) || r.UID < accountIDMin || r.UID > accountIDMax || r.UID == base.UID {
		t.Fatalf("account %s uid %d (base %d): want %s with a uid of its own in [%d, %d]", r.User, r.UID, base.UID, AccountName(id), accountIDMin, accountIDMax)
	}
	if again, err := base.ForCluster(id); err != nil || again.UID != r.UID {
		t.Fatalf("ForCluster again = %v, %v; want the same account", again, err)
	}
	if got := base.Existing(id); got.UID != r.UID {
		t.Fatalf("Existing = uid %d, want %d", got.UID, r.UID)
	}
	if got := base.Existing(uuid.NewString()); got.UID >= 0 || got.OwnsProcess(os.Getpid()) {
		t.Fatalf("Existing of a cluster without an account = uid %d; want one that owns nothing", got.UID)
	}

	// A process of the account, and a directory kept after release.
	dir := privateDir(t)
	keep := filepath.Join(dir, "archive")
	if err := r.ClaimDir(keep); err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteFile(filepath.Join(keep, "wal"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	pid, err := r.StartDaemon("/bin/sleep", []string{"300"}, dir, filepath.Join(keep, "sleep.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.OwnsProcess(pid) || base.OwnsProcess(pid) {
		t.Fatalf("the daemon's owner: account %v, base %v; want the account only", r.OwnsProcess(pid), base.OwnsProcess(pid))
	}
	if err := base.ReleaseCluster(id, keep); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if _, err := user.Lookup(AccountName(id)); err == nil {
		t.Fatal("the account still exists after ReleaseCluster")
	}
	if _, err := user.LookupGroup(AccountName(id)); err == nil {
		t.Fatal("the account's group still exists after ReleaseCluster")
	}
	for _, p := range []string{keep, filepath.Join(keep, "wal")} {
		if uid := ownerUID(t, p); uid != 0 {
			t.Errorf("%s belongs to uid %d after release, want root", p, uid)
		}
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d of the released account still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ownerUID(t *testing.T, path string) int {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(st.Sys().(*syscall.Stat_t).Uid)
}

// What the account plants in its own directories (links to places it may
// not write or read) leads dbaasd's file operations nowhere.
func TestAsRefusesPlantedLinks(t *testing.T) {
	_, r, _ := account(t)
	dir := privateDir(t)
	top := filepath.Join(dir, "cluster")
	if err := r.ClaimDir(top); err != nil {
		t.Fatal(err)
	}
	// A directory only root may write, and a secret only root may read.
	rootOnly := filepath.Join(dir, "root-only")
	if err := os.Mkdir(rootOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(rootOnly, "secret")
	if err := os.WriteFile(secret, []byte("root's secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The account (as if taken over) plants links.
	plant := func(name, target string) string {
		p := filepath.Join(top, name)
		if err := r.As(func() error { return os.Symlink(target, p) }); err != nil {
			t.Fatal(err)
		}
		return p
	}
	confDir := plant("conf.d", rootOnly)
	tmpLink := plant("server.conf.tmp", secret)
	logLink := plant("server.log", secret)

	if _, err := r.WriteFile(filepath.Join(confDir, "evil.conf"), []byte("x"), 0o600); err == nil {
		t.Error("WriteFile through a planted directory link succeeded")
	}
	if _, err := os.Stat(filepath.Join(rootOnly, "evil.conf")); err == nil {
		t.Error("a file was created in root's directory")
	}
	if _, err := r.WriteFile(filepath.Join(top, "server.conf"), []byte("ok"), 0o600); err != nil {
		t.Fatalf("WriteFile beside a planted temporary link: %v", err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "root's secret" {
		t.Errorf("root's file was written through the link: %q", b)
	}
	if _, err := os.Lstat(tmpLink); err == nil {
		t.Error("the planted temporary link is still there")
	}
	if err := r.MkdirAll(filepath.Join(confDir, "sub"), 0o700); err == nil {
		t.Error("MkdirAll through a planted link succeeded")
	}
	if b, err := r.ReadFileTail(logLink, 100); err == nil {
		t.Errorf("ReadFileTail through a planted link read %q", b)
	}
	if _, err := r.StartDaemon("/bin/true", nil, top, logLink); err == nil {
		t.Error("StartDaemon opened a planted log link")
	}
	if err := r.Rename(filepath.Join(top, "server.conf"), filepath.Join(confDir, "moved")); err == nil {
		t.Error("Rename into root's directory through a link succeeded")
	}
}

// A pid file names a process dbaasd may signal only when that process is
// the pid file's owner's.
func TestOwnedPid(t *testing.T) {
	_, r, _ := account(t)
	dir := privateDir(t)
	top := filepath.Join(dir, "cluster")
	if err := r.ClaimDir(top); err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(top, "forged.pid")
	if _, err := r.WriteFile(forged, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid := OwnedPid(forged); pid != 0 {
		t.Errorf("OwnedPid of a pid file naming root's process = %d, want 0", pid)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := r.Command(ctx, "/bin/sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	own := filepath.Join(top, "own.pid")
	if _, err := r.WriteFile(own, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid := OwnedPid(own); pid != cmd.Process.Pid {
		t.Errorf("OwnedPid of the account's own process = %d, want %d", pid, cmd.Process.Pid)
	}
	link := filepath.Join(top, "link.pid")
	if err := r.As(func() error { return os.Symlink(own, link) }); err != nil {
		t.Fatal(err)
	}
	if pid := OwnedPid(link); pid != 0 {
		t.Errorf("OwnedPid of a link = %d, want 0", pid)
	}
}

func TestAccountName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ id, want string }{
		{"1B4E28BA-2FA1-11D2-883F-0016D3CCA427", "dbaasd-1b4e28ba2fa111d2"},
		{"short", "dbaasd-short"},
	} {
		if got := AccountName(tc.id); got != tc.want || len(got) > 32 || strings.ContainsAny(got, "ABCDEF") {
			t.Errorf("AccountName(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
