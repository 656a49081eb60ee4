package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/kafka"
	"github.com/dbaasd/dbaasd/internal/engine/postgres"
	"github.com/dbaasd/dbaasd/internal/engine/redis"
	"github.com/dbaasd/dbaasd/internal/model"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
	"github.com/dbaasd/dbaasd/internal/testutil/pgtest"
)

// configCase is one value of a corpus: bad (a part of the 400's message)
// when the engine must refuse it, else the value the engine then shows
// (want; contains checks a part of it) and shows again once the parameter
// is removed (reset).
type configCase struct {
	name     string
	value    any
	bad      string
	want     string
	contains bool
	reset    string
}

// probe reads a parameter's running value from a datastore's engine.
type probe func(t *testing.T, name string) string

// TestConfigurationCorpus sends every engine a corpus of valid and invalid
// values, the ones that used to end in ERROR among them: an invalid one
// answers 400 naming the parameter in the engine's words and leaves the
// datastore untouched; a valid one is applied and visible in the engine;
// removing it resets the engine's own default; the datastore is never in
// ERROR.
func TestConfigurationCorpus(t *testing.T) {
	e := at.Start(t, at.Options{Reconcile: true})
	huge := "huge pages"
	if free, _ := hugePages(); free > 0 {
		huge = "" // this machine could start it
	}
	engines := []struct {
		engine string
		open   func(t *testing.T, e *at.Env, ds string) probe
		cases  []configCase
	}{
		{"postgresql", pgProbe, []configCase{
			{name: "application_name", value: "it's\ta name", want: "it's?a name", reset: ""},
			{name: "application_name", value: "two\nlines", bad: "line break or NUL"},
			{name: "application_name", value: "nul\x00byte", bad: "line break or NUL"},
			{name: "search_path", value: `"$user", public, "it's"`, want: `"$user", public, "it's"`, reset: `"$user", public`},
			{name: "search_path", value: "x\ty", bad: "List syntax is invalid"},
			{name: "search_path", value: `a"b`, want: `a"b`, reset: `"$user", public`},
			{name: "search_path", value: `"ab`, bad: "List syntax is invalid"},
			{name: "search_path", value: "x\ny", bad: "line break or NUL"},
			{name: "max_connections", value: 1, bad: "superuser_reserved_connections (3) must be less than max_connections (1)"},
			{name: "max_connections", value: 60, want: "60", reset: "102"},
			{name: "huge_pages", value: "on", bad: huge, want: "on", reset: "try"},
			{name: "max_prepared_transactions", value: 10, want: "10", reset: "0"},
			{name: "TimeZone", value: "Mars/Olympus_Mons", bad: `invalid value for parameter "TimeZone"`},
			{name: "work_mem", value: "lots", bad: "must be an integer"},
			{name: "statement_timeout", value: 5000, want: "5s", reset: "0"},
			{name: "extension_destdir", value: "/tmp/evil", bad: "not a configuration parameter a tenant may set"},
		}},
		{"mysql_native", myProbe, []configCase{
			{name: "date_format", value: "plain-ok", bad: "Wrong date/time format specifier: plain-ok"},
			{name: "date_format", value: "%d.%m.%Y", want: "%d.%m.%Y", reset: "%Y-%m-%d"},
			{name: "optimizer_switch", value: "bogus=on", bad: "optimizer_switch"},
			{name: "optimizer_switch", value: "index_merge=off", want: "index_merge=off", contains: true, reset: "index_merge=on"},
			{name: "ft_boolean_syntax", value: "abc", bad: "Invalid ft-boolean-syntax string"},
			{name: "ft_boolean_syntax", value: "+ -><()~*:''&|", want: "+ -><()~*:''&|", reset: `+ -><()~*:""&|`},
			{name: "sql_mode", value: "NO_SUCH_MODE", bad: "config.sql_mode"},
			{name: "long_query_time", value: 0.5, want: "0.5", reset: "2"},
			{name: "plugin_dir", value: "/tmp/evil", bad: "not a configuration parameter a tenant may set"},
		}},
		{"redis", redisProbe, []configCase{
			{name: "save", value: "900 1 300 10", want: "900 1 300 10", reset: "3600 1 300 100 60 10000"},
			{name: "save", value: "900", bad: "Invalid save parameters"},
			{name: "save", value: "abc def", bad: "Invalid save parameters"},
			{name: "client-output-buffer-limit", value: "pubsub 32mb 8mb 60", want: "pubsub 33554432 8388608 60", contains: true,
				reset: "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
			{name: "client-output-buffer-limit", value: "normal 1 2", bad: "Wrong number of arguments"},
			{name: "client-output-buffer-limit", value: "nosuchclass 0 0 0", bad: "Invalid client class"},
			{name: "maxmemory-clients", value: "10%", want: "10%", reset: "0"},
			{name: "maxmemory-clients", value: "lots", bad: "argument must be a memory or percent value"},
			{name: "notify-keyspace-events", value: "KEA", want: "AKE", reset: ""},
			{name: "notify-keyspace-events", value: "xyz!", bad: "Invalid event class character"},
			{name: "timeout", value: 300, want: "300", reset: "0"},
			{name: "dir", value: "/tmp/evil", bad: "not a configuration parameter a tenant may set"},
		}},
		{"kafka", kafkaProbe, []configCase{
			{name: "log.retention.ms", value: 1e30, bad: "64-bit integer"},
			{name: "log.retention.ms", value: float64(1 << 63), bad: "64-bit integer"},
			{name: "log.retention.ms", value: 86400000, want: "86400000"},
			{name: "message.max.bytes", value: 2048, want: "2048"},
			{name: "group.min.session.timeout.ms", value: 400000, bad: "no consumer could join a group"},
		}},
	}
	for _, eng := range engines {
		t.Run(eng.engine, func(t *testing.T) {
			t.Parallel()
			ds := e.CreateDatastore(at.TokenA, eng.engine, "corpus-"+eng.engine, 1)
			path := "/v1/datastores/" + ds
			e.WaitStatus(at.TokenA, path, "datastore", model.StatusActive, 3*wait)
			read := eng.open(t, e, ds)
			set := map[string]bool{}
			for _, tc := range eng.cases {
				label := fmt.Sprintf("%s = %q", tc.name, fmt.Sprint(tc.value))
				before := e.Do(at.TokenA, http.MethodGet, path, nil)
				r := e.Do(at.TokenA, http.MethodPut, path+"/config", map[string]any{"config": map[string]any{tc.name: tc.value}})
				if tc.bad != "" {
					if r.Status != http.StatusBadRequest || !strings.Contains(r.Str("error.message"), "config."+tc.name) ||
						!strings.Contains(r.Str("error.message"), tc.bad) {
						t.Errorf("%s: %d %s; want 400 naming config.%s with %q", label, r.Status, r.Body, tc.name, tc.bad)
					}
					after := e.Do(at.TokenA, http.MethodGet, path, nil)
					if after.Str("datastore.status") != model.StatusActive ||
						!reflect.DeepEqual(after.Get("datastore.config"), before.Get("datastore.config")) {
						t.Errorf("%s: a refused value changed the datastore: %s", label, after.Body)
					}
					continue
				}
				if r.Status != http.StatusOK {
					t.Errorf("%s: %d %s; want 200", label, r.Status, r.Body)
					continue
				}
				set[tc.name] = true
				e.WaitStatus(at.TokenA, path, "datastore", model.StatusActive, 3*wait)
				if got := read(t, tc.name); !matches(got, tc.want, tc.contains) {
					t.Errorf("%s: the engine shows %q, want %q", label, got, tc.want)
				}
			}
			// Removing every parameter resets each in the running engine.
			reset := map[string]any{}
			for name := range set {
				reset[name] = nil
			}
			if r := e.Do(at.TokenA, http.MethodPut, path+"/config", map[string]any{"config": reset}); r.Status != http.StatusOK {
				t.Fatalf("reset: %d %s", r.Status, r.Body)
			}
			got := e.WaitStatus(at.TokenA, path, "datastore", model.StatusActive, 3*wait)
			if cfg := got.Get("datastore.config").(map[string]any); len(cfg) != 0 {
				t.Errorf("config after removing everything: %v", cfg)
			}
			for _, tc := range eng.cases {
				if tc.bad != "" || !set[tc.name] || eng.engine == "kafka" {
					continue
				}
				if v := read(t, tc.name); !matches(v, tc.reset, tc.contains) {
					t.Errorf("%s after its removal: the engine shows %q, want its default %q", tc.name, v, tc.reset)
				}
			}
			for _, a := range e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil).Get("actions").([]any) {
				if act := a.(map[string]any); act["datastore_id"] == ds && act["status"] == model.ActionError {
					t.Errorf("an action failed: %v", act)
				}
			}
		})
	}
}

func matches(got, want string, contains bool) bool {
	if contains {
		return strings.Contains(got, want)
	}
	return got == want
}

func hugePages() (free int, err error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "HugePages_Free:") {
			_, err = fmt.Sscan(strings.TrimPrefix(l, "HugePages_Free:"), &free)
		}
	}
	return free, err
}

// pgProbe reads settings over a new session (a session keeps the values
// it started with) as a user made through the API.
func pgProbe(t *testing.T, e *at.Env, ds string) probe {
	uid := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "prober", "password": "Secret-pass-1"}}).Str("user.id")
	at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "probe", "owner_id": uid}})
	e.WaitStatus(at.TokenA, "/v1/datastores/"+ds, "datastore", model.StatusActive, wait)
	waitObjects(t, e, ds)
	addr := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.connection.master")
	return func(t *testing.T, name string) string {
		c := mustConnect(t, addr, "prober", "Secret-pass-1", "probe")
		defer func() { _ = c.Close(context.Background()) }()
		return pgtest.QueryOne[string](t, c, "SHOW "+name)
	}
}

func myProbe(t *testing.T, e *at.Env, ds string) probe {
	at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "prober", "password": "Secret-pass-1"}})
	waitObjects(t, e, ds)
	addr := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.connection.master")
	return func(t *testing.T, name string) string {
		db := mustMy(t, addr, "prober", "Secret-pass-1", "")
		defer func() { _ = db.Close() }()
		var v string
		if err := db.QueryRow("SELECT @@GLOBAL." + name).Scan(&v); err != nil {
			t.Fatalf("SELECT @@GLOBAL.%s: %v", name, err)
		}
		return v
	}
}

// redisProbe reads the server's configuration as dbaasd's internal user
// (a tenant's user may not run CONFIG GET).
func redisProbe(t *testing.T, e *at.Env, ds string) probe {
	rec, err := e.D.Store.Datastores().Get(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	user, pass := redis.InternalUser(&engine.Cluster{ID: ds, AdminPassword: rec.AdminPassword})
	addr := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.connection.master")
	return func(t *testing.T, name string) string {
		c := goredis.NewClient(&goredis.Options{Addr: addr, Username: user, Password: pass, Protocol: 2})
		defer func() { _ = c.Close() }()
		m, err := c.ConfigGet(context.Background(), name).Result()
		if err != nil {
			t.Fatalf("CONFIG GET %s: %v", name, err)
		}
		return m[name]
	}
}

// kafkaProbe describes the broker's configuration as dbaasd's own
// administrator (tenants have no right to describe the cluster).
func kafkaProbe(t *testing.T, e *at.Env, ds string) probe {
	rec, err := e.D.Store.Datastores().Get(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	addr := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+ds, nil).Str("datastore.connection.master")
	return func(t *testing.T, name string) string {
		adm := kadm.NewClient(kafkaClient(t, addr, kafka.SuperUser, rec.AdminPassword))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rcs, err := adm.DescribeBrokerConfigs(ctx)
		if err != nil {
			t.Fatalf("describe broker configs: %v", err)
		}
		for _, rc := range rcs {
			for _, c := range rc.Configs {
				if c.Key == name {
					return c.MaybeValue()
				}
			}
		}
		return ""
	}
}

// waitObjects waits until every user and database of a datastore is ACTIVE.
func waitObjects(t *testing.T, e *at.Env, ds string) {
	t.Helper()
	for _, kind := range []string{"users", "databases"} {
		deadline := time.Now().Add(wait)
		for {
			r := e.Do(at.TokenA, http.MethodGet, "/v1/"+kind+"?datastore_id="+ds, nil)
			pending := 0
			for _, o := range r.Get(kind).([]any) {
				if o.(map[string]any)["status"] != model.StatusActive {
					pending++
				}
			}
			if pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s of %s not ACTIVE: %s", kind, ds, r.Body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// noChecks is the PostgreSQL driver without its request checks, so that a
// value the engine refuses reaches the reconciler, as it did before the
// checks existed or as it may when a check cannot run. Its own
// ValidateConfig (of another signature) shadows the driver's, so it is no
// engine.Validator, and it keeps every other capability of the driver.
type noChecks struct{ *postgres.Driver }

// ValidateConfig shadows the driver's check.
func (noChecks) ValidateConfig() {}

var _ engine.UserManager = noChecks{}

// TestRefusedChangeRollsBack: when an engine refuses a change the API
// accepted, dbaasd restores the last configuration that worked, the
// datastore returns to ACTIVE, and the failed action carries the
// engine's error.
func TestRefusedChangeRollsBack(t *testing.T) {
	e := at.Start(t, at.Options{Reconcile: true, WrapDrivers: func(d map[string]engine.Driver) map[string]engine.Driver {
		d[engine.PostgreSQL] = noChecks{Driver: d[engine.PostgreSQL].(*postgres.Driver)}
		if _, ok := d[engine.PostgreSQL].(engine.Validator); ok {
			t.Fatal("the driver still checks requests")
		}
		return d
	}})
	ds := e.CreateDatastore(at.TokenA, "postgresql", "rollback", 1)
	path := "/v1/datastores/" + ds
	e.WaitStatus(at.TokenA, path, "datastore", model.StatusActive, 3*wait)
	at.MustPut(t, e, path+"/config", map[string]any{"config": map[string]any{"statement_timeout": 5000}})
	e.WaitStatus(at.TokenA, path, "datastore", model.StatusActive, 3*wait)

	// max_connections = 1 fits the catalog's range, but the server does
	// not start with it.
	at.MustPut(t, e, path+"/config", map[string]any{"config": map[string]any{"max_connections": 1}})
	deadline := time.Now().Add(5 * wait)
	var failed map[string]any
	for failed == nil {
		for _, a := range e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil).Get("actions").([]any) {
			if act := a.(map[string]any); act["datastore_id"] == ds && act["status"] == model.ActionError {
				failed = act
			}
		}
		if st := e.Do(at.TokenA, http.MethodGet, path, nil).Str("datastore.status"); st == model.StatusError {
			t.Fatalf("the datastore ended in ERROR")
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused change never failed")
		}
		time.Sleep(500 * time.Millisecond)
	}
	if msg, _ := failed["error"].(string); !strings.Contains(msg, "max_connections") || !strings.Contains(msg, "restored the last configuration that worked") {
		t.Errorf("failed action's error: %q", msg)
	}
	got := e.WaitStatus(at.TokenA, path, "datastore", model.StatusActive, 3*wait)
	if cfg := got.Get("datastore.config").(map[string]any); len(cfg) != 1 || cfg["statement_timeout"] != float64(5000) {
		t.Errorf("config after the rollback: %v, want the last one that worked", cfg)
	}
	// The engine runs with it, and the datastore takes changes again.
	uid := at.MustPost(t, e, "/v1/users", map[string]any{"user": map[string]any{"datastore_id": ds, "name": "after", "password": "Secret-pass-1"}}).Str("user.id")
	at.MustPost(t, e, "/v1/databases", map[string]any{"database": map[string]any{"datastore_id": ds, "name": "after", "owner_id": uid}})
	waitObjects(t, e, ds)
	c := mustConnect(t, got.Str("datastore.connection.master"), "after", "Secret-pass-1", "after")
	if v := pgtest.QueryOne[string](t, c, "SHOW statement_timeout"); v != "5s" {
		t.Errorf("statement_timeout = %s after the rollback, want 5s", v)
	}
}
