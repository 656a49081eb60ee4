package console_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

// screenshots, when DBAASD_CONSOLE_SCREENSHOTS names a directory, is where
// the walks save pictures of the main pages (docs/console holds them).
func (u *ui) screenshot(name string) {
	dir := os.Getenv("DBAASD_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	time.Sleep(300 * time.Millisecond) // let charts and fonts settle
	u.must(u.b.Screenshot(filepath.Join(dir, name+".png"), false))
}

// TestPostgreSQLWalk is the walk of the issue, in a real browser against a
// real dbaasd: sign in; create a PostgreSQL datastore and watch it turn
// ACTIVE; add a user and a database; copy the connection string and
// connect with psql using it; change a setting and see it in the engine;
// see a chart with samples from the engine; find a log line; restore to a
// point in time; delete.
func TestPostgreSQLWalk(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser and engines")
	}
	e := at.Start(t, at.Options{Reconcile: true, MetricsInterval: time.Second, Users: []string{"alice:Alice-pass-1:" + at.ProjectA}})
	u := openUI(t, e, 1280, 860)

	u.signInUser("alice", "Alice-pass-1")
	if s := u.text("#who"); !strings.Contains(s, "alice") {
		t.Errorf("the header does not show who is signed in: %q", s)
	}
	u.screenshot("signed-in-empty")
	id := u.createDatastore("postgresql", "orders", nil)
	u.watchActive(id)
	u.screenshot("datastores")

	// A user and a database, made on their tabs.
	u.goTo("/datastores/" + id + "/users")
	u.addObject("Add user", "Add user", map[string]string{"input[name=name]": "app_user", "input[name=password]": "App-pass-123"})
	u.rowActive("app_user")
	u.goTo("/datastores/" + id + "/databases")
	u.addObject("Add database", "Add database", map[string]string{"input[name=name]": "appdb"})
	u.rowActive("appdb")

	// The connection string, copied with the Copy button, works in psql.
	u.goTo("/datastores/" + id)
	u.fill(`select[name=conn-user]`, "app_user")
	u.fill(`select[name=conn-db]`, "appdb")
	u.wait(`document.querySelector('code[data-conn=psql]').textContent.includes('app_user@')`, waitUI)
	psql := u.copyConnection("psql")
	if !strings.HasPrefix(psql, `psql "postgresql://app_user@`) || !strings.Contains(psql, "/appdb") {
		t.Fatalf("psql command: %q", psql)
	}
	pw := []string{"PGPASSWORD=App-pass-123"}
	sql := func(q string) string {
		t.Helper()
		out, err := shell(t, psql, pw, "-X", "-tA", "-v", "ON_ERROR_STOP=1", "-c", q)
		if err != nil {
			t.Fatalf("psql %s: %v: %s", q, err, out)
		}
		return out
	}
	if got := sql("SELECT current_user || '@' || current_database()"); got != "app_user@appdb" {
		t.Fatalf("psql connected as %q", got)
	}
	u.screenshot("datastore-overview")

	// A setting changed in the editor reaches the engine.
	u.goTo("/datastores/" + id + "/config")
	u.fill(`.toolbar input[type=search]`, "work_mem")
	u.fill(`#cfg-work_mem`, "8192")
	u.wait(`document.querySelector('tr[data-param=work_mem]').classList.contains('changed')`, waitUI)
	u.click("Save changes")
	u.headStatus("ACTIVE", waitActive)
	u.wait(`document.querySelector('tr[data-param=work_mem]').classList.contains('set')`, waitUI)
	if got := sql("SHOW work_mem"); got != "8MB" {
		t.Errorf("work_mem in the engine = %q after the editor set 8192 kB", got)
	}
	u.fill(`.toolbar input[type=search]`, "")
	u.screenshot("configuration")

	// A failed login, found in the logs viewer with the text and level filters.
	if out, err := shell(t, psql, []string{"PGPASSWORD=wrong-password"}, "-X", "-c", "SELECT 1"); err == nil {
		t.Fatalf("a wrong password was accepted: %s", out)
	}
	u.goTo("/datastores/" + id + "/logs")
	u.fill(`input[name=log-text]`, "password authentication failed")
	u.wait(`[...document.querySelectorAll('.logs .line .msg')].some((m) => m.textContent.includes('password authentication failed for user "app_user"'))`, waitObject)
	u.fill(`select[aria-label=Level]`, "2")
	u.wait(`document.querySelectorAll('.logs .line').length > 0 && [...document.querySelectorAll('.logs .line')].every((l) => ['fatal', 'error', 'panic'].includes(l.dataset.level))`, waitUI)
	u.fill(`select[aria-label=Level]`, "")
	u.screenshot("logs")

	// Charts with samples from the engine.
	u.goTo("/datastores/" + id + "/metrics")
	for _, metric := range []string{"CPU", "Memory", "Connections", "Transactions (commits)"} {
		u.wait(`Number((document.querySelector('figure[data-metric=`+js(metric)+`]') || {dataset: {}}).dataset.samples) > 0 && document.querySelector('figure[data-metric=`+js(metric)+`] canvas')`, waitObject)
	}
	u.screenshot("metrics")

	// Point-in-time restore: a row before the chosen second, one after.
	u.goTo("/datastores/" + id + "/backups")
	u.wait(`document.querySelector('#restore input[name=target_time]')`, waitObject)
	sql("CREATE TABLE marks (x int); INSERT INTO marks VALUES (1)")
	time.Sleep(1100 * time.Millisecond)
	target := time.Now().UTC().Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	sql("INSERT INTO marks VALUES (2)")
	// The picker's window runs from the first backup to now.
	stamp := target.Format("2006-01-02T15:04:05")
	picker := `document.querySelector('#restore input[name=target_time]')`
	u.wait(picker+`.min && `+picker+`.min <= '`+stamp+`' && `+picker+`.max >= '`+stamp+`'`, waitUI)
	u.screenshot("backups")
	u.fill(`#restore input[name=target_time]`, stamp)
	u.fill(`#restore input[name=name]`, "orders-restored")
	u.clickIn("#restore", "Restore into a new datastore")
	u.wait(`/^#\/datastores\/[0-9a-f-]{36}$/.test(location.hash) && !location.hash.includes('`+id+`')`, waitUI)
	u.ready()
	u.headStatus("ACTIVE", waitActive)
	u.fill(`select[name=conn-user]`, "app_user")
	u.fill(`select[name=conn-db]`, "appdb")
	u.wait(`document.querySelector('code[data-conn=psql]').textContent.includes('app_user@')`, waitUI)
	restored := u.text(`code[data-conn=psql]`)
	out, err := shell(t, restored, pw, "-X", "-tA", "-c", "SELECT string_agg(x::text, ',' ORDER BY x) FROM marks")
	if err != nil || out != "1" {
		t.Errorf("the restore to %s holds rows %q (err %v), want only the row written before", target.Format(time.DateTime), out, err)
	}

	// Delete the original, naming it in the confirmation.
	u.deleteDatastore(id, "orders")
	if r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+id, nil); r.Status != http.StatusNotFound {
		t.Errorf("the deleted datastore answers %d", r.Status)
	}
}

// TestMySQLWalk: create, user, database, grant, and the copied mysql
// command connects (typing the password at its prompt).
func TestMySQLWalk(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser and engines")
	}
	e := at.Start(t, at.Options{Reconcile: true})
	u := openUI(t, e, 1280, 860)
	u.signInToken(at.TokenA)
	id := u.createDatastore("mysql_native", "shop", nil)
	u.watchActive(id)
	u.goTo("/datastores/" + id + "/users")
	u.addObject("Add user", "Add user", map[string]string{"input[name=name]": "shop_app", "input[name=password]": "Shop-pass-123"})
	u.rowActive("shop_app")
	u.goTo("/datastores/" + id + "/databases")
	u.addObject("Add database", "Add database", map[string]string{"input[name=name]": "shopdb"})
	u.rowActive("shopdb")
	u.addObject("Grant access", "Grant", nil)
	u.wait(`[...document.querySelectorAll('.panel[aria-label=Grants] tbody tr')].some((r) => r.textContent.includes('shop_app') && r.textContent.includes('Active'))`, waitObject)

	u.goTo("/datastores/" + id)
	u.fill(`select[name=conn-user]`, "shop_app")
	u.fill(`select[name=conn-db]`, "shopdb")
	u.wait(`document.querySelector('code[data-conn=mysql]').textContent.includes('-u shop_app')`, waitUI)
	cmd := u.copyConnection("mysql")
	out, err := withTTY(t, cmd+` -N -e "SELECT CONCAT(CURRENT_USER(), '/', DATABASE())"`, "Shop-pass-123")
	if err != nil || !strings.Contains(out, "shop_app@%/shopdb") {
		t.Fatalf("mysql with the copied command: %v\n%s", err, out)
	}
	u.deleteDatastore(id, "shop")
}

// TestRedisWalk: create with a password; the copied redis-cli command
// reaches the server.
func TestRedisWalk(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser and engines")
	}
	e := at.Start(t, at.Options{Reconcile: true})
	u := openUI(t, e, 1280, 860)
	u.signInToken(at.TokenA)
	id := u.createDatastore("redis", "cache", func() { u.fill(`input[name=redis_password]`, "Cache-pass-123") })
	u.watchActive(id)
	u.goTo("/datastores/" + id)
	cli := u.copyConnection("redis-cli")
	if !strings.HasPrefix(cli, "redis-cli -h ") {
		t.Fatalf("redis-cli command: %q", cli)
	}
	env := []string{"REDISCLI_AUTH=Cache-pass-123"}
	if out, err := shell(t, cli, env, "SET", "greeting", "hello"); err != nil || out != "OK" {
		t.Fatalf("redis-cli SET: %v %s", err, out)
	}
	if out, err := shell(t, cli, env, "GET", "greeting"); err != nil || out != "hello" {
		t.Fatalf("redis-cli GET: %v %s", err, out)
	}
	u.deleteDatastore(id, "cache")
}

// TestKafkaWalk: create, a user, a topic and an ACL in the browser; a
// Kafka client with the copied bootstrap address and the user's
// credentials produces to the topic and sees it.
func TestKafkaWalk(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("browser and engines")
	}
	e := at.Start(t, at.Options{Reconcile: true})
	u := openUI(t, e, 1280, 860)
	u.signInToken(at.TokenA)
	id := u.createDatastore("kafka", "events", nil)
	u.watchActive(id)
	u.goTo("/datastores/" + id + "/users")
	u.addObject("Add user", "Add user", map[string]string{"input[name=name]": "producer", "input[name=password]": "Producer-pass-1"})
	u.rowActive("producer")
	u.goTo("/datastores/" + id + "/topics")
	u.addObject("Add topic", "Add topic", map[string]string{"input[name=name]": "orders", "input[name=partitions]": "2"})
	u.rowActive("orders")
	u.click("Add ACL")
	u.fill(`dialog[open] select[name=pattern_type]`, "literal")
	u.fill(`dialog[open] input[name=pattern]`, "orders")
	u.must(u.b.Click(`dialog[open] input[name=allow_write]`))
	u.submitDialog("Add ACL")
	u.wait(`[...document.querySelectorAll('.panel[aria-label=ACLs] tbody tr')].some((r) => r.textContent.includes('producer') && r.textContent.includes('Active'))`, waitObject)
	u.screenshot("kafka-topics")

	u.goTo("/datastores/" + id)
	u.fill(`select[name=conn-user]`, "producer")
	addr := u.copyConnection("bootstrap")
	if !hostPort.MatchString(addr) {
		t.Fatalf("bootstrap servers: %q", addr)
	}
	props := u.text(`code[data-conn=properties]`)
	if !strings.Contains(props, "bootstrap.servers="+addr) || !strings.Contains(props, "sasl.username=producer") {
		t.Errorf("client properties: %q", props)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(scram.Auth{User: "producer", Pass: "Producer-pass-1"}.AsSha512Mechanism()),
		kgo.RequestRetries(2), kgo.RetryTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	md, err := kadm.NewClient(cl).Metadata(ctx, "orders")
	if err != nil || len(md.Topics["orders"].Partitions) != 2 {
		t.Fatalf("the topic made in the browser: %v %+v", err, md.Topics)
	}
	// The ACL made in the browser lets the user write.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("order-1")}).FirstErr(); err != nil {
		t.Fatalf("producing with the ACL made in the browser: %v", err)
	}
	u.deleteDatastore(id, "events")
}
