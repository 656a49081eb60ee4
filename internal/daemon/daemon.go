// Package daemon assembles dbaasd from its parts: the store, the catalogs,
// authentication, the service, the reconciler and the HTTP handler. The
// command (cmd/dbaasd) and the end-to-end tests both build dbaasd here.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/auth/identity"
	"github.com/dbaasd/dbaasd/internal/backup"
	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/proc"
	"github.com/dbaasd/dbaasd/internal/httpapi"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/objectstore"
	"github.com/dbaasd/dbaasd/internal/reconcile"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/service"
	"github.com/dbaasd/dbaasd/internal/store"
	"github.com/dbaasd/dbaasd/internal/telemetry"
)

// Config is dbaasd's configuration.
type Config struct {
	Listen    string
	DataDir   string
	Store     string // "" = SQLite in DataDir; postgres://… = PostgreSQL
	Region    string
	PublicURL string
	Tokens    []auth.StaticToken
	// Users may log in at the identity endpoint (/identity/v3).
	Users []identity.User
	// TokenTTL is the lifetime of identity tokens (default 24h).
	TokenTTL      time.Duration
	SecretKeyFile string // "" = DataDir/secret.key
	EngineHost    string
	PortMin       int
	PortMax       int
	Workers       int
	// MaxBackups bounds the backups that run at once (default half the
	// workers, at least 1).
	MaxBackups    int
	ProbeInterval time.Duration
	// BackupInterval is the time between base backups of a datastore
	// (default 24h).
	BackupInterval time.Duration
	// BackupStore, when set, is the S3-compatible object storage backups
	// go to (--backup-store): on the local runtime, base backups and every
	// archived file are uploaded there; on the Kubernetes runtime it is
	// the operator's object store (unless Kubernetes.ObjectStore is set).
	BackupStore *objectstore.Config
	// MetricsInterval is how often clusters are sampled (default 30s),
	// MetricsRetention how long samples are kept (default 168h), and
	// LogExportURL, when set, where exported logs are POSTed (default:
	// files under DataDir/log-export).
	MetricsInterval  time.Duration
	MetricsRetention time.Duration
	LogExportURL     string
	// FailoverAfter is how long a primary may not answer before a replica
	// is promoted (default 2s).
	FailoverAfter time.Duration
	// ReplicaID names this dbaasd among replicas sharing a store (default
	// hostname-pid); ActionLease is how long it reserves an action.
	ReplicaID   string
	ActionLease time.Duration
	// RetryAfter is the first back-off before a datastore in ERROR is
	// tried again (default 1m, doubling to 1h).
	RetryAfter  time.Duration
	Quotas      map[string]int64 // defaults for projects without explicit quotas
	FloatingIPs netip.Prefix
	// TemplateDir holds the engines' prepared data directory templates
	// (default DataDir/templates); several dbaasd may share one.
	TemplateDir string
	// RunDir holds the datastores' runtime directories: their Unix sockets
	// and pid files (default DefaultRunDir()). Several dbaasd may share one.
	RunDir string
	// Drivers overrides the engine drivers; nil = those of Runtime.
	Drivers map[string]engine.Driver
	// WrapDrivers, when set, replaces the drivers dbaasd would use (tests:
	// a driver without its request checks, to reach the reconciler's
	// safety nets).
	WrapDrivers func(map[string]engine.Driver) map[string]engine.Driver
	// Runtime is where datastores run: RuntimeLocal (default, this
	// machine) or RuntimeKubernetes (Kubernetes, configured by Kubernetes).
	Runtime    string
	Kubernetes KubernetesConfig
	// Self is the command that runs this binary (default: os.Executable()).
	Self    []string
	SelfEnv []string
	// PprofListen, when set, serves Go's pprof profiles there (debugging).
	PprofListen string
	// NoReconciler serves the API without converging engines (tests of the
	// API surface only).
	NoReconciler bool
	// Recorded, when set with NoReconciler, is a catalog recorded earlier
	// from the engines (catalog.Discovered): dbaasd offers it instead of
	// asking the engines, and checks names and firewall entries but not
	// configurations (which takes a scratch server), so it starts no
	// engine process at all (the API tests of make test-short).
	Recorded []catalog.Discovered
	Logger   *slog.Logger
	// Banner receives the one-time bootstrap token message (default stdout).
	Banner io.Writer
}

// Daemon is an assembled dbaasd.
type Daemon struct {
	cfg        Config
	Store      store.Store
	Service    *service.Service
	Auth       *auth.Authenticator
	Reconciler *reconcile.Reconciler
	Handler    http.Handler
	Drivers    map[string]engine.Driver
	Backups    *backup.Manager
	Telemetry  *telemetry.Service
	log        *slog.Logger
	hasher     *secret.Hasher
	ready      atomic.Bool
}

// defaults fills what the command line left empty and needs no I/O:
// the logger, the banner's writer, the region and this replica's name
// (host name and process ID), resolved here once for the reconciler,
// backups and telemetry alike.
func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Banner == nil {
		c.Banner = os.Stdout
	}
	if c.Region == "" {
		c.Region = "local"
	}
	if c.ReplicaID == "" {
		h, _ := os.Hostname()
		c.ReplicaID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
}

// New builds dbaasd: it opens the store (applying migrations), discovers
// the installed engines and syncs the catalogs, sets up tokens, and
// prepares the HTTP handler and the reconciler. Nothing is served yet.
func New(ctx context.Context, cfg Config) (*Daemon, error) {
	cfg.defaults()
	log := cfg.Logger
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	cfg.DataDir = dataDir
	if err := prepareDataDir(dataDir); err != nil {
		return nil, err
	}
	if cfg.RunDir, err = prepareRunDir(cfg.RunDir); err != nil {
		return nil, err
	}
	if cfg.SecretKeyFile == "" {
		cfg.SecretKeyFile = filepath.Join(dataDir, "secret.key")
	}
	restrictKeyFile(cfg.SecretKeyFile, log)
	key, err := secret.LoadOrCreateKey(cfg.SecretKeyFile)
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	hasher, err := secret.NewHasher(key)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Store, dataDir, box)
	if err != nil {
		return nil, err
	}
	d := &Daemon{cfg: cfg, Store: st, log: log, hasher: hasher}
	if err := d.setup(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) setup(ctx context.Context) error {
	cfg, log := d.cfg, d.log
	drivers := cfg.Drivers
	templates := cfg.TemplateDir
	if templates == "" {
		templates = filepath.Join(cfg.DataDir, "templates")
	}
	if drivers == nil && cfg.Runtime == RuntimeKubernetes {
		k := cfg.Kubernetes
		if k.ObjectStore == nil {
			k.ObjectStore = cfg.BackupStore
		}
		if k.TemplateDir == "" {
			k.TemplateDir = templates
		}
		var err error
		if drivers, err = KubernetesDrivers(ctx, k, log); err != nil {
			return err
		}
	}
	if drivers == nil {
		runner, err := proc.Default()
		if err != nil {
			return err
		}
		if err := runner.CheckAccess(ctx, cfg.DataDir); err != nil {
			return err
		}
		// Tools a crashed dbaasd left running (and what they forked) go.
		if err := runner.TrackTools(filepath.Join(cfg.DataDir, "run", "tools")); err != nil {
			return err
		}
		self, err := selfCommand(cfg.Self, filepath.Dir(templates), runner)
		if err != nil {
			return err
		}
		if drivers, err = LocalDrivers(templates, self, cfg.SelfEnv, log); err != nil {
			return err
		}
	}
	if cfg.WrapDrivers != nil {
		drivers = cfg.WrapDrivers(drivers)
	}
	d.Drivers = drivers
	machine := catalog.DetectMachine(cfg.DataDir)
	if cfg.Runtime == RuntimeKubernetes {
		machine = kubernetesMachine(ctx, machine, drivers, log)
	}
	validators := Validators(drivers)
	var found []catalog.Discovered
	if cfg.Recorded != nil && cfg.NoReconciler {
		found = cfg.Recorded
		for name, v := range validators {
			validators[name] = withoutEngineProcesses{v}
		}
	} else {
		found = catalog.Discover(ctx, drivers, log)
	}
	if err := catalog.Sync(ctx, d.Store, found, machine); err != nil {
		return fmt.Errorf("sync catalog: %w", err)
	}
	if err := catalog.PruneConfigs(ctx, d.Store, found, log); err != nil {
		return fmt.Errorf("prune configurations: %w", err)
	}
	for _, f := range found {
		log.Info("engine available", "engine", f.Type.Engine, "version", f.Type.Version, "full_version", f.Type.FullVersion,
			"parameters", len(f.Parameters), "extensions", len(f.Extensions))
	}
	d.Auth = auth.New(d.Store, d.hasher)
	if err := d.Auth.SetupStatic(ctx, cfg.Tokens); err != nil {
		return err
	}
	if len(cfg.Tokens) == 0 {
		if err := d.Auth.Bootstrap(ctx, cfg.Banner); err != nil {
			return err
		}
	}
	quotas := service.DefaultQuotas()
	for k, v := range cfg.Quotas {
		quotas[k] = v
	}
	d.Reconciler = reconcile.New(d.Store, drivers, reconcile.Config{
		DataDir: cfg.DataDir, EngineHost: cfg.EngineHost, PortMin: cfg.PortMin, PortMax: cfg.PortMax,
		RunDir:  cfg.RunDir,
		Workers: cfg.Workers, MaxBackups: cfg.MaxBackups, ProbeInterval: cfg.ProbeInterval, ArchiveDir: archiveDirs(cfg.DataDir), FailoverAfter: cfg.FailoverAfter,
		Owner: cfg.ReplicaID, Lease: cfg.ActionLease, RetryAfter: cfg.RetryAfter, PortFree: d.portFree(),
	}, log.With("component", "reconciler"))
	if err := d.setupBackups(ctx); err != nil {
		return err
	}
	notify := d.Reconciler.Notify
	if cfg.NoReconciler {
		notify = nil
	}
	d.Service = service.New(d.Store, service.Config{
		Capabilities: Capabilities(drivers), Machine: machine, Region: cfg.Region, DefaultQuotas: quotas, FloatingIPPool: cfg.FloatingIPs,
		Validators: validators, DiskValidators: DiskValidators(drivers),
		Hasher: d.hasher,
	}, log, notify)
	mounts, err := d.mounts(ctx)
	if err != nil {
		return err
	}
	tel, observe := d.setupTelemetry(mounts)
	h, err := httpapi.NewHandler(httpapi.Options{
		Service: d.Service, Authenticator: d.Auth, Logger: log, Ready: d.ready.Load, Mounts: mounts,
		Telemetry: tel, Observe: observe,
	})
	if err != nil {
		return err
	}
	d.Handler = h
	return nil
}

// Run serves the API and runs the reconciler until ctx ends, then drains
// in-flight requests. Engines keep running: restarting dbaasd never stops
// a cluster.
func (d *Daemon) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", d.cfg.Listen, err)
	}
	return d.Serve(ctx, ln)
}

// Serve is Run on a given listener.
func (d *Daemon) Serve(ctx context.Context, ln net.Listener) error {
	if d.cfg.PprofListen != "" {
		go d.servePprof(ctx)
	}
	srv := &http.Server{Handler: d.Handler, ReadHeaderTimeout: 10 * time.Second}
	rctx, stopReconciler := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !d.cfg.NoReconciler {
			_ = d.Reconciler.Run(rctx)
		}
	}()
	telDone := d.startTelemetry(rctx)
	backupsDone := d.startBackups(rctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// What start-up parsed and discovered (the OpenAPI document, the
	// engines' catalogs) and no longer needs goes back to the system now,
	// rather than over minutes, so an idle dbaasd stays small.
	debug.FreeOSMemory()
	d.ready.Store(true)
	d.log.Info("dbaasd serving", "listen", ln.Addr().String(), "data_dir", d.cfg.DataDir, "store", d.Store.Dialect())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	d.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		d.log.Warn("drain requests", "error", err)
	}
	stopReconciler()
	<-done
	<-telDone
	<-backupsDone
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// Close releases the store.
func (d *Daemon) Close() error { return d.Store.Close() }

// Project creates a project with an API token (for tests and tooling).
func (d *Daemon) Project(ctx context.Context, projectID, token string, admin bool) error {
	return d.Store.InTx(ctx, func(tx store.Tx) error {
		if err := auth.EnsureProject(ctx, tx, projectID, time.Now()); err != nil {
			return err
		}
		return tx.PutToken(ctx, model.Token{Hash: d.hasher.Hash(token), ProjectID: projectID, Admin: admin,
			Source: auth.SourceProvisioned, CreatedAt: time.Now().UTC()})
	})
}
