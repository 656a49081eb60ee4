package store

import (
	"context"
	"fmt"
	"sync"
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

// Lease is one named lease as its holder sees it. Hold writes to the store
// only when less than half of the lease's term is left (or it is not held),
// so a holder that calls Hold every round renews every other round or less
// often, instead of writing each time. Another owner can take the lease
// only once it has expired in the store, which is never before the end of
// the term this holder last recorded, so skipping a write never lets two
// owners hold it at once.
type Lease struct {
	leases      Leases
	name, owner string
	term        time.Duration

	mu    sync.Mutex
	until time.Time // end of the term recorded by the last successful write; zero when not held
}

// NewLease returns the lease name of owner, taken for term at a time.
func NewLease(leases Leases, name, owner string, term time.Duration) *Lease {
	return &Lease{leases: leases, name: name, owner: owner, term: term}
}

// Hold reports whether owner holds the lease at now, taking or renewing it
// in the store when less than half of its term is left.
func (l *Lease) Hold(ctx context.Context, now time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.until.IsZero() && !now.Before(l.until.Add(-l.term)) && l.until.Sub(now) > l.term/2 {
		return true, nil
	}
	l.until = time.Time{}
	ok, err := l.leases.AcquireLease(ctx, l.name, l.owner, now, now.Add(l.term))
	if err != nil || !ok {
		return false, err
	}
	l.until = now.Add(l.term)
	return true, nil
}

// Resign is Release for a holder that stops: ctx may be done already, so
// the release has a second of its own.
func (l *Lease) Resign(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	return l.Release(ctx)
}

// Release gives the lease up, so that another owner takes it over at its
// next round instead of when the term ends.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until.IsZero() {
		return nil
	}
	l.until = time.Time{}
	return l.leases.ReleaseLease(ctx, l.name, l.owner)
}
