package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Flavor-dependent bounds and defaults of the parameters dbaasd tunes, as
// expressions over ram (MB), vcpus and disk (GB) for the expr-lang/expr
// library, in the parameters' pg_settings units (shared_buffers and
// effective_cache_size in 8kB pages, the *_mem ones in kB). The defaults
// are exactly what tuneFor gives the servers.
const (
	maxConnectionsExpr = "min(max(int(ram / 10), 25), 5000)"
)

type paramTemplate struct{ min, max, def string }

var paramTemplates = map[string]paramTemplate{
	"shared_buffers":       {def: "ram * 32", max: "int(ram * 1024 * 0.8 / 8)"},
	"effective_cache_size": {def: "ram * 96", max: "ram * 128"},
	"max_connections":      {def: maxConnectionsExpr},
	"work_mem": {
		def: "min(max(int(ram * 768 / (3 * " + maxConnectionsExpr + ")), 4096), 2097152)",
		max: "int(ram * 1024 / 4)",
	},
	"maintenance_work_mem": {def: "min(max(ram * 64, 65536), 2097152)", max: "min(int(ram * 1024 / 2), 2147483647)"},
}

// changeableContexts are the pg_settings contexts a configuration file can set.
var changeableContexts = map[string]bool{"postmaster": true, "sighup": true, "superuser": true,
	"user": true, "backend": true, "superuser-backend": true}

// catalogFile is the JSON cache of a catalog beside its template.
type catalogFile struct {
	Version string
	Catalog engine.Catalog
}

// Catalog reports PostgreSQL's parameters (from pg_settings) and extensions
// (from pg_available_extensions) as read from a short-lived server started
// from the template. It is cached in memory and as catalog.json beside the
// template, keyed by the full version.
func (d *Driver) Catalog(ctx context.Context) (engine.Catalog, error) {
	e, err := d.env(ctx, "")
	if err != nil {
		return engine.Catalog{}, err
	}
	full := e.inst.full
	d.mu.Lock()
	cat, ok := d.catalogs[full]
	d.mu.Unlock()
	if ok {
		return cat, nil
	}
	d.catalogMu.Lock()
	defer d.catalogMu.Unlock()
	d.mu.Lock()
	cat, ok = d.catalogs[full]
	d.mu.Unlock()
	if ok {
		return cat, nil
	}

	tmpl, err := d.templateData(ctx, e)
	if err != nil {
		return engine.Catalog{}, err
	}
	path := filepath.Join(filepath.Dir(tmpl), "catalog.json")
	var cf catalogFile
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &cf) == nil && cf.Version == full && len(cf.Catalog.Parameters) > 0 {
		cat = cf.Catalog
	} else {
		if cat, err = d.readCatalog(ctx, e, tmpl); err != nil {
			return engine.Catalog{}, err
		}
		b, _ := json.MarshalIndent(catalogFile{Version: full, Catalog: cat}, "", " ")
		if _, err := e.r.WriteFile(path, b, 0o644); err != nil {
			d.log.Warn("cannot cache the catalog", "path", path, "error", err)
		}
	}
	cat = tenantCatalog(cat)
	d.mu.Lock()
	d.catalogs[full] = cat
	d.mu.Unlock()
	return cat, nil
}

// tenantCatalog keeps the parameters a tenant may set (allowedParams) of
// everything pg_settings lists: the catalog offers nothing else.
func tenantCatalog(cat engine.Catalog) engine.Catalog {
	out := cat
	out.Parameters = nil
	for _, p := range cat.Parameters {
		if checkUserParam(p.Name) == nil && p.Changeable {
			out.Parameters = append(out.Parameters, p)
		}
	}
	return out
}

// readCatalog starts a private server (Unix socket only) on a copy of the
// template and reads its catalogs.
func (d *Driver) readCatalog(ctx context.Context, e *env, tmpl string) (engine.Catalog, error) {
	tmp, err := os.MkdirTemp("", "dbaasd-pgcat-")
	if err != nil {
		return engine.Catalog{}, fmt.Errorf("catalog: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := e.r.MkdirAll(tmp, 0o700); err != nil {
		return engine.Catalog{}, err
	}
	data := filepath.Join(tmp, "data")
	if err := e.r.CopyTree(tmpl, data); err != nil {
		return engine.Catalog{}, fmt.Errorf("catalog: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return engine.Catalog{}, fmt.Errorf("catalog: %w", err)
	}
	p := nodePaths{id: "catalog", data: data, socketDir: tmp, port: port}
	opts := fmt.Sprintf("-c listen_addresses='' -c unix_socket_directories='%s' -c port=%d -c logging_collector=off", tmp, port)
	if _, err := e.r.Run(ctx, e.inst.bin("pg_ctl"), "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(tmp, "server.log"), "-o", opts); err != nil {
		return engine.Catalog{}, fmt.Errorf("catalog: start a server: %w", err)
	}
	defer func() {
		_, _ = e.r.Run(context.WithoutCancel(ctx), e.inst.bin("pg_ctl"), "stop", "-w", "-m", "immediate", "-D", data)
	}()
	var cat engine.Catalog
	err = withConn(ctx, p, "postgres", func(conn *pgx.Conn) error {
		var err error
		if cat.Parameters, err = readParameters(ctx, conn); err != nil {
			return err
		}
		cat.Extensions, err = readExtensions(ctx, conn)
		return err
	})
	return cat, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func readParameters(ctx context.Context, conn *pgx.Conn) ([]engine.Parameter, error) {
	rows, err := conn.Query(ctx, `SELECT name, vartype, coalesce(unit, ''), min_val, max_val,
		coalesce(enumvals, '{}'), coalesce(boot_val, ''), context, category
		FROM pg_settings ORDER BY name`)
	if err != nil {
		return nil, sqlError(err, "catalog: read pg_settings")
	}
	var out []engine.Parameter
	var name, vartype, unit, boot, context, category string
	var minVal, maxVal *string
	var enumvals []string
	_, err = pgx.ForEachRow(rows, []any{&name, &vartype, &unit, &minVal, &maxVal, &enumvals, &boot, &context, &category}, func() error {
		out = append(out, parameter(name, vartype, unit, minVal, maxVal, enumvals, boot, context, category))
		return nil
	})
	if err != nil {
		return nil, sqlError(err, "catalog: read pg_settings")
	}
	return out, nil
}

// parameter turns one pg_settings row into a catalog parameter.
func parameter(name, vartype, unit string, minVal, maxVal *string, enumvals []string, boot, context, category string) engine.Parameter {
	p := engine.Parameter{
		Name:            name,
		Unit:            unit,
		RestartRequired: context == "postmaster",
		Changeable:      changeableContexts[context] && category != "Developer Options" && checkUserParam(name) == nil,
	}
	num := func(s *string) *float64 {
		if s == nil {
			return nil
		}
		f, err := strconv.ParseFloat(*s, 64)
		if err != nil {
			return nil
		}
		return &f
	}
	switch vartype {
	case "bool":
		p.Type = "bool"
		p.Default = boot == "on"
	case "integer", "real":
		p.Type = map[string]string{"integer": "int", "real": "float"}[vartype]
		p.Min, p.Max = num(minVal), num(maxVal)
		if f := num(&boot); f != nil {
			p.Default = *f
		}
	case "enum":
		p.Type = "str"
		p.Choices = enumvals
		p.Default = boot
	default:
		p.Type = "str"
		p.Default = boot
		p.CanBeEmpty = boot == ""
	}
	if t, ok := paramTemplates[name]; ok {
		p.MinTemplate, p.MaxTemplate, p.DefaultTemplate = t.min, t.max, t.def
	}
	return p
}

func readExtensions(ctx context.Context, conn *pgx.Conn) ([]engine.ExtensionInfo, error) {
	rows, err := conn.Query(ctx, `SELECT e.name::text, coalesce(v.requires::text[], '{}')
		FROM pg_available_extensions e
		LEFT JOIN pg_available_extension_versions v ON v.name = e.name AND v.version = e.default_version
		ORDER BY e.name`)
	if err != nil {
		return nil, sqlError(err, "catalog: read pg_available_extensions")
	}
	var out []engine.ExtensionInfo
	var x engine.ExtensionInfo
	_, err = pgx.ForEachRow(rows, []any{&x.Name, &x.Requires}, func() error {
		if len(x.Requires) == 0 {
			x.Requires = nil
		}
		out = append(out, x)
		x = engine.ExtensionInfo{}
		return nil
	})
	if err != nil {
		return nil, sqlError(err, "catalog: read pg_available_extensions")
	}
	return out, nil
}
