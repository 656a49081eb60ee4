package store

import (
	"context"
	"fmt"
	"time"
)

// Leases hands out named, expiring leases of periodic work.
type Leases interface {
	// AcquireLease takes (or renews) the lease name for owner until the
	// given time; it reports false when another owner holds it unexpired.
	AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error)
	// ReleaseLease gives a lease up if owner holds it.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// AcquireLease implements Leases with one conditional upsert, so two
// replicas racing for a lease cannot both win.
func (o *ops) AcquireLease(ctx context.Context, name, owner string, now, until time.Time) (bool, error) {
	res, err := o.exec(ctx, `INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE leases.owner = excluded.owner OR leases.until < ?`, name, owner, ts(until), ts(now))
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease implements Leases.
func (o *ops) ReleaseLease(ctx context.Context, name, owner string) error {
	if _, err := o.exec(ctx, "DELETE FROM leases WHERE name = ? AND owner = ?", name, owner); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}
