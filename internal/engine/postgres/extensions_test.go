package postgres

import (
	"errors"
	"testing"

	"github.com/dbaasd/dbaasd/internal/engine"
	"github.com/dbaasd/dbaasd/internal/engine/enginetest"
)

func TestExtensions(t *testing.T) {
	t.Parallel()
	d, c := shared(t)
	ctx := enginetest.Ctx(t)
	if err := d.EnsureDatabase(ctx, c, engine.Database{Name: "geo"}); err != nil {
		t.Fatal(err)
	}
	ext := engine.Extension{Name: "earthdistance", Database: "geo"}
	for i := 0; i < 2; i++ {
		if err := d.EnsureExtension(ctx, c, ext); err != nil {
			t.Fatalf("EnsureExtension #%d: %v", i+1, err)
		}
	}
	geo := superConn(t, &c.Nodes[0], "geo")
	installed := func() string {
		return queryString(t, geo, "SELECT coalesce(string_agg(extname, ',' ORDER BY extname), '') FROM pg_extension WHERE extname <> 'plpgsql'")
	}
	if got := installed(); got != "cube,earthdistance" {
		t.Fatalf("pg_extension in geo = %q, want cube,earthdistance", got)
	}
	postgres := superConn(t, &c.Nodes[0], "postgres")
	if got := queryString(t, postgres, "SELECT count(*)::text FROM pg_extension WHERE extname = 'earthdistance'"); got != "0" {
		t.Fatal("extension installed in the wrong database")
	}
	if err := d.DropExtension(ctx, c, engine.Extension{Name: "cube", Database: "geo"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("dropping cube while earthdistance needs it = %v, want ErrInvalid", err)
	}
	for i := 0; i < 2; i++ {
		if err := d.DropExtension(ctx, c, ext); err != nil {
			t.Fatalf("DropExtension #%d: %v", i+1, err)
		}
	}
	if got := installed(); got != "cube" {
		t.Fatalf("after dropping earthdistance: %q, want cube", got)
	}
	if err := d.EnsureExtension(ctx, c, engine.Extension{Name: "no_such_extension", Database: "geo"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("EnsureExtension of a missing extension = %v, want ErrInvalid", err)
	}
	if err := d.DropExtension(ctx, c, engine.Extension{Name: "cube", Database: "no_such_db"}); err != nil {
		t.Fatalf("DropExtension in a missing database = %v, want nil", err)
	}
}
