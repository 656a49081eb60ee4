package backup_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/backup"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
	at "github.com/dbaasd/dbaasd/internal/testutil/apitest"
)

func TestMain(m *testing.M) { os.Exit(at.Main(m)) }

// wait bounds every wait on a cluster (2 cores shared by every test).
const wait = 3 * time.Minute

// apiTime formats a time as the API takes it.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

// nextSecond waits until a whole second has started after every write so
// far and returns it: a restore target that lies strictly between what
// was written before and what is written after.
func nextSecond() time.Time {
	t := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(t) + 1100*time.Millisecond)
	return t
}

// waitAllowRestore waits until a datastore has a restore point.
func waitAllowRestore(t testing.TB, e *at.Env, id string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		r := e.Do(at.TokenA, http.MethodGet, "/v1/datastores/"+id, nil)
		if r.Get("datastore.allow_restore") == true {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("datastore %s never got a backup; actions: %s", id, e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil).Body)
}

// backupNow takes a base backup through a datastore.backup action and
// waits for it.
func backupNow(t testing.TB, e *at.Env, id string) {
	t.Helper()
	ctx := context.Background()
	var actionID string
	deadline := time.Now().Add(wait)
	for actionID == "" {
		var err error
		if actionID, err = e.D.Backups.RequestBackup(ctx, id, "test"); err != nil {
			t.Fatal(err)
		}
		if actionID == "" { // one is already under way: let it finish
			if time.Now().After(deadline) {
				t.Fatal("a backup action never finished")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitAction(t, e, actionID, model.ActionSuccess)
}

// waitAction waits until an action reaches status.
func waitAction(t testing.TB, e *at.Env, id, status string) *at.Response {
	t.Helper()
	deadline := time.Now().Add(wait)
	var r *at.Response
	for time.Now().Before(deadline) {
		r = e.Do(at.TokenA, http.MethodGet, "/v1/actions/"+id, nil)
		if s := r.Str("action.status"); s == status {
			return r
		} else if s == model.ActionSuccess || s == model.ActionError {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("action %s did not end %s: %s", id, status, r.Body)
	return nil
}

// createAction returns the datastore.create action of a datastore.
func createAction(t *testing.T, e *at.Env, dsID string) *at.Response {
	t.Helper()
	r := e.Do(at.TokenA, http.MethodGet, "/v1/actions", nil)
	for _, a := range r.Get("actions").([]any) {
		m := a.(map[string]any)
		if m["datastore_id"] == dsID && m["name"] == "datastore.create" {
			return e.Do(at.TokenA, http.MethodGet, "/v1/actions/"+m["id"].(string), nil)
		}
	}
	t.Fatalf("no create action of %s: %s", dsID, r.Body)
	return nil
}

// restoreBody is a create request restoring from src.
func restoreBody(e *at.Env, engine, name string, nodes int, src string, target *time.Time) map[string]any {
	body := e.DatastoreBody(engine, name, nodes)
	rs := map[string]any{"datastore_id": src}
	if target != nil {
		rs["target_time"] = apiTime(*target)
	}
	body["datastore"].(map[string]any)["restore"] = rs
	return body
}

// restore creates a datastore from src's backups and waits until it is
// ACTIVE; it returns the new datastore.
func restore(t testing.TB, e *at.Env, engine, name string, nodes int, src string, target *time.Time) *at.Response {
	t.Helper()
	r := e.Do(at.TokenA, http.MethodPost, "/v1/datastores", restoreBody(e, engine, name, nodes, src, target))
	if r.Status != http.StatusCreated {
		t.Fatalf("restore %s: %d %s", name, r.Status, r.Body)
	}
	id := r.Str("datastore.id")
	active := e.WaitStatus(at.TokenA, "/v1/datastores/"+id, "datastore", model.StatusActive, wait)
	// The restore staged the backup in the new datastore's backup
	// directory; its OS account must still reach its archive inside.
	if st, err := os.Stat(filepath.Join(backup.Root(e.DataDir), id)); err != nil {
		t.Errorf("backup directory of restored datastore %s: %v", id, err)
	} else if st.Mode().Perm() != 0o711 {
		t.Errorf("backup directory of restored datastore %s: mode %v, want 0711", id, st.Mode().Perm())
	}
	return active
}

// catalogue returns a datastore's backups and archived files.
func catalogue(t testing.TB, e *at.Env, id string) ([]store.Backup, []store.ArchiveFile) {
	t.Helper()
	ctx := context.Background()
	b, err := e.D.Store.ListBackups(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.D.Store.ListArchiveFiles(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return b, f
}

// mustContain fails unless s contains every part.
func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s: %q lacks %q", what, s, p)
		}
	}
}
