// Package intruder lets tests act as another OS user of the machine: a
// datastore's own OS account (as if its engine had been taken over) or a
// local user the test creates. The test binary runs itself again as that
// user and tries what it is told (read a file, list a directory, connect to
// a Unix socket, read a process's environment), reporting what worked.
//
// A test package that uses it calls Main first in its TestMain.
package intruder

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const envProbe = "DBAASD_INTRUDER_PROBE"

// Kinds of attempts.
const (
	Read    = "read"    // open a file and read a byte
	List    = "list"    // read a directory's entries
	Connect = "connect" // connect to a Unix socket
	Environ = "environ" // read /proc/<pid>/environ (Target is the pid)
	Write   = "write"   // create a file in a directory (Target is the directory)
)

// Attempt is one thing to try.
type Attempt struct {
	Kind   string `json:"kind"`
	Target string `json:"target"`
}

func (a Attempt) String() string { return a.Kind + " " + a.Target }

// Result is what came of an attempt.
type Result struct {
	Attempt
	OK  bool   `json:"ok"`
	Err string `json:"err,omitempty"`
}

// Main makes the test binary the probe when it was started as one; it
// returns otherwise. Call it first in TestMain.
func Main() {
	if os.Getenv(envProbe) != "1" {
		return
	}
	var attempts []Attempt
	if err := json.NewDecoder(os.Stdin).Decode(&attempts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := make([]Result, len(attempts))
	for i, a := range attempts {
		out[i] = Result{Attempt: a}
		if err := try(a); err != nil {
			out[i].Err = err.Error()
		} else {
			out[i].OK = true
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	os.Exit(0)
}

func try(a Attempt) error {
	switch a.Kind {
	case Read:
		f, err := os.Open(a.Target)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = f.Read(make([]byte, 1))
		if err == io.EOF {
			return nil
		}
		return err
	case List:
		_, err := os.ReadDir(a.Target)
		return err
	case Connect:
		c, err := net.DialTimeout("unix", a.Target, 2*time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	case Environ:
		_, err := os.ReadFile("/proc/" + a.Target + "/environ")
		return err
	case Write:
		p := filepath.Join(a.Target, ".intruder")
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_ = f.Close()
		return os.Remove(p)
	}
	return fmt.Errorf("unknown attempt %q", a.Kind)
}

// User is an OS identity to try things as.
type User struct {
	Name     string
	UID, GID int
}

// Lookup returns an existing OS user.
func Lookup(t testing.TB, name string) User {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("look up OS user %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return User{Name: name, UID: uid, GID: gid}
}

// NewLocalUser creates an unprivileged OS user, like any person with an
// account on the machine, and removes it at the end of the test. It skips
// the test when not root.
func NewLocalUser(t testing.TB) User {
	t.Helper()
	needRoot(t)
	name := fmt.Sprintf("intruder%d", time.Now().UnixNano()%1_000_000_000)
	if out, err := exec.Command("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	return Lookup(t, name)
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("acting as other OS users needs root")
	}
}

var (
	copyOnce sync.Once
	copyPath string
	copyErr  error
)

// binary is a copy of the test binary that every user may run (the
// original lives in a directory private to root).
func binary() (string, error) {
	copyOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			copyErr = err
			return
		}
		dir, err := os.MkdirTemp("", "dbaasd-intruder")
		if err != nil {
			copyErr = err
			return
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			copyErr = err
			return
		}
		data, err := os.ReadFile(exe)
		if err != nil {
			copyErr = err
			return
		}
		copyPath = filepath.Join(dir, "probe")
		copyErr = os.WriteFile(copyPath, data, 0o755)
	})
	return copyPath, copyErr
}

// RemoveCopy removes the copy of the test binary that Try made (about
// 100 MB), once the tests are done: call it from TestMain after m.Run.
func RemoveCopy() {
	if copyPath != "" {
		_ = os.RemoveAll(filepath.Dir(copyPath))
	}
}

// Try makes u try every attempt and returns the results in order.
func Try(t testing.TB, u User, attempts []Attempt) []Result {
	t.Helper()
	needRoot(t)
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(attempts)
	cmd := exec.Command(bin)
	cmd.Env = []string{envProbe + "=1", "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(string(in))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe as %s: %v: %s", u.Name, err, stderr.String())
	}
	var res []Result
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(attempts) {
		t.Fatalf("probe as %s: %v: %s", u.Name, err, out)
	}
	return res
}

// Denied fails the test for every attempt that worked.
func Denied(t testing.TB, u User, attempts []Attempt) {
	t.Helper()
	if len(attempts) == 0 {
		t.Fatal("nothing to try")
	}
	for _, r := range Try(t, u, attempts) {
		if r.OK {
			t.Errorf("OS user %s could %s", u.Name, r.Attempt)
		}
	}
}

// Allowed fails the test for every attempt that did not work (tests use it
// to show that the probe can succeed, so that Denied means something).
func Allowed(t testing.TB, u User, attempts []Attempt) {
	t.Helper()
	for _, r := range Try(t, u, attempts) {
		// A file or process gone since it was listed (a recycled WAL
		// segment, a finished backend) was not refused.
		if !r.OK && !strings.Contains(r.Err, "no such file or directory") && !strings.Contains(r.Err, "no such process") {
			t.Errorf("OS user %s could not %s: %s", u.Name, r.Attempt, r.Err)
		}
	}
}

// TreeAttempts lists what reaching into the trees under roots would take:
// listing every directory, reading every file, connecting to every socket.
// It walks as root.
func TreeAttempts(t testing.TB, roots ...string) []Attempt {
	t.Helper()
	var out []Attempt
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil // files come and go while servers run
			}
			switch {
			case d.IsDir():
				out = append(out, Attempt{Kind: List, Target: p}, Attempt{Kind: Write, Target: p})
			case d.Type()&os.ModeSocket != 0:
				out = append(out, Attempt{Kind: Connect, Target: p})
			case d.Type().IsRegular():
				out = append(out, Attempt{Kind: Read, Target: p})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Command returns a command that runs as u (no supplementary groups), in a
// process group of its own, for attacks that need a program of the user's
// own, such as a server it starts. The caller runs and stops it.
func Command(t testing.TB, u User, name string, args ...string) *exec.Cmd {
	t.Helper()
	needRoot(t)
	cmd := exec.Command(name, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "USER=" + u.Name, "LOGNAME=" + u.Name}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}},
		Setpgid:    true,
	}
	return cmd
}

// HomeDir returns a new directory that only u (and root) may use, removed
// at the end of the test: where a local user keeps its own files.
func HomeDir(t testing.TB, u User) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "intruder-home")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chown(dir, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ProcessesOf returns the process IDs running as uid.
func ProcessesOf(uid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.Stat("/proc/" + e.Name())
		if err == nil && int(st.Sys().(*syscall.Stat_t).Uid) == uid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// EnvironAttempts lists reading the environment of each process.
func EnvironAttempts(pids []int) []Attempt {
	out := make([]Attempt, 0, len(pids))
	for _, pid := range pids {
		out = append(out, Attempt{Kind: Environ, Target: strconv.Itoa(pid)})
	}
	return out
}
