package store

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrFull is returned (wrapped, with the database's own error) when a
// write failed because the store's database or disk is full: nothing was
// written, and the operator must free space.
var ErrFull = errors.New("the store is full")

// markFull wraps err with ErrFull when it says the database or its disk is
// full: SQLite's SQLITE_FULL ("database or disk is full"), PostgreSQL's
// disk_full (53100), or the file system's ENOSPC.
func markFull(err error) error {
	if err == nil || errors.Is(err, ErrFull) {
		return err
	}
	full := false
	var pe *pgconn.PgError
	var se *sqlite.Error
	switch {
	case errors.As(err, &pe):
		full = pe.Code == "53100"
	case errors.As(err, &se):
		full = se.Code()&0xff == sqlite3.SQLITE_FULL
	}
	if full || errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return err
}
