package postgres

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
)

var _ engine.Validator = (*Driver)(nil)

// ValidateConfig asks PostgreSQL itself whether a server would start with
// the configuration: the dbaasd.conf a node of c would get is loaded by
// the server binary as a starting server does (see startCheck), and
// huge_pages = on is checked against the huge pages the kernel has free,
// counted by the server.
func (d *Driver) ValidateConfig(ctx context.Context, c *engine.Cluster, changed []string) error {
	for _, name := range changed {
		if err := checkUserParam(strings.ToLower(name)); err != nil {
			return engine.Invalid(name, strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
		}
		if err := checkFormat(name, c.Config[name]); err != nil {
			return err
		}
	}
	var eff map[string]string
	render := func(dir string) (string, error) {
		node := engine.Node{ID: "config-check", Role: engine.RoleMaster, Host: "127.0.0.1", Port: 5432, Dir: dir}
		cc := *c
		cc.ID, cc.Dir, cc.Nodes, cc.ArchiveDir = "config-check", dir, []engine.Node{node}, filepath.Join(dir, "archive")
		conf, e, err := renderConf(confInput{cluster: &cc, node: pathsOf(&node), host: []string{node.Host}})
		if err != nil {
			return "", engine.Invalid("", strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
		}
		eff = e
		return conf, nil
	}
	hugePages, err := d.startCheck(ctx, c.Version, render, changed, c.Config)
	if err != nil {
		return err
	}
	if isOn(eff["huge_pages"]) {
		return checkHugePages(hugePages)
	}
	return nil
}

// checkFormat refuses a value PostgreSQL cannot read from a configuration
// file (a line break, NUL, a number that is not one).
func checkFormat(name string, v any) error {
	if _, err := formatValue(v); err != nil {
		return engine.Invalid(name, "PostgreSQL cannot read this value from a configuration file: "+
			strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
	}
	return nil
}

// CheckSettings asks the installed PostgreSQL of version whether a server
// would start with settings (a whole configuration: name → value, as
// PostgreSQL reads it), the way ValidateConfig checks the local runtime's
// configuration: runtimes whose servers run elsewhere (Kubernetes) check
// the configuration they will hand to them. changed names the user's
// parameters in config, to blame the one a refusal is about. Huge pages
// are not checked: the machine that runs the server is not this one.
func (d *Driver) CheckSettings(ctx context.Context, version string, settings map[string]string, changed []string, config map[string]any) error {
	for _, name := range changed {
		if err := checkFormat(name, config[name]); err != nil {
			return err
		}
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if !confName.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "include") {
			return engine.Invalid(k, "not a PostgreSQL parameter name")
		}
		fmt.Fprintf(&b, "%s = %s\n", k, quoteConf(settings[k]))
	}
	_, err := d.startCheck(ctx, version, func(string) (string, error) { return b.String(), nil }, changed, config)
	return err
}

// confName is what a parameter name in a configuration file may be
// (extensions' parameters have a dot); the include directives, which read
// other files, are not parameters.
var confName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// startCheck writes the configuration render returns for a scratch
// directory as postgresql.conf in that directory's data directory, which
// holds only what `postgres -C` reads of one (PG_VERSION and
// global/pg_control, copied from the template), and has the server
// binary load it as a starting server does — the same parser, the same
// checks of every value, the same checks between settings
// (superuser_reserved_connections below max_connections, ...) — and exit
// before it allocates anything. A refusal is engine.Invalid in the
// server's words, naming the parameter it is about (see blame); else it
// returns the huge pages the server would need.
func (d *Driver) startCheck(ctx context.Context, version string, render func(dir string) (string, error), changed []string, config map[string]any) (string, error) {
	e, err := d.env(ctx, version)
	if err != nil {
		return "", err
	}
	tmpl, err := d.templateData(ctx, e)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "dbaasd-pgcheck-")
	if err != nil {
		return "", fmt.Errorf("check configuration: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	data := filepath.Join(dir, "data")
	for _, sub := range []string{dir, data, filepath.Join(data, "global")} {
		if err := e.r.MkdirAll(sub, 0o700); err != nil {
			return "", fmt.Errorf("check configuration: %w", err)
		}
	}
	for _, f := range []string{"PG_VERSION", filepath.Join("global", "pg_control")} {
		b, err := os.ReadFile(filepath.Join(tmpl, f))
		if err != nil {
			return "", fmt.Errorf("check configuration: %w", err)
		}
		if _, err := e.r.WriteFile(filepath.Join(data, f), b, 0o600); err != nil {
			return "", fmt.Errorf("check configuration: %w", err)
		}
	}
	conf, err := render(dir)
	if err != nil {
		return "", err
	}
	if _, err := e.r.WriteFile(filepath.Join(data, "postgresql.conf"), []byte(conf), 0o600); err != nil {
		return "", fmt.Errorf("check configuration: %w", err)
	}
	out, runErr := e.r.Run(ctx, e.inst.bin("postgres"), "-D", data, "-C", "shared_memory_size_in_huge_pages")
	if runErr != nil {
		if msgs := serverComplaints(out); len(msgs) > 0 {
			return "", engine.Invalid(blame(msgs, changed, config), strings.Join(msgs, "; "))
		}
		return "", fmt.Errorf("check configuration: %w", runErr)
	}
	return lastLine(out), nil
}

// logPrefix is what the server writes before a message on its standard
// error before logging is set up: a time stamp and its PID.
var logPrefix = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \S+ \[\d+\] `)

// serverComplaints keeps what the server said about a configuration it
// refused, in its own words: its errors, details and hints, without the
// time stamps and the notes that are not about the values.
func serverComplaints(out []byte) []string {
	var msgs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(logPrefix.ReplaceAllString(sc.Text(), ""))
		switch {
		case line == "", strings.Contains(line, "skipping missing configuration file"):
			continue
		case strings.HasPrefix(line, "postgres: "):
			line = strings.TrimPrefix(line, "postgres: ")
		case strings.HasPrefix(line, "FATAL:") && strings.Contains(line, "contains errors") && len(msgs) > 0:
			continue // the summary of the errors already listed
		}
		for _, lvl := range []string{"LOG:", "FATAL:", "ERROR:", "DETAIL:", "HINT:"} {
			line = strings.TrimSpace(strings.TrimPrefix(line, lvl))
		}
		msgs = append(msgs, line)
	}
	return msgs
}

var paramInMessage = regexp.MustCompile(`parameter "([^"]+)"`)

// blame names the parameter the server's messages are about: the one it
// quotes, else the first changed parameter it mentions, else the only
// changed one ("" when it cannot tell).
func blame(msgs, changed []string, cfg map[string]any) string {
	byLower := map[string]string{}
	for k := range cfg {
		byLower[strings.ToLower(k)] = k
	}
	for _, m := range msgs {
		if sub := paramInMessage.FindStringSubmatch(m); sub != nil {
			if k, ok := byLower[strings.ToLower(sub[1])]; ok {
				return k
			}
		}
	}
	for _, m := range msgs {
		for _, k := range changed {
			if strings.Contains(strings.ToLower(m), strings.ToLower(k)) {
				return k
			}
		}
	}
	if len(changed) == 1 {
		return changed[0]
	}
	return ""
}

func isOn(v string) bool {
	return slices.Contains([]string{"on", "true", "yes", "1"}, strings.ToLower(strings.Trim(v, "'")))
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// checkHugePages compares the huge pages a server needs (as it counted
// them: -1 when the system has none) with those the kernel has free.
func checkHugePages(need string) error {
	n, err := strconv.Atoi(need)
	if err != nil {
		return fmt.Errorf("check configuration: huge pages needed: %q", need)
	}
	free, size := hugePagesFree()
	if n < 0 || free < n {
		return engine.Invalid("huge_pages", fmt.Sprintf("the server needs %d huge pages of %d kB and the machine has %d free: "+
			"PostgreSQL would not start (could not map anonymous shared memory); use try or off", n, size, free))
	}
	return nil
}

// hugePagesFree reads the free huge pages and their size (kB) from
// /proc/meminfo (0, 0 when it cannot).
func hugePagesFree() (free, sizeKB int) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "HugePages_Free:":
			free, _ = strconv.Atoi(f[1])
		case "Hugepagesize:":
			sizeKB, _ = strconv.Atoi(f[1])
		}
	}
	return free, sizeKB
}

// reservedRoles are role names PostgreSQL refuses or gives another
// meaning (CREATE ROLE says "role name ... is reserved", or takes the
// keyword for the session's role); names starting with pg_ are reserved too.
var reservedRoles = setOf("public", "none", "current_user", "session_user", "current_role", "user",
	superuser, poolerAuthRole)

// ValidateName implements engine.Validator with CheckName.
func (d *Driver) ValidateName(kind, name string) error { return CheckName(kind, name) }

// CheckName refuses names PostgreSQL reserves for roles and databases,
// and names longer than an identifier (63 bytes).
func CheckName(kind, name string) error {
	low := strings.ToLower(name)
	if len(name) > 63 {
		return engine.Invalid("", fmt.Sprintf("%q is longer than the 63 bytes of a PostgreSQL identifier", name))
	}
	switch kind {
	case engine.ObjectUser:
		if reservedRoles[low] || strings.HasPrefix(low, "pg_") {
			return engine.Invalid("", fmt.Sprintf("role name %q is reserved by PostgreSQL", name))
		}
	case engine.ObjectDatabase:
		if low == "template0" || low == "template1" || low == "postgres" {
			return engine.Invalid("", fmt.Sprintf("database name %q is reserved by PostgreSQL", name))
		}
	}
	return nil
}

// ValidateFirewall implements engine.Validator with CheckFirewall.
func (d *Driver) ValidateFirewall(entries []string) error { return CheckFirewall(entries) }

// CheckFirewall checks that every entry fits pg_hba.conf: an address or a
// network, without an IPv6 zone (pg_hba.conf has none).
func CheckFirewall(entries []string) error {
	for _, e := range entries {
		if a, err := netip.ParseAddr(strings.TrimSpace(e)); err == nil && a.Zone() != "" {
			return engine.Invalid("", fmt.Sprintf("entry %q has an IPv6 zone, which pg_hba.conf cannot express; give the address without %%%s", e, a.Zone()))
		}
	}
	if _, err := firewallCIDRs(entries); err != nil {
		return engine.Invalid("", strings.TrimPrefix(err.Error(), engine.ErrInvalid.Error()+": "))
	}
	return nil
}
