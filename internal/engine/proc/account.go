package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// accountPrefix starts the name of every datastore's OS account.
const accountPrefix = "dbaasd-"

// AccountName is the OS account the processes of one datastore run as: the
// prefix and the first 16 letters and digits of the datastore's ID (a UUID
// without dashes), 23 characters, within every system's 32-character limit.
func AccountName(clusterID string) string {
	id := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, clusterID)
	if len(id) > 16 {
		id = id[:16]
	}
	return accountPrefix + id
}

// Datastore accounts take uids and gids from a range of their own, above
// the usual range of people's accounts and below 65536 (which user
// namespaces of containers often do not map): 40,000 datastores a machine.
const (
	accountIDMin = 20000
	accountIDMax = 59999
)

// accounts caches the runners of datastore accounts, by cluster ID.
var accounts sync.Map // string → *Runner

// accountMu serialises creating and removing accounts: useradd and userdel
// lock /etc/passwd and fail, rather than wait, when another one holds it.
var accountMu sync.Mutex

// Isolated reports whether datastores get OS accounts of their own (dbaasd
// runs as root). Otherwise every engine runs as dbaasd's own user.
func (r *Runner) Isolated() bool { return r.switchUser }

// ForCluster returns the runner of one datastore's own OS account (user and
// group of the same name, no home, no shell), creating the account when it
// is missing. Every process of the datastore runs as that account and
// every file of it belongs to it, so that what one datastore's engine can
// do as its OS user reaches nothing of another datastore. When dbaasd does
// not run as root it cannot create accounts: the runner itself is
// returned, and every datastore shares dbaasd's user.
func (r *Runner) ForCluster(clusterID string) (*Runner, error) {
	if !r.switchUser {
		return r, nil
	}
	if clusterID == "" {
		return nil, errors.New("OS account: empty datastore ID")
	}
	if v, ok := accounts.Load(clusterID); ok {
		return v.(*Runner), nil
	}
	name := AccountName(clusterID)
	u, err := user.Lookup(name)
	if err != nil {
		accountMu.Lock()
		u, err = createAccount(name)
		accountMu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 || gid == 0 {
		return nil, fmt.Errorf("OS account %s: unusable uid %q / gid %q", name, u.Uid, u.Gid)
	}
	acc := &Runner{User: name, UID: uid, GID: gid, switchUser: true, confined: true, tools: r.toolRecords()}
	v, _ := accounts.LoadOrStore(clusterID, acc)
	return v.(*Runner), nil
}

// Existing is ForCluster for reading only: it never creates an account.
// When the datastore has none, the runner returned owns nothing (no
// process is its, it can read and write nothing), so that observing a
// datastore that is gone changes nothing on the machine.
func (r *Runner) Existing(clusterID string) *Runner {
	if !r.switchUser {
		return r
	}
	if v, ok := accounts.Load(clusterID); ok {
		return v.(*Runner)
	}
	name := AccountName(clusterID)
	if _, err := user.Lookup(name); err == nil {
		if acc, err := r.ForCluster(clusterID); err == nil {
			return acc
		}
	}
	return &Runner{User: name, UID: -1, GID: -1, switchUser: true, confined: true, tools: r.toolRecords()}
}

func createAccount(name string) (*user.User, error) {
	if u, err := user.Lookup(name); err == nil {
		return u, nil
	}
	var out []byte
	var err error
	// useradd refuses, rather than waits, when another program holds the
	// lock of /etc/passwd; try again for a while.
	for attempt := 0; attempt < 50; attempt++ {
		out, err = exec.Command("useradd", "--user-group", "--no-create-home",
			"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", "dbaasd datastore",
			"-K", "UID_MIN="+strconv.Itoa(accountIDMin), "-K", "UID_MAX="+strconv.Itoa(accountIDMax),
			"-K", "GID_MIN="+strconv.Itoa(accountIDMin), "-K", "GID_MAX="+strconv.Itoa(accountIDMax),
			name).CombinedOutput()
		if err == nil || strings.Contains(string(out), "already exists") {
			break
		}
		if !strings.Contains(string(out), "lock") {
			return nil, fmt.Errorf("create OS account %s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	u, lerr := user.Lookup(name)
	if lerr != nil {
		return nil, fmt.Errorf("create OS account %s: %w: %s", name, errors.Join(err, lerr), strings.TrimSpace(string(out)))
	}
	return u, nil
}

// ReleaseCluster ends a datastore's OS account: every process still running
// as it is killed (what a tenant may have started through its engine
// included), the trees under keep (kept after the datastore is gone, such
// as its archived logs) are given to root, and the account and its group
// are removed, so that a later account given the same uid inherits
// nothing. The datastore's other files must be gone already. It is a no-op
// when accounts are not isolated or the account does not exist.
func (r *Runner) ReleaseCluster(clusterID string, keep ...string) error {
	if !r.switchUser {
		return nil
	}
	name := AccountName(clusterID)
	accounts.Delete(clusterID)
	u, err := user.Lookup(name)
	if err != nil {
		return nil
	}
	uid, _ := strconv.Atoi(u.Uid)
	if uid <= 0 {
		return fmt.Errorf("OS account %s: refusing to remove uid %q", name, u.Uid)
	}
	KillUser(uid)
	for _, dir := range keep {
		if err := chownTree(dir, 0, 0); err != nil {
			return fmt.Errorf("release OS account %s: %w", name, err)
		}
	}
	accountMu.Lock()
	defer accountMu.Unlock()
	var out []byte
	for attempt := 0; attempt < 50; attempt++ {
		out, err = exec.Command("userdel", name).CombinedOutput()
		if err == nil || strings.Contains(string(out), "does not exist") {
			break
		}
		if !strings.Contains(string(out), "lock") && !strings.Contains(string(out), "currently used") {
			return fmt.Errorf("remove OS account %s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		KillUser(uid)
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil && !strings.Contains(string(out), "does not exist") {
		return fmt.Errorf("remove OS account %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	// userdel removes the user's group when nothing else uses it; remove a
	// group left behind too.
	if _, gerr := user.LookupGroup(name); gerr == nil {
		_ = exec.Command("groupdel", name).Run()
	}
	return nil
}

// KillUser kills (SIGKILL) every process whose real or effective user is
// uid, until none is left or a few seconds have passed.
func KillUser(uid int) {
	if uid <= 0 {
		return
	}
	for round := 0; round < 50; round++ {
		pids := userProcesses(uid)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// userProcesses lists the live processes whose real or effective uid is uid.
func userProcesses(uid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + ent.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if !strings.HasPrefix(line, "Uid:") {
				continue
			}
			f := strings.Fields(line)
			if len(f) >= 3 && (f[1] == strconv.Itoa(uid) || f[2] == strconv.Itoa(uid)) && Alive(pid) {
				pids = append(pids, pid)
			}
			break
		}
	}
	return pids
}

// Owns reports whether path belongs to the runner's user.
func (r *Runner) Owns(path string) bool {
	st, err := os.Lstat(path)
	if err != nil {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(sys.Uid) == r.UID
}

// chownTree gives a tree to uid:gid; a missing root is no error.
func chownTree(root string, uid, gid int) error {
	err := filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("chown %s: %w", root, err)
	}
	return nil
}

// OwnsProcess reports whether process pid runs as the runner's user. dbaasd
// reads process IDs from pid files in directories a datastore's account
// owns; before signalling one, it checks that the process is that
// account's, so that a forged pid file cannot make dbaasd stop another
// datastore's server (or anything else). Always true when engines run as
// dbaasd's own user.
func (r *Runner) OwnsProcess(pid int) bool {
	if pid <= 0 {
		return false
	}
	if !r.switchUser {
		return true
	}
	return r.UID >= 0 && processUID(pid) == r.UID
}

// OwnedPid returns the process ID in a pid file when that process runs as
// the user who owns the file, else 0. A pid file in a directory a
// datastore's account owns is that account's to write: whatever it says,
// dbaasd signals no process of another user because of it. A pid file
// that is a symbolic link counts as none.
func OwnedPid(path string) int {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	pid := ReadPidFile(path)
	if !Alive(pid) || processUID(pid) != int(sys.Uid) {
		return 0
	}
	return pid
}

// processUID is the real and effective user of a process, or -1 when they
// differ or the process is gone.
func processUID(pid int) int {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
			if f[1] != f[2] {
				return -1
			}
			uid, err := strconv.Atoi(f[1])
			if err != nil {
				return -1
			}
			return uid
		}
	}
	return -1
}
