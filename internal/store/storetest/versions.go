package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

// testProjectVersions: every write of a row of a project in
// store.VersionedTables — inside a transaction or not, insert, update or
// delete — changes that project's version when it commits, and only that
// project's; a rolled-back write changes nothing; a token is read with the
// version of its project.
func testProjectVersions(t *testing.T, open func() store.Store) {
	s := open()
	p, other := project(t, s), project(t, s)
	version := func(project string) int64 {
		t.Helper()
		v, err := s.ProjectVersion(ctx(), project)
		must(t, err)
		return v
	}
	last, otherV := version(p), version(other)
	changes := func(what string, write func() error) {
		t.Helper()
		must(t, write())
		v := version(p)
		if v == last {
			t.Fatalf("%s did not change the project's version (%d)", what, v)
		}
		if version(other) != otherV {
			t.Fatalf("%s changed another project's version", what)
		}
		last = v
	}
	d := datastore(p)
	inst := &model.Instance{ID: uuid.NewString(), ProjectID: p, DatastoreID: d.ID, Role: model.RoleMaster,
		Status: model.StatusActive, CreatedAt: now}
	db := &model.Database{Object: model.Object{Base: model.Base{ID: uuid.NewString(), ProjectID: p, CreatedAt: now, UpdatedAt: now}, DatastoreID: d.ID, Status: model.StatusActive}, Name: "db"}
	topic := &model.Topic{Object: model.Object{Base: model.Base{ID: uuid.NewString(), ProjectID: p, CreatedAt: now, UpdatedAt: now}, DatastoreID: d.ID, Status: model.StatusActive}, Name: "t", Partitions: 1}
	changes("inserting a datastore", func() error { return s.Datastores().Insert(ctx(), d) })
	changes("inserting an instance in a transaction", func() error {
		return s.InTx(ctx(), func(tx store.Tx) error { return tx.Instances().Insert(ctx(), inst) })
	})
	changes("updating an instance", func() error {
		inst.Status = model.StatusDown
		return s.Instances().Update(ctx(), inst)
	})
	changes("updating a datastore", func() error {
		d.Status = model.StatusActive
		return s.Datastores().Update(ctx(), d)
	})
	changes("inserting a database", func() error { return s.Databases().Insert(ctx(), db) })
	changes("inserting a topic", func() error { return s.Topics().Insert(ctx(), topic) })
	changes("deleting a topic", func() error { return s.Topics().Delete(ctx(), topic.ID) })
	changes("deleting a database", func() error { return s.Databases().Delete(ctx(), db.ID) })
	changes("storing a token", func() error {
		return s.PutToken(ctx(), model.Token{Hash: "v-" + p, ProjectID: p, Source: "static", CreatedAt: now})
	})
	tok, v, err := s.AuthToken(ctx(), "v-"+p)
	if err != nil || tok.ProjectID != p || v != last {
		t.Fatalf("AuthToken = %+v, version %d (want %d), %v", tok, v, last, err)
	}
	changes("rehashing a token", func() error { return s.RehashToken(ctx(), "v-"+p, "w-"+p) })
	changes("deleting a token", func() error { return s.DeleteToken(ctx(), "w-"+p) })
	if _, _, err := s.AuthToken(ctx(), "w-"+p); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AuthToken of a deleted token: %v", err)
	}
	changes("deleting an instance", func() error { return s.Instances().Delete(ctx(), inst.ID) })

	boom := errors.New("boom")
	err = s.InTx(ctx(), func(tx store.Tx) error {
		d.Name = "renamed"
		if err := tx.Datastores().Update(ctx(), d); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || version(p) != last {
		t.Fatalf("a rolled-back write changed the version (%v)", err)
	}
	if v := version("ffffffffffffffffffffffffffffffff"); v != 0 {
		t.Fatalf("version of a project without writes = %d", v)
	}
}

// testSummaries: datastore summaries listed outside a transaction (which
// a store may serve from memory) follow every write of a datastore at
// once, also a write through another handle on the same store (another
// dbaasd replica), with the filters applied as the database would.
func testSummaries(t *testing.T, open func() store.Store) {
	one, two := open(), open()
	p := project(t, one)
	ids := func(f store.Filter) []string {
		t.Helper()
		list, err := one.DatastoreSummaries().List(ctx(), f)
		must(t, err)
		var out []string
		for _, d := range list {
			if d.ProjectID == p {
				out = append(out, d.ID+"/"+d.Status)
			}
		}
		return out
	}
	expect := func(what string, f store.Filter, want ...string) {
		t.Helper()
		for i := 0; i < 2; i++ { // the second list may come from memory
			got := ids(f)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: list %d = %v, want %v", what, i+1, got, want)
			}
		}
	}
	a, b := datastore(p), datastore(p)
	b.CreatedAt = a.CreatedAt.Add(time.Second)
	expect("empty", store.Filter{ProjectID: p})
	must(t, two.Datastores().Insert(ctx(), a))
	expect("one inserted elsewhere", store.Filter{ProjectID: p}, a.ID+"/"+a.Status)
	must(t, two.InTx(ctx(), func(tx store.Tx) error { return tx.Datastores().Insert(ctx(), b) }))
	expect("two", store.Filter{Deleted: store.No}, a.ID+"/"+a.Status, b.ID+"/"+b.Status)
	a.Status = model.StatusActive
	must(t, two.Datastores().Update(ctx(), a))
	expect("status changed elsewhere", store.Filter{}, a.ID+"/"+model.StatusActive, b.ID+"/"+b.Status)
	expect("by status", store.Filter{Status: model.StatusActive, ProjectID: p}, a.ID+"/"+model.StatusActive)
	expect("by a field kept in the database only", store.Filter{NodeCount: 1, ProjectID: p},
		a.ID+"/"+model.StatusActive, b.ID+"/"+b.Status)
	b.Deleted = true
	must(t, two.Datastores().Update(ctx(), b))
	expect("deleted", store.Filter{Deleted: store.No, ProjectID: p}, a.ID+"/"+model.StatusActive)
	must(t, two.Datastores().Delete(ctx(), b.ID))
	expect("removed", store.Filter{}, a.ID+"/"+model.StatusActive)
}

// testDatastoreSnapshot: a snapshot's version stays the same while no
// datastore is written and grows with every write of one, also through
// another handle on the same store (another dbaasd replica); its rows
// are what the database holds at that version, deleted datastores
// included.
func testDatastoreSnapshot(t *testing.T, open func() store.Store) {
	one, two := open(), open()
	p := project(t, one)
	snap := func() (int64, []string) {
		t.Helper()
		s, err := one.DatastoreSnapshot(ctx())
		must(t, err)
		var out []string
		for _, d := range s.Rows {
			if d.ProjectID == p {
				out = append(out, fmt.Sprintf("%s/%s/%v", d.ID, d.Status, d.Deleted))
			}
		}
		return s.Version, out
	}
	v0, rows := snap()
	if len(rows) != 0 {
		t.Fatalf("rows of a project without datastores: %v", rows)
	}
	if v, _ := snap(); v != v0 {
		t.Fatalf("version moved from %d to %d without a write", v0, v)
	}
	a := datastore(p)
	must(t, two.Datastores().Insert(ctx(), a))
	v1, rows := snap()
	if v1 <= v0 || fmt.Sprint(rows) != fmt.Sprint([]string{a.ID + "/" + a.Status + "/false"}) {
		t.Fatalf("after an insert elsewhere: version %d (was %d), rows %v", v1, v0, rows)
	}
	if v, again := snap(); v != v1 || fmt.Sprint(again) != fmt.Sprint(rows) {
		t.Fatalf("unchanged store: version %d rows %v, then %d %v", v1, rows, v, again)
	}
	a.Deleted, a.Status = true, model.StatusPendingDelete
	must(t, two.InTx(ctx(), func(tx store.Tx) error { return tx.Datastores().Update(ctx(), a) }))
	v2, rows := snap()
	if v2 <= v1 || fmt.Sprint(rows) != fmt.Sprint([]string{a.ID + "/" + model.StatusPendingDelete + "/true"}) {
		t.Fatalf("after a deletion elsewhere: version %d (was %d), rows %v", v2, v1, rows)
	}
	must(t, two.Datastores().Delete(ctx(), a.ID))
	if v3, rows := snap(); v3 <= v2 || len(rows) != 0 {
		t.Fatalf("after a removal elsewhere: version %d (was %d), rows %v", v3, v2, rows)
	}
}
