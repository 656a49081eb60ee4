package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// table describes how one record type maps to one SQL table. The first
// column is the primary key "id".
type table[T any] struct {
	name    string
	cols    []string
	colSet  map[string]bool
	order   string
	values  func(v *T) ([]any, error) // in cols order
	scan    func(s scanner) (*T, error)
	idOf    func(v *T) string
	selects string
}

func newTable[T any](name string, cols []string, order string, idOf func(*T) string,
	values func(*T) ([]any, error), scan func(scanner) (*T, error)) *table[T] {
	set := make(map[string]bool, len(cols))
	for _, c := range cols {
		set[c] = true
	}
	return &table[T]{
		name: name, cols: cols, colSet: set, order: order, values: values, scan: scan, idOf: idOf,
		selects: "SELECT " + strings.Join(cols, ", ") + " FROM " + name,
	}
}

// repo binds a table to a querier.
type repo[T any] struct {
	t *table[T]
	o *ops
}

func (r repo[T]) Get(ctx context.Context, id string) (*T, error) {
	return r.get(ctx, id, false)
}

func (r repo[T]) GetForUpdate(ctx context.Context, id string) (*T, error) {
	return r.get(ctx, id, r.o.inTx && r.o.dialect == Postgres)
}

func (r repo[T]) get(ctx context.Context, id string, lock bool) (*T, error) {
	q := r.t.selects + " WHERE id = ?"
	if lock {
		q += " FOR UPDATE"
	}
	v, err := r.t.scan(r.o.queryRow(ctx, q, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", r.t.name, id, err)
	}
	return v, nil
}

func (r repo[T]) where(f Filter) (string, []any, error) {
	if f.Nothing {
		return " WHERE 1 = 0", nil, nil
	}
	conds := f.conds()
	if len(conds) == 0 {
		return "", nil, nil
	}
	var b strings.Builder
	args := make([]any, 0, len(conds))
	for i, c := range conds {
		if !r.t.colSet[c.col] {
			return "", nil, fmt.Errorf("filter %s by a field it does not have (%s)", r.t.name, c.col)
		}
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		b.WriteString(c.col + " = ?")
		args = append(args, dbValue(c.val))
	}
	return b.String(), args, nil
}

func (r repo[T]) List(ctx context.Context, f Filter) ([]T, error) {
	w, args, err := r.where(f)
	if err != nil {
		return nil, err
	}
	rows, err := r.o.query(ctx, r.t.selects+w+" ORDER BY "+r.t.order, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.t.name, err)
	}
	defer func() { _ = rows.Close() }()
	out := []T{}
	for rows.Next() {
		v, err := r.t.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", r.t.name, err)
		}
		out = append(out, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", r.t.name, err)
	}
	return out, nil
}

func (r repo[T]) Count(ctx context.Context, f Filter) (int, error) {
	w, args, err := r.where(f)
	if err != nil {
		return 0, err
	}
	var n int
	if err := r.o.queryRow(ctx, "SELECT COUNT(*) FROM "+r.t.name+w, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", r.t.name, err)
	}
	return n, nil
}

func (r repo[T]) CountBy(ctx context.Context, f Filter, field string) (map[string]int, error) {
	if !r.t.colSet[field] {
		return nil, fmt.Errorf("count %s by unknown field %q", r.t.name, field)
	}
	w, args, err := r.where(f)
	if err != nil {
		return nil, err
	}
	rows, err := r.o.query(ctx, "SELECT "+field+", COUNT(*) FROM "+r.t.name+w+" GROUP BY "+field, args...)
	if err != nil {
		return nil, fmt.Errorf("count %s: %w", r.t.name, err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("count %s: %w", r.t.name, err)
		}
		out[k] = n
	}
	return out, rows.Err()
}

func (r repo[T]) Insert(ctx context.Context, v *T) error {
	vals, err := r.t.values(v)
	if err != nil {
		return err
	}
	q := "INSERT INTO " + r.t.name + " (" + strings.Join(r.t.cols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(r.t.cols)), ", ") + ")"
	if _, err := r.o.exec(ctx, q, vals...); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("insert %s: %w", r.t.name, ErrConflict)
		}
		return fmt.Errorf("insert %s: %w", r.t.name, err)
	}
	return nil
}

func (r repo[T]) Update(ctx context.Context, v *T) error {
	vals, err := r.t.values(v)
	if err != nil {
		return err
	}
	sets := make([]string, 0, len(r.t.cols)-1)
	for _, c := range r.t.cols[1:] {
		sets = append(sets, c+" = ?")
	}
	q := "UPDATE " + r.t.name + " SET " + strings.Join(sets, ", ") + " WHERE id = ?"
	args := append(vals[1:], vals[0])
	res, err := r.o.exec(ctx, q, args...)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("update %s: %w", r.t.name, ErrConflict)
		}
		return fmt.Errorf("update %s: %w", r.t.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update %s %s: %w", r.t.name, r.t.idOf(v), ErrNotFound)
	}
	return nil
}

func (r repo[T]) Delete(ctx context.Context, id string) error {
	res, err := r.o.exec(ctx, "DELETE FROM "+r.t.name+" WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete %s: %w", r.t.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete %s %s: %w", r.t.name, id, ErrNotFound)
	}
	return nil
}

// Column value helpers.

// dbValue converts filter values to what both drivers store.
func dbValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UnixMicro()
	case *time.Time:
		return tsPtr(x)
	}
	return v
}

func ts(t time.Time) int64 { return t.UnixMicro() }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func fromTS(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromTSPtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromTS(n.Int64)
	return &t
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json column: %w", err)
	}
	return string(b), nil
}

func fromJSON[T any](s string, dst *T) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("decode json column: %w", err)
	}
	return nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
