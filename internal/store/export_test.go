package store

import (
	"context"

	"github.com/pressly/goose/v3"
)

// MigrateDownTo undoes the migrations after version (tests of migrations
// start from a store as an earlier dbaasd left it).
func MigrateDownTo(ctx context.Context, db *DB, version int64) error {
	gd := goose.DialectSQLite3
	if db.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := migrator(db.sql, db.dialect, gd)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}
