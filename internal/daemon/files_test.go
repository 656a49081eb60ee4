package daemon_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	_ "modernc.org/sqlite" // raw reads of the store

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine"
)

// localUser creates an unprivileged OS user for the test and removes it
// afterwards; it returns the credential to run commands as that user.
func localUser(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a local OS user needs root")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "dbaasd-t" + hex.EncodeToString(b)
	if out, err := exec.Command("useradd", "--system", "--user-group", "--no-create-home",
		"--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// as runs a command as the local user; it returns its error and output.
func as(cred *syscall.Credential, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestLocalUserCannotReadStoreOrKey is the attack of a local OS user on a
// deployment an earlier dbaasd left world-readable (data dir 0755, secret
// key and store 0644): after dbaasd starts on it, that user can neither
// list the data dir nor read the store's files (dbaasd.db, -wal, -shm) or
// the secret key, though it can still enter the data dir (the engines,
// which run as other OS users, must); and the store holds no token in
// the clear nor as its bare SHA-256.
func TestLocalUserCannotReadStoreOrKey(t *testing.T) {
	cred := localUser(t)
	parent, err := os.MkdirTemp("", "dbaasd-files")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	// Only the data dir's own mode may stand between the user and it.
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(parent, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyFile := filepath.Join(data, "secret.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "dbaasd.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for f, mode := range map[string]os.FileMode{data: 0o755, keyFile: 0o644, filepath.Join(data, "dbaasd.db"): 0o644} {
		if err := os.Chmod(f, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}

	const project = "0123456789abcdef0123456789abcdef"
	tokens := []string{"operator-chosen-token", "provisioned-token"}
	ctx := context.Background()
	d, err := daemon.New(ctx, daemon.Config{
		DataDir: data, Drivers: map[string]engine.Driver{}, NoReconciler: true,
		Tokens: []auth.StaticToken{{Value: tokens[0], ProjectID: project}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Banner: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Project(ctx, project, tokens[1], false); err != nil {
		t.Fatal(err)
	}

	files := []string{"dbaasd.db", "dbaasd.db-wal", "dbaasd.db-shm", "secret.key"}
	for _, f := range files {
		path := filepath.Join(data, f)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if out, err := as(cred, "/bin/cat", path); err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("another local user read %s: %v %.40q", f, err, out)
		}
	}
	if out, err := as(cred, "/bin/ls", data); err == nil {
		t.Errorf("another local user listed the data dir: %s", out)
	}
	if out, err := as(cred, "/usr/bin/test", "-x", data); err != nil {
		t.Errorf("the data dir cannot be entered by other OS users (the engines'): %v %s", err, out)
	}

	raw, err := sql.Open("sqlite", "file:"+filepath.Join(data, "dbaasd.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = raw.Close() }()
	rows, err := raw.Query("SELECT hash FROM tokens")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		n++
		for _, tok := range tokens {
			sum := sha256.Sum256([]byte(tok))
			if strings.Contains(h, tok) || strings.Contains(h, hex.EncodeToString(sum[:])) {
				t.Errorf("the store keeps token %q as %q", tok, h)
			}
		}
	}
	if err := rows.Err(); err != nil || n != len(tokens) {
		t.Fatalf("%d tokens stored (%v), want %d", n, err, len(tokens))
	}
}
