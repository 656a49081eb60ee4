package redis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// paramSpec is the curation of one user-settable parameter: what the server
// cannot tell (units, sensible bounds, enumerations, flavor templates).
// Types not given are inferred from the server's value: an integer → int,
// yes/no → bool, anything else → str.
type paramSpec struct {
	typ        string
	unit       string
	min, max   *float64
	choices    []string
	minT, maxT string
	defT       string
	canBeEmpty bool
}

func f(v float64) *float64 { return &v }

// catalogParams are the parameters users may set: those that tune the
// server's behaviour for their data. Left out are everything the driver
// manages (addresses, ports, files, passwords, replication, sentinel,
// TLS, cluster mode, modules, renamed commands, debugging switches) and
// maxmemory's freedom to exceed the flavor: maxmemory is offered with the
// flavor's RAM as its maximum and MaxMemoryPercent of it as its default.
var catalogParams = map[string]paramSpec{
	"maxmemory": {typ: "int", unit: "bytes", min: f(1 << 20),
		maxT: "ram * 1048576", defT: fmt.Sprintf("ram * 1048576 * %d / 100", MaxMemoryPercent)},
	"maxmemory-policy": {choices: []string{"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
		"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}},
	"maxmemory-samples":                 {min: f(1), max: f(64)},
	"maxmemory-eviction-tenacity":       {unit: "%", min: f(0), max: f(100)},
	"maxmemory-clients":                 {typ: "str"},
	"timeout":                           {unit: "s", min: f(0)},
	"tcp-keepalive":                     {unit: "s", min: f(0)},
	"notify-keyspace-events":            {canBeEmpty: true},
	"appendonly":                        {},
	"appendfsync":                       {choices: []string{"always", "everysec", "no"}},
	"no-appendfsync-on-rewrite":         {},
	"auto-aof-rewrite-percentage":       {unit: "%", min: f(0)},
	"auto-aof-rewrite-min-size":         {unit: "bytes", min: f(0)},
	"aof-use-rdb-preamble":              {},
	"aof-timestamp-enabled":             {},
	"save":                              {typ: "str", canBeEmpty: true},
	"stop-writes-on-bgsave-error":       {},
	"rdbcompression":                    {},
	"rdbchecksum":                       {},
	"hz":                                {min: f(1), max: f(500)},
	"dynamic-hz":                        {},
	"active-expire-effort":              {min: f(1), max: f(10)},
	"activerehashing":                   {},
	"activedefrag":                      {},
	"active-defrag-ignore-bytes":        {unit: "bytes", min: f(0)},
	"active-defrag-threshold-lower":     {unit: "%", min: f(0), max: f(1000)},
	"active-defrag-threshold-upper":     {unit: "%", min: f(0), max: f(1000)},
	"active-defrag-cycle-min":           {unit: "%", min: f(1), max: f(99)},
	"active-defrag-cycle-max":           {unit: "%", min: f(1), max: f(99)},
	"jemalloc-bg-thread":                {},
	"lazyfree-lazy-eviction":            {},
	"lazyfree-lazy-expire":              {},
	"lazyfree-lazy-server-del":          {},
	"lazyfree-lazy-user-del":            {},
	"lazyfree-lazy-user-flush":          {},
	"replica-lazy-flush":                {},
	"slowlog-log-slower-than":           {unit: "us", min: f(-1)},
	"slowlog-max-len":                   {min: f(0)},
	"latency-tracking":                  {},
	"latency-tracking-info-percentiles": {typ: "str", canBeEmpty: true},
	"latency-monitor-threshold":         {unit: "ms", min: f(0)},
	"busy-reply-threshold":              {unit: "ms", min: f(0)},
	"maxclients":                        {min: f(1), max: f(65000)},
	"databases":                         {min: f(1), max: f(10000)},
	"io-threads":                        {min: f(1), max: f(128), maxT: "vcpus"},
	"io-threads-do-reads":               {},
	"loglevel":                          {choices: []string{"debug", "verbose", "notice", "warning"}},
	"acllog-max-len":                    {min: f(0)},
	"lfu-log-factor":                    {min: f(0)},
	"lfu-decay-time":                    {unit: "min", min: f(0)},
	"tracking-table-max-keys":           {min: f(0)},
	"client-output-buffer-limit":        {typ: "str"},
	"client-query-buffer-limit":         {unit: "bytes", min: f(1 << 20)},
	"proto-max-bulk-len":                {unit: "bytes", min: f(1 << 20)},
	"hash-max-listpack-entries":         {min: f(0)},
	"hash-max-listpack-value":           {unit: "bytes", min: f(0)},
	"list-max-listpack-size":            {},
	"list-compress-depth":               {min: f(0)},
	"set-max-intset-entries":            {min: f(0)},
	"zset-max-listpack-entries":         {min: f(0)},
	"zset-max-listpack-value":           {unit: "bytes", min: f(0)},
	"hll-sparse-max-bytes":              {unit: "bytes", min: f(0)},
	"stream-node-max-bytes":             {unit: "bytes", min: f(0)},
	"stream-node-max-entries":           {min: f(0)},
	"repl-backlog-size":                 {unit: "bytes", min: f(16384)},
	"repl-backlog-ttl":                  {unit: "s", min: f(0)},
	"repl-timeout":                      {unit: "s", min: f(1)},
	"repl-ping-replica-period":          {unit: "s", min: f(1)},
	"repl-diskless-sync":                {},
	"repl-diskless-sync-delay":          {unit: "s", min: f(0)},
	"repl-diskless-sync-max-replicas":   {min: f(0)},
	"repl-diskless-load":                {choices: []string{"disabled", "on-empty-db", "swapdb"}},
	"repl-disable-tcp-nodelay":          {},
	"replica-serve-stale-data":          {},
	"min-replicas-to-write":             {min: f(0)},
	"min-replicas-max-lag":              {unit: "s", min: f(0)},
}

// generatedDefaults are the values the driver's config gives parameters
// whose Redis default it overrides (or states explicitly).
var generatedDefaults = map[string]string{
	"maxmemory-policy":         "noeviction",
	"save":                     "3600 1 300 100 60 10000",
	"appendonly":               "no",
	"repl-diskless-sync-delay": "0",
}

// Catalog reports the parameters users may set, read from a real server:
// the driver starts a temporary redis-server (on a Unix socket only), reads
// CONFIG GET * for names, defaults and types, and tries CONFIG SET of each
// parameter's current value to learn which ones need a restart. The result
// is cached for the driver's lifetime.
func (d *Driver) Catalog(ctx context.Context) (engine.Catalog, error) {
	d.catalogMu.Lock()
	defer d.catalogMu.Unlock()
	if d.catalog == nil {
		values, restart, err := d.probeParams(ctx)
		if err != nil {
			return engine.Catalog{}, err
		}
		cat := buildCatalog(values, restart)
		d.catalog = &cat
		d.defaults = map[string]string{}
		for name := range catalogParams {
			if v, ok := values[name]; ok {
				d.defaults[name] = v
			}
		}
	}
	return engine.Catalog{Parameters: append([]engine.Parameter{}, d.catalog.Parameters...)}, nil
}

// paramDefaults returns the server's own value (as CONFIG GET reports it
// on a server started without them) of every parameter a tenant may set.
func (d *Driver) paramDefaults(ctx context.Context) (map[string]string, error) {
	if _, err := d.Catalog(ctx); err != nil {
		return nil, err
	}
	d.catalogMu.Lock()
	defer d.catalogMu.Unlock()
	return d.defaults, nil
}

// buildCatalog turns the server's values into curated parameters.
func buildCatalog(values map[string]string, restart map[string]bool) engine.Catalog {
	var cat engine.Catalog
	for name, spec := range catalogParams {
		v, ok := values[name]
		if !ok {
			continue // not in this Redis version
		}
		if g, ok := generatedDefaults[name]; ok {
			v = g
		}
		p := engine.Parameter{
			Name: name, Type: spec.typ, Unit: spec.unit, Min: spec.min, Max: spec.max,
			Choices: spec.choices, MinTemplate: spec.minT, MaxTemplate: spec.maxT, DefaultTemplate: spec.defT,
			RestartRequired: restart[name], Changeable: true, CanBeEmpty: spec.canBeEmpty,
		}
		if p.Type == "" {
			p.Type = inferType(v, spec.choices)
		}
		if spec.defT == "" {
			p.Default = typedValue(p.Type, v)
		}
		cat.Parameters = append(cat.Parameters, p)
	}
	sort.Slice(cat.Parameters, func(i, j int) bool { return cat.Parameters[i].Name < cat.Parameters[j].Name })
	return cat
}

// inferType guesses a parameter's type from its value.
func inferType(v string, choices []string) string {
	switch {
	case len(choices) > 0:
		return "str"
	case v == "yes" || v == "no":
		return "bool"
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "int"
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return "float"
	}
	return "str"
}

// typedValue converts a server value to the parameter's type.
func typedValue(typ, v string) any {
	switch typ {
	case "int":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case "float":
		if x, err := strconv.ParseFloat(v, 64); err == nil {
			return x
		}
	case "bool":
		return v == "yes"
	}
	return v
}

// probeParams runs a temporary server and returns every parameter's value
// and which of the curated ones cannot be changed live.
func (d *Driver) probeParams(ctx context.Context) (map[string]string, map[string]bool, error) {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, stop, err := d.scratchServer(pctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %w", err)
	}
	defer stop()
	values, err := cl.ConfigGet(pctx, "*").Result()
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: CONFIG GET: %w", err)
	}
	restart := map[string]bool{}
	for name := range catalogParams {
		v, ok := values[name]
		if !ok {
			continue
		}
		err := cl.ConfigSet(pctx, name, v).Err()
		switch {
		case err == nil:
		case isImmutable(err):
			restart[name] = true
		case isRedisReply(err):
			return nil, nil, fmt.Errorf("catalog: CONFIG SET %s %q: %w", name, v, err)
		default:
			return nil, nil, fmt.Errorf("catalog: CONFIG SET %s: %w", name, err)
		}
	}
	return values, restart, nil
}

// scratchExit is a scratch server that exited instead of serving: Output
// is what it printed (a configuration it refused, in its words).
type scratchExit struct{ Output string }

func (e *scratchExit) Error() string {
	return "temporary redis-server exited: " + strings.TrimSpace(e.Output)
}

// scratchServer starts a temporary redis-server on a Unix socket in a
// private directory, with extra lines appended to its configuration file,
// and returns a client and a function that stops it and removes the
// directory. A server that exits at once is a *scratchExit.
func (d *Driver) scratchServer(ctx context.Context, extra []string) (*goredis.Client, func(), error) {
	r, err := d.base()
	if err != nil {
		return nil, nil, err
	}
	bin, err := serverBinary()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "dbaasd-redis-scratch")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err := os.Chmod(dir, 0o700); err != nil {
		cleanup()
		return nil, nil, err
	}
	if err := r.Chown(dir); err != nil {
		cleanup()
		return nil, nil, err
	}
	sock := filepath.Join(dir, "redis.sock")
	lines := append([]string{
		"port 0", "unixsocket " + quote(sock), "unixsocketperm 700", "daemonize no",
		"dir " + quote(dir), `logfile ""`, `save ""`, "appendonly no",
	}, extra...)
	confPath := filepath.Join(dir, "redis.conf")
	if _, err := r.WriteFile(confPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		cleanup()
		return nil, nil, err
	}
	cmd := r.Command(context.WithoutCancel(ctx), bin, confPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
		cleanup()
	}
	for {
		cl, err := dialClient(ctx, unixEndpoint(sock), cred{})
		if err == nil {
			if err = cl.Ping(ctx).Err(); err == nil {
				return cl, func() { _ = cl.Close(); stop() }, nil
			}
			_ = cl.Close()
		}
		select {
		case <-exited:
			stop()
			return nil, nil, &scratchExit{Output: out.String()}
		case <-ctx.Done():
			stop()
			return nil, nil, fmt.Errorf("temporary redis-server does not answer: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
