// Package apitest runs a whole dbaasd in a test — store, catalogs from the
// installed engines, service, reconciler (optional) and HTTP handler — and
// gives a client that checks every response against api/openapi.yaml.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/dbaasd/dbaasd/api"
	"github.com/dbaasd/dbaasd/internal/catalog"
	"github.com/dbaasd/dbaasd/internal/daemon"
	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/objectstore"
	"github.com/dbaasd/dbaasd/internal/testutil/intruder"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

// envSelf marks a test binary started as one of dbaasd's subcommands.
const envSelf = "DBAASD_TEST_SELF"

// Projects and tokens every Env has.
const (
	ProjectA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	ProjectB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	ProjectC = "cccccccccccccccccccccccccccccccc"
	TokenA   = "token-of-project-a"
	TokenB   = "token-of-project-b"
	TokenAdm = "token-of-the-admin"
)

var (
	shared     string
	sharedOnce sync.Once
)

// Main runs a test package that starts dbaasd: when the test binary is
// started as a dbaasd subcommand (a Kafka broker, a Redis forwarder) it
// becomes that; otherwise it runs the tests and cleans up after them.
func Main(m *testing.M) int {
	intruder.Main()
	if os.Getenv(envSelf) == "1" && len(os.Args) > 1 {
		ok, err := daemon.RunSubcommand(os.Args[1:])
		if !ok {
			return 2
		}
		if err != nil {
			_, _ = os.Stderr.WriteString(err.Error() + "\n")
			return 1
		}
		return 0
	}
	code := pgtest.Main(m)
	intruder.RemoveCopy()
	if shared != "" {
		_ = os.RemoveAll(shared)
	}
	return code
}

// sharedDir is a directory all daemons of this test binary share for
// engine templates (so initdb runs once per binary, not once per test).
func sharedDir(t testing.TB) string {
	sharedOnce.Do(func() {
		d, err := os.MkdirTemp("", "dbaasd-shared")
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(d, 0o755)
		shared = d
	})
	return shared
}

// Options configure an Env.
type Options struct {
	// Reconcile runs the reconciler (real engines); false serves the API only.
	Reconcile bool
	// Postgres uses a PostgreSQL store instead of SQLite.
	Postgres bool
	// Quotas are default project quotas.
	Quotas map[string]int64
	// DataDir reuses a data dir (to restart a dbaasd); "" = a new one.
	DataDir string
	// StoreURL reuses a store (to restart a dbaasd on PostgreSQL).
	StoreURL string
	// ProbeInterval for the reconciler (default 500ms).
	ProbeInterval time.Duration
	// FailoverAfter for the reconciler (default 2s).
	FailoverAfter time.Duration
	// RetryAfter for datastores in ERROR (default 1m).
	RetryAfter time.Duration
	// Users are identity users, NAME:PASSWORD:PROJECT_ID[+PROJECT_ID…][@DOMAIN].
	Users []string
	// Region is the region of the identity catalog (default "local").
	Region string
	// TokenTTL is the lifetime of identity tokens (default 24h).
	TokenTTL time.Duration
	// MetricsInterval is how often clusters are sampled (default 30s).
	MetricsInterval time.Duration
	// BackupInterval is the time between a datastore's backups (default
	// 24h; the first is taken once it is ACTIVE).
	BackupInterval time.Duration
	// LogWriter, when set, also receives everything dbaasd logs (debug
	// level, JSON), for tests of what the log holds.
	LogWriter io.Writer
	// WrapDrivers replaces the engine drivers (see daemon.Config).
	WrapDrivers func(map[string]engine.Driver) map[string]engine.Driver
	// Engines asks the installed engines for the catalog and checks
	// requests against them even without a reconciler; without it (and
	// without Reconcile), a dbaasd of -short offers the recorded catalog
	// and starts no engine process. A test with Engines is skipped with
	// -short.
	Engines bool
	// Runtime, Kubernetes and EngineHost select another runtime than the
	// local one (daemon.Config).
	Runtime    string
	Kubernetes daemon.KubernetesConfig
	EngineHost string
	// BackupStore is the object storage of backups (daemon.Config).
	BackupStore *objectstore.Config
}

// Env is a running dbaasd.
type Env struct {
	T        testing.TB
	D        *daemon.Daemon
	URL      string
	DataDir  string
	StoreURL string
	// PortMin and PortMax bound the ports this dbaasd gives engines.
	PortMin, PortMax int
	stop             func()
	router           routers.Router
	stopOnce         sync.Once
}

// Start runs a dbaasd for the test; it stops at the end of the test.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	if (o.Reconcile || o.Engines) && testing.Short() {
		t.Skip("a dbaasd with a reconciler, or checking requests against the engines, starts engines (skipped with -short)")
	}
	var rec []catalog.Discovered
	if testing.Short() && o.Runtime == "" {
		rec = Recorded(t)
	}
	dir := o.DataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "dbaasd-t"); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(dir, 0o755)
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	storeURL := o.StoreURL
	if storeURL == "" && o.Postgres {
		storeURL = pgtest.URL(t)
	}
	if o.DataDir == "" {
		// Runs after every dbaasd of this data dir stopped (cleanups run
		// last-in first-out): the engines the test started are destroyed.
		t.Cleanup(func() { destroyAll(t, dir, storeURL) })
	}
	probe := o.ProbeInterval
	if probe == 0 {
		probe = 500 * time.Millisecond
	}
	level := slog.LevelWarn
	if os.Getenv("DBAASD_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	var logh slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	if o.LogWriter != nil {
		logh = slog.NewMultiHandler(logh, slog.NewJSONHandler(o.LogWriter, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	portMin := PortBase()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, daemon.Config{
		PortMin: portMin, PortMax: portMin + portSpan - 1,
		DataDir: dir, Store: storeURL, TemplateDir: filepath.Join(sharedDir(t), "templates"),
		SelfEnv: []string{envSelf + "=1"}, NoReconciler: !o.Reconcile, ProbeInterval: probe, FailoverAfter: o.FailoverAfter, RetryAfter: o.RetryAfter,
		Quotas: o.Quotas, Logger: slog.New(logh),
		Banner: io.Discard, Workers: 4, MetricsInterval: o.MetricsInterval, BackupInterval: o.BackupInterval,
		Users: identityUsers(t, o.Users), Region: o.Region, TokenTTL: o.TokenTTL, WrapDrivers: o.WrapDrivers,
		Runtime: o.Runtime, Kubernetes: o.Kubernetes, EngineHost: o.EngineHost, Recorded: rec, BackupStore: o.BackupStore,
	})
	if err != nil {
		cancel()
		t.Fatalf("start dbaasd: %v", err)
	}
	for _, p := range []struct {
		project, token string
		admin          bool
	}{{ProjectA, TokenA, false}, {ProjectB, TokenB, false}, {ProjectC, TokenAdm, true}} {
		if err := d.Project(ctx, p.project, p.token, p.admin); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Serve(ctx, ln)
	}()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, D: d, URL: "http://" + ln.Addr().String(), DataDir: dir, StoreURL: storeURL, router: router,
		PortMin: portMin, PortMax: portMin + portSpan - 1}
	e.stop = func() {
		cancel()
		<-done
		_ = d.Close()
	}
	t.Cleanup(e.Stop)
	e.waitHealthy()
	return e
}

func destroyAll(t testing.TB, dir, storeURL string) {
	if testing.Short() {
		return // no test of -short starts an engine (see Start)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := daemon.New(ctx, daemon.Config{DataDir: dir, Store: storeURL, TemplateDir: filepath.Join(sharedDir(t), "templates"),
		SelfEnv: []string{envSelf + "=1"}, NoReconciler: true, Banner: io.Discard,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Logf("clean up engines: %v", err)
		return
	}
	defer func() { _ = d.Close() }()
	if err := d.Reconciler.DestroyAll(ctx); err != nil {
		t.Logf("clean up engines: %v", err)
	}
}

// portSpan is how many ports each test's dbaasd may give its servers.
const portSpan = 100

var (
	portMu   sync.Mutex
	nextPort = 21000 + 100*int(time.Now().UnixNano()%60)
)

// PortBase returns the first of portSpan ports for one test's dbaasd.
// dbaasd instances with separate stores do not see each other's port
// allocations, so concurrent tests (and test binaries) use different
// ranges.
func PortBase() int {
	portMu.Lock()
	defer portMu.Unlock()
	p := nextPort
	nextPort += portSpan
	if nextPort+portSpan > 30900 {
		nextPort = 21000
	}
	return p
}

// Stop stops dbaasd (engines keep running, as in production).
func (e *Env) Stop() { e.stopOnce.Do(e.stop) }

func (e *Env) waitHealthy() {
	for i := 0; i < 200; i++ {
		resp, err := http.Get(e.URL + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.T.Fatal("dbaasd never became healthy")
}

// Response is an HTTP response with its JSON body decoded.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Get returns a value by a dotted path ("datastore.id", "users.0.name").
func (r *Response) Get(path string) any {
	var cur any = r.JSON
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			i := 0
			for _, ch := range part {
				i = i*10 + int(ch-'0')
			}
			if i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// Str returns a string value by path.
func (r *Response) Str(path string) string {
	s, _ := r.Get(path).(string)
	return s
}

// Do sends a request with a token (or none when token is "") and checks
// the response against the OpenAPI document. body may be nil, a string
// (sent as is) or a value encoded as JSON.
func (e *Env) Do(token, method, path string, body any) *Response {
	e.T.Helper()
	return e.DoHeaders(token, method, path, body, nil)
}

// DoHeaders is Do with extra request headers.
func (e *Env) DoHeaders(token, method, path string, body any, headers map[string]string) *Response {
	e.T.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.T.Fatal(err)
		}
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out := &Response{Status: resp.StatusCode, Header: resp.Header}
	if out.Body, err = io.ReadAll(resp.Body); err != nil {
		e.T.Fatal(err)
	}
	if len(out.Body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, &out.JSON); err != nil {
			e.T.Fatalf("%s %s: response is not JSON: %v: %s", method, path, err, out.Body)
		}
	}
	// 507 is a declared answer (the store is full), not a server fault.
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusInsufficientStorage {
		e.T.Errorf("%s %s: server error %d: %s", method, path, resp.StatusCode, out.Body)
	}
	e.validate(req, raw, resp, out)
	return out
}

// validate checks a response against the document: the status must be
// one the operation declares and the body must match its schema. Error
// responses must always be the API's error body.
func (e *Env) validate(req *http.Request, reqBody []byte, resp *http.Response, out *Response) {
	e.T.Helper()
	if resp.StatusCode >= 400 {
		checkErrorBody(e.T, req, resp.StatusCode, out)
	}
	if !strings.HasPrefix(req.URL.Path, "/v1/") || strings.HasPrefix(req.URL.Path, "/v1/openapi") {
		return
	}
	vreq := req.Clone(context.Background())
	if reqBody != nil {
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := e.router.FindRoute(vreq)
	if err != nil {
		return // unknown route or method: checked as an error body above
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(out.Body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.T.Errorf("%s %s: response %d does not match api/openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path,
			resp.StatusCode, err, truncate(out.Body))
	}
}

func init() {
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
}

func checkErrorBody(t testing.TB, req *http.Request, status int, out *Response) {
	t.Helper()
	errObj, _ := out.JSON["error"].(map[string]any)
	code, _ := errObj["code"].(float64)
	title, _ := errObj["title"].(string)
	msg, _ := errObj["message"].(string)
	if errObj == nil || int(code) != status || title == "" || msg == "" || len(out.JSON) != 1 || len(errObj) != 3 {
		t.Errorf("%s %s: status %d without the API's error body: %s", req.Method, req.URL.Path, status, truncate(out.Body))
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
