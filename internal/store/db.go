package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dbaasd/dbaasd/internal/secret"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is the SQL implementation of Store.
type DB struct {
	sql     *sql.DB
	dialect string
	tables  *tables
	cache   *stmtCache
	// writers queues this process's transactions on SQLite, which runs one
	// writing transaction at a time anyway: a transaction waits for the
	// one before to end instead of SQLite's busy handler sleeping and
	// polling for its lock (up to 100 ms at a time).
	writers sync.Mutex
	ops
}

// ops implements Tx over one querier (the pool, or a transaction).
type ops struct {
	q       querier
	tx      *sql.Tx // set inside a transaction
	cache   *stmtCache
	sums    *summaryCache // nil inside transactions
	dialect string
	t       *tables
	inTx    bool
	// prepareInTx lets a transaction prepare (on the pool) a statement
	// that is not prepared yet.
	prepareInTx bool
}

// Open opens the store named by url: "" or a file path means SQLite in that
// file (dir/dbaasd.db when url is "" and dir is given), and a postgres:// or
// postgresql:// URL means PostgreSQL. It applies pending migrations.
func Open(ctx context.Context, url, dir string, sealer Sealer) (*DB, error) {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return OpenPostgres(ctx, url, sealer)
	}
	path := strings.TrimPrefix(url, "sqlite://")
	if path == "" {
		path = filepath.Join(dir, "dbaasd.db")
	}
	return OpenSQLite(ctx, path, sealer)
}

// OpenSQLite opens (creating if needed) an SQLite store in a file. The
// file and its companions (-wal, -shm, -journal) are readable by dbaasd's
// OS user only (0600): they hold token hashes and sealed secrets.
func OpenSQLite(ctx context.Context, path string, sealer Sealer) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	// SQLite creates the companions with the mode of the database file,
	// so the file is created 0600 before SQLite opens it.
	if err := restrictFiles(path, true); err != nil {
		return nil, err
	}
	// WAL lets readers run beside the single writer; immediate transactions
	// take the write lock at BEGIN, which serialises read-modify-write
	// transactions (quota checks) instead of failing them with SQLITE_BUSY.
	dsn := "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Every connection is kept: a new one runs the pragmas and prepares
	// its statements again (the default keeps only two idle).
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	st, err := finishOpen(ctx, db, SQLite, goose.DialectSQLite3, sealer)
	if err != nil {
		return nil, err
	}
	if err := restrictFiles(path, false); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

// storeFileMode is the mode of the SQLite store's files.
const storeFileMode = 0o600

// restrictFiles gives an SQLite store file and its companions mode 0600,
// creating the store file first when create is set and it is missing.
func restrictFiles(path string, create bool) error {
	if create {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, storeFileMode)
		switch {
		case err == nil:
			if err := f.Close(); err != nil {
				return fmt.Errorf("create store file: %w", err)
			}
		case !errors.Is(err, fs.ErrExist):
			return fmt.Errorf("create store file: %w", err)
		}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if _, _, err := secret.Restrict(p, storeFileMode); err != nil {
			return fmt.Errorf("store file: %w", err)
		}
	}
	return nil
}

// OpenPostgres opens a PostgreSQL store.
func OpenPostgres(ctx context.Context, url string, sealer Sealer) (*DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	return finishOpen(ctx, db, Postgres, goose.DialectPostgres, sealer)
}

func finishOpen(ctx context.Context, db *sql.DB, dialect string, gd goose.Dialect, sealer Sealer) (*DB, error) {
	if sealer == nil {
		_ = db.Close()
		return nil, errors.New("open store: a Sealer for secrets is required")
	}
	if err := pingRetry(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	}
	p, err := migrator(db, dialect, gd)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if dialect == Postgres {
		// Several replicas may start at once: one migrates at a time.
		if _, err := db.ExecContext(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		defer func() { _, _ = db.ExecContext(context.Background(), "SELECT pg_advisory_unlock(727274)") }()
	}
	if _, err := p.Up(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	t := newTables(sealer)
	cache := newStmtCache(db)
	return &DB{sql: db, dialect: dialect, tables: t, cache: cache,
		ops: ops{q: db, cache: cache, dialect: dialect, t: t, sums: &summaryCache{}}}, nil
}

// migrator returns the goose provider of the store's migrations: the SQL
// files, and the Go migrations that differ by dialect.
func migrator(db *sql.DB, dialect string, gd goose.Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(gd, db, sub, goose.WithGoMigrations(versionsMigration(dialect), tableVersionsMigration(dialect),
		countsMigration(dialect)))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

func pingRetry(ctx context.Context, db *sql.DB) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = db.PingContext(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("connect to store: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("connect to store: %w", err)
}

// Dialect implements Store.
func (db *DB) Dialect() string { return db.dialect }

// Close implements Store.
func (db *DB) Close() error {
	db.cache.close()
	return db.sql.Close()
}

// InTx implements Store. Serialisation failures and lock timeouts are
// retried a few times, since fn must be safe to run again.
func (db *DB) InTx(ctx context.Context, fn func(tx Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = db.inTxOnce(ctx, fn)
		if err == nil || !retryable(err) {
			return markFull(err)
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	return markFull(err)
}

func (db *DB) inTxOnce(ctx context.Context, fn func(tx Tx) error) error {
	if db.dialect == SQLite {
		db.writers.Lock()
		defer db.writers.Unlock()
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	// With its transactions queued, an SQLite store has connections free
	// for preparing a statement a transaction needs for the first time.
	o := &ops{q: tx, tx: tx, cache: db.cache, dialect: db.dialect, t: db.tables, inTx: true,
		prepareInTx: db.dialect == SQLite}
	if err := fn(o); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// isUniqueViolation reports whether err is a uniqueness (or primary key) violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// rebind turns ? placeholders into $1, $2 … for PostgreSQL.
func (o *ops) rebind(query string) string {
	if o.dialect != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (o *ops) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = o.rebind(query)
	if st := o.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return o.q.ExecContext(ctx, query, args...)
}

func (o *ops) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = o.rebind(query)
	if st := o.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return o.q.QueryContext(ctx, query, args...)
}

func (o *ops) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = o.rebind(query)
	if st := o.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return o.q.QueryRowContext(ctx, query, args...)
}
