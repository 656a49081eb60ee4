package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/auth/identity"
	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/service"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "DBAAS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads flags, falling back to DBAAS_* environment variables
// for flags not given on the command line.
func parseConfig(args []string, getenv func(string) string) (daemon.Config, error) {
	fs := flag.NewFlagSet("dbaasd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		cfg                     daemon.Config
		tokens, quotas          listFlag
		users                   listFlag
		usersFile               string
		portRange, floatingPool string
		logFormat, logLevel     string
	)
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	fs.StringVar(&cfg.DataDir, "data-dir", "./data", "directory for the store, clusters and backups")
	fs.StringVar(&cfg.Store, "store", "", "state store: empty = SQLite in the data dir, or a postgres:// URL")
	fs.StringVar(&cfg.Region, "region", "local", "region name in the service catalog")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "advertised base URL (default http://LISTEN)")
	fs.Var(&tokens, "token", "static API token TOKEN=PROJECT_ID[:admin] (repeatable; env DBAAS_TOKENS, comma-separated)")
	fs.Var(&users, "user", "identity user NAME:PASSWORD:PROJECT_ID[+PROJECT_ID...][@DOMAIN] (repeatable; env DBAAS_USERS, comma-separated)")
	fs.StringVar(&usersFile, "users-file", "", "file of identity users, one NAME:PASSWORD:PROJECT_ID[+PROJECT_ID...][@DOMAIN] per line")
	fs.DurationVar(&cfg.TokenTTL, "token-ttl", identity.DefaultTokenTTL, "lifetime of tokens issued by the identity endpoint")
	fs.StringVar(&cfg.TemplateDir, "template-dir", "", "prepared engine data directory templates (default DATA_DIR/templates)")
	fs.StringVar(&cfg.RunDir, "run-dir", "", "datastores' Unix sockets and pid files, a short path (default /run/dbaasd for root, else $XDG_RUNTIME_DIR/dbaasd or /tmp/dbaasd-UID)")
	fs.StringVar(&cfg.SecretKeyFile, "secret-key-file", "", "file with the key that encrypts secrets (default DATA_DIR/secret.key)")
	fs.StringVar(&cfg.EngineHost, "engine-host", "127.0.0.1", "address engine servers listen on")
	fs.StringVar(&portRange, "port-range", "21000-29999", "ports given to engine servers")
	fs.StringVar(&floatingPool, "floating-ip-pool", service.DefaultFloatingIPPool.String(), "addresses floating IPs are taken from")
	fs.IntVar(&cfg.Workers, "workers", 4, "actions run at once")
	fs.IntVar(&cfg.MaxBackups, "max-backups", 0, "backups run at once, at most (default half the workers, at least 1; the other workers stay free for requests)")
	fs.DurationVar(&cfg.ProbeInterval, "probe-interval", time.Second, "how often clusters are observed")
	fs.DurationVar(&cfg.FailoverAfter, "failover-after", 2*time.Second, "how long a primary may not answer before a replica is promoted")
	fs.DurationVar(&cfg.RetryAfter, "retry-after", time.Minute, "first back-off before a datastore in ERROR is tried again (doubles up to 1h)")
	fs.StringVar(&cfg.ReplicaID, "replica-id", "", "name of this dbaasd among replicas sharing a store (default hostname-pid)")
	fs.DurationVar(&cfg.ActionLease, "action-lease", 30*time.Second, "how long a replica reserves an action it works on")
	fs.DurationVar(&cfg.BackupInterval, "backup-interval", 24*time.Hour, "time between base backups of a datastore")
	fs.Var(&quotas, "quota", "default project quota RESOURCE=N (repeatable; env DBAAS_QUOTA, comma-separated)")
	fs.StringVar(&cfg.PprofListen, "pprof-listen", "", "serve Go's pprof profiles on this address (debugging; off when empty)")
	fs.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&cfg.MetricsInterval, "metrics-interval", 30*time.Second, "how often every cluster's nodes are sampled for metrics")
	fs.DurationVar(&cfg.MetricsRetention, "metrics-retention", 7*24*time.Hour, "how long metric samples are kept")
	fs.StringVar(&cfg.LogExportURL, "log-export-url", "", "POST exported log lines (JSON lines) here instead of writing DATA_DIR/log-export files")
	finishRuntime := runtimeFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fs.SetOutput(os.Stdout)
			fmt.Println("Usage: dbaasd [flags]\n\nEvery flag can also be set with DBAAS_<FLAG> (e.g. DBAAS_DATA_DIR).")
			fs.PrintDefaults()
			os.Exit(0)
		}
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envErr != nil {
			return
		}
		name := envName(f.Name)
		if f.Name == "token" {
			name = "DBAAS_TOKENS"
		}
		if f.Name == "user" {
			name = "DBAAS_USERS"
		}
		v := getenv(name)
		if v == "" {
			return
		}
		if f.Name == "token" || f.Name == "quota" || f.Name == "user" {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					_ = f.Value.Set(item)
				}
			}
			return
		}
		if err := f.Value.Set(v); err != nil {
			envErr = fmt.Errorf("%s: %w", name, err)
		}
	})
	if envErr != nil {
		return cfg, envErr
	}
	for _, t := range tokens {
		st, err := auth.ParseStaticToken(t)
		if err != nil {
			return cfg, fmt.Errorf("--token: %w", err)
		}
		cfg.Tokens = append(cfg.Tokens, st)
	}
	idUsers, err := parseUsers(users, usersFile)
	if err != nil {
		return cfg, err
	}
	cfg.Users = idUsers
	lo, hi, ok := strings.Cut(portRange, "-")
	var err1, err2 error
	cfg.PortMin, err1 = strconv.Atoi(lo)
	cfg.PortMax, err2 = strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || cfg.PortMin < 1024 || cfg.PortMax > 65535 || cfg.PortMin >= cfg.PortMax {
		return cfg, fmt.Errorf("--port-range %q: want LOW-HIGH within 1024-65535", portRange)
	}
	p, err := netip.ParsePrefix(floatingPool)
	if err != nil {
		return cfg, fmt.Errorf("--floating-ip-pool: %w", err)
	}
	cfg.FloatingIPs = p
	cfg.Quotas = map[string]int64{}
	for _, q := range quotas {
		k, v, ok := strings.Cut(q, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if _, known := service.DefaultQuotas()[k]; !ok || err != nil || !known || n < 0 {
			return cfg, fmt.Errorf("--quota %q: want RESOURCE=N with a known resource", q)
		}
		cfg.Quotas[k] = n
	}
	if cfg.MetricsInterval < time.Second || cfg.MetricsRetention < cfg.MetricsInterval {
		return cfg, fmt.Errorf("--metrics-interval %s, --metrics-retention %s: want an interval of at least 1s and a longer retention",
			cfg.MetricsInterval, cfg.MetricsRetention)
	}
	if cfg.BackupInterval < time.Second {
		return cfg, fmt.Errorf("--backup-interval %s: want at least 1s", cfg.BackupInterval)
	}
	if err := finishRuntime(); err != nil {
		return cfg, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, fmt.Errorf("--log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch logFormat {
	case "text":
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	case "json":
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	default:
		return cfg, fmt.Errorf("--log-format %q: want text or json", logFormat)
	}
	return cfg, nil
}
