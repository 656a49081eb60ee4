package seed

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

func TestSeedSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := secret.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, "", dir, box)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	types := []Type{{ID: "11111111-1111-4111-8111-111111111111", Engine: "postgresql"}, {ID: "22222222-2222-4222-8222-222222222222", Engine: "redis"}}
	projects, err := Seed(ctx, st, Spec{Projects: 3, PerProject: 6, Types: types, Salt: "t", Hasher: hasher})
	if err != nil {
		t.Fatal(err)
	}
	if len(projects) != 3 || len(projects[1].DatastoreIDs) != 6 {
		t.Fatalf("seeded %d projects, the second with %d datastores", len(projects), len(projects[1].DatastoreIDs))
	}
	n, err := st.Datastores().Count(ctx, store.Filter{ProjectID: projects[1].ID})
	if err != nil || n != 6 {
		t.Fatalf("count = %d, %v", n, err)
	}
	// Every third datastore has three nodes: 6 datastores → 4×1 + 2×3.
	insts, err := st.Instances().List(ctx, store.Filter{ProjectID: projects[1].ID})
	if err != nil || len(insts) != 10 {
		t.Fatalf("instances = %d, %v", len(insts), err)
	}
	tok, err := st.Token(ctx, hasher.Hash(projects[2].Token))
	if err != nil || tok.ProjectID != projects[2].ID {
		t.Fatalf("token of project 2: %+v, %v", tok, err)
	}
	ds, err := st.Datastores().Get(ctx, projects[0].DatastoreIDs[0])
	if err != nil || ds.Pooler == nil || ds.AdminPassword == "" {
		t.Fatalf("first datastore (postgresql) = %+v, %v", ds, err)
	}
}
