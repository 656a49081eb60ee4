package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine/proc"
)

// binGlobs are where distributions put PostgreSQL's server binaries, one
// directory per major version (Debian/Ubuntu, RHEL/PGDG, source builds).
var binGlobs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"}

// install is one installed PostgreSQL version.
type install struct {
	binDir string
	major  string // "15"; "9.6" for versions before 10
	full   string // "15.18"
}

func (i *install) bin(name string) string { return filepath.Join(i.binDir, name) }

var versionRE = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?`)

// parseVersion reads the output of `postgres --version`
// ("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)").
func parseVersion(out string) (major, full string, err error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", "", fmt.Errorf("unexpected output of postgres --version: %q", strings.TrimSpace(out))
	}
	major = m[1]
	full = m[1]
	if m[2] != "" {
		full += "." + m[2]
	}
	if n, _ := strconv.Atoi(m[1]); n < 10 && m[2] != "" { // 9.6.24: the major is 9.6
		major = m[1] + "." + m[2]
		if m[3] != "" {
			full += "." + m[3]
		}
	}
	return major, full, nil
}

// install finds the PostgreSQL to use for a cluster version: the one whose
// major (or full) version matches, or the newest one when version is "".
func (d *Driver) install(ctx context.Context, version string) (*install, error) {
	d.mu.Lock()
	if i, ok := d.installs[version]; ok {
		d.mu.Unlock()
		return i, nil
	}
	d.mu.Unlock()

	var dirs []string
	if p, err := proc.FindBinary("postgres", binGlobs...); err == nil {
		// A postgres in PATH is often a symbolic link to the real
		// installation, where its companions (pg_basebackup, ...) live.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, g := range binGlobs {
		matches, _ := filepath.Glob(g)
		dirs = append(dirs, matches...)
	}
	seen := map[string]bool{}
	var found []string
	for _, dir := range dirs {
		if seen[dir] {
			continue
		}
		seen[dir] = true
		out, err := d.runner.Run(ctx, filepath.Join(dir, "postgres"), "--version")
		if err != nil {
			continue
		}
		major, full, err := parseVersion(string(out))
		if err != nil {
			continue
		}
		found = append(found, full)
		if version != "" && version != major && version != full {
			continue
		}
		i := &install{binDir: dir, major: major, full: full}
		for _, b := range []string{"initdb", "pg_ctl", "pg_basebackup"} {
			if _, err := d.runner.Run(ctx, i.bin(b), "--version"); err != nil {
				return nil, fmt.Errorf("postgresql %s in %s lacks %s: %w", full, dir, b, err)
			}
		}
		// The archive and restore commands compress and decompress WAL.
		if _, err := d.runner.Run(ctx, "zstd", "--version"); err != nil {
			return nil, fmt.Errorf("postgresql: zstd, which compresses the archived WAL, is not installed (Debian: apt install zstd): %w", err)
		}
		d.mu.Lock()
		d.installs[version] = i
		d.mu.Unlock()
		return i, nil
	}
	if version == "" || len(found) == 0 {
		return nil, fmt.Errorf("postgresql: no server binaries found in PATH or %s: is PostgreSQL installed?", strings.Join(binGlobs, ", "))
	}
	return nil, fmt.Errorf("postgresql %s is not installed (found %s)", version, strings.Join(found, ", "))
}
