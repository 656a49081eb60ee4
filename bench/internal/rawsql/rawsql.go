// Package rawsql is the baseline of the write benchmark: the same durable
// write dbaasd makes for a new Prometheus metrics token (one row of the
// same shape, sealed value included, inserted in its own transaction), sent straight to the
// database with database/sql at the same concurrency — no HTTP, no
// validation, no authentication, no quota check.
package rawsql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver
	_ "modernc.org/sqlite"             // "sqlite" driver
)

// OpenSQLite opens an SQLite file the way dbaasd's store does (WAL,
// synchronous=NORMAL, immediate transactions, 8 connections).
func OpenSQLite(path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	return db, nil
}

// OpenPostgres opens a PostgreSQL database the way dbaasd's store does
// (20 connections).
func OpenPostgres(url string) (*sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	return db, nil
}

// Prepare creates the table the baseline writes to.
func Prepare(ctx context.Context, db *sql.DB) error {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_tokens (
		id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL,
		value_hash TEXT NOT NULL UNIQUE, value TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("create baseline table: %w", err)
	}
	return nil
}

// Result is the outcome of Run.
type Result struct {
	Writes     int
	Errors     int
	FirstError error
	Seconds    float64
	PerSecond  float64
}

// Run inserts rows, one transaction each, from workers goroutines for d
// (after an unrecorded warm-up), and reports committed writes per second.
// placeholder is "?" (SQLite) or "$" (PostgreSQL).
func Run(ctx context.Context, db *sql.DB, placeholder string, workers int, warmup, d time.Duration) (*Result, error) {
	q := "INSERT INTO bench_tokens (id, project_id, name, value_hash, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
	if placeholder == "$" {
		q = "INSERT INTO bench_tokens (id, project_id, name, value_hash, value, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
	}
	start := time.Now()
	from, end := start.Add(warmup), start.Add(warmup+d)
	var mu sync.Mutex
	res := &Result{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(end) {
					return
				}
				err := insert(ctx, db, q)
				if t.Before(from) {
					continue
				}
				mu.Lock()
				if err != nil {
					res.Errors++
					if res.FirstError == nil {
						res.FirstError = err
					}
				} else {
					res.Writes++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(from).Seconds()
	res.PerSecond = float64(res.Writes) / res.Seconds
	return res, nil
}

// sealedValue has the length of a sealed token value ("v1:" and the
// base64 of a 12-byte nonce, 43 bytes and a 16-byte tag).
var sealedValue = "v1:" + strings.Repeat("A", 95)

func insert(ctx context.Context, db *sql.DB, q string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	now := time.Now().UnixMicro()
	id := uuid.NewString()
	// value: as long as dbaasd's sealed form of a token value.
	if _, err := tx.ExecContext(ctx, q, id, "bench", "bench", strings.Repeat("0", 32)+id, sealedValue, now, now); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("insert: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
