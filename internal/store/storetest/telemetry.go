package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dbaasd/dbaasd/internal/store"
)

// testSamples checks that samples round-trip, are selected by datastore,
// kind and an inclusive time range, come back oldest first, are stored
// once, drop values that are not numbers, and that large batches work.
func testSamples(t *testing.T, open func() store.Store) {
	s := open()
	ds, other := uuid.NewString(), uuid.NewString()
	at := func(sec int) time.Time { return now.Add(time.Duration(sec) * time.Second) }
	var batch []store.Sample
	for i := 0; i < 250; i++ { // more than one INSERT statement
		for _, node := range []string{"node-b", "node-a"} {
			batch = append(batch, store.Sample{DatastoreID: ds, Kind: store.SampleInstance, Key: node, IP: "127.0.0.1",
				TS: at(i), Values: map[string]float64{"commits_total": float64(i), "up": 1}})
		}
	}
	batch = append(batch,
		store.Sample{DatastoreID: ds, Kind: store.SampleDatabase, Key: "app", TS: at(5), Values: map[string]float64{"size_bytes": 8192}},
		store.Sample{DatastoreID: other, Kind: store.SampleInstance, Key: "node-x", TS: at(5), Values: map[string]float64{"up": 0}},
		store.Sample{DatastoreID: ds, Kind: store.SampleDatabase, Key: "odd", TS: at(6),
			Values: map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "ok": 1.5}},
	)
	must(t, s.InsertSamples(ctx(), batch))
	// Storing a sample again keeps the first one.
	must(t, s.InsertSamples(ctx(), []store.Sample{{DatastoreID: ds, Kind: store.SampleInstance, Key: "node-a", TS: at(10),
		Values: map[string]float64{"commits_total": -1}}}))
	must(t, s.InsertSamples(ctx(), nil))

	got, err := s.QuerySamples(ctx(), ds, store.SampleInstance, at(10), at(12))
	must(t, err)
	if len(got) != 6 {
		t.Fatalf("samples in [10s, 12s]: %d, want 6 (two nodes, three times, both ends included)", len(got))
	}
	for i, want := range []struct {
		key string
		sec int
	}{{"node-a", 10}, {"node-b", 10}, {"node-a", 11}, {"node-b", 11}, {"node-a", 12}, {"node-b", 12}} {
		g := got[i]
		if g.Key != want.key || !g.TS.Equal(at(want.sec)) || g.Values["commits_total"] != float64(want.sec) ||
			g.IP != "127.0.0.1" || g.DatastoreID != ds || g.Kind != store.SampleInstance {
			t.Fatalf("sample %d = %+v, want %s at %ds", i, g, want.key, want.sec)
		}
	}
	all, err := s.QuerySamples(ctx(), ds, store.SampleInstance, at(-100), at(1000))
	must(t, err)
	if len(all) != 500 {
		t.Fatalf("all instance samples: %d, want 500", len(all))
	}
	dbs, err := s.QuerySamples(ctx(), ds, store.SampleDatabase, at(0), at(1000))
	must(t, err)
	if len(dbs) != 2 || dbs[0].Key != "app" || dbs[0].Values["size_bytes"] != 8192 {
		t.Fatalf("database samples %+v", dbs)
	}
	if v := dbs[1].Values; len(v) != 1 || v["ok"] != 1.5 {
		t.Fatalf("values that are not numbers were kept: %v", v)
	}
	none, err := s.QuerySamples(ctx(), uuid.NewString(), store.SampleInstance, at(0), at(1000))
	must(t, err)
	if none == nil || len(none) != 0 {
		t.Fatalf("samples of an unknown datastore: %#v, want an empty list", none)
	}
}

// testPruneSamples checks that pruning removes exactly the samples taken
// before the cut, of every datastore.
func testPruneSamples(t *testing.T, open func() store.Store) {
	s := open()
	ds := []string{uuid.NewString(), uuid.NewString()}
	var batch []store.Sample
	for h := 0; h < 10; h++ {
		for _, d := range ds {
			batch = append(batch, store.Sample{DatastoreID: d, Kind: store.SampleInstance, Key: "n",
				TS: now.Add(-time.Duration(h) * time.Hour), Values: map[string]float64{"up": 1}})
		}
	}
	must(t, s.InsertSamples(ctx(), batch))
	cut := now.Add(-4*time.Hour - time.Minute)
	n, err := s.PruneSamples(ctx(), cut)
	must(t, err)
	if n != 10 { // hours 5 to 9 of both datastores
		t.Fatalf("pruned %d samples, want 10", n)
	}
	for _, d := range ds {
		left, err := s.QuerySamples(ctx(), d, store.SampleInstance, now.Add(-48*time.Hour), now)
		must(t, err)
		if len(left) != 5 || left[0].TS.Before(cut) {
			t.Fatalf("left after pruning: %d samples from %v, want 5 after %v", len(left), left[0].TS, cut)
		}
	}
	if n, err := s.PruneSamples(ctx(), cut); err != nil || n != 0 {
		t.Fatalf("pruning again: %d, %v", n, err)
	}
}

// testLogOffsets checks that log offsets are recorded, replaced, survive a
// reopen and are forgotten per datastore.
func testLogOffsets(t *testing.T, open func() store.Store) {
	s := open()
	a, b := uuid.NewString(), uuid.NewString()
	put := func(ds, path, group string, off int64) {
		must(t, s.PutLogOffset(ctx(), store.LogOffset{DatastoreID: ds, Path: path, LogGroup: group,
			FileID: fmt.Sprint("dev:", off), Offset: off, UpdatedAt: now}))
	}
	put(a, "/x/postgresql-Mon.log", "g1", 10)
	put(a, "/x/postgresql-Tue.log", "g1", 20)
	put(b, "/y/redis.log", "g2", 30)
	put(a, "/x/postgresql-Mon.log", "g3", 15) // replaces
	reopened := open()
	list, err := reopened.LogOffsets(ctx())
	must(t, err)
	mine := map[string]store.LogOffset{}
	for _, l := range list {
		if l.DatastoreID == a || l.DatastoreID == b {
			mine[l.Path] = l
		}
	}
	if len(mine) != 3 {
		t.Fatalf("offsets %+v, want 3", mine)
	}
	if m := mine["/x/postgresql-Mon.log"]; m.Offset != 15 || m.LogGroup != "g3" || m.FileID != "dev:15" ||
		m.DatastoreID != a || !m.UpdatedAt.Equal(now) {
		t.Fatalf("replaced offset %+v", m)
	}
	must(t, reopened.DeleteLogOffsets(ctx(), a))
	must(t, reopened.DeleteLogOffsets(ctx(), a)) // nothing left: not an error
	list, err = reopened.LogOffsets(ctx())
	must(t, err)
	for _, l := range list {
		if l.DatastoreID == a {
			t.Fatalf("offset of a forgotten datastore: %+v", l)
		}
	}
	found := false
	for _, l := range list {
		found = found || (l.DatastoreID == b && l.Offset == 30)
	}
	if !found {
		t.Fatal("deleting one datastore's offsets removed another's")
	}
}
