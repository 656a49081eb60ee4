package telemetry

import (
	"context"
	"time"

	"github.com/dbaasd/dbaasd/internal/store"
)

// lead reports whether this dbaasd does a round of the periodic work
// named: several replicas on one store share it by a lease in the store,
// taken for three rounds at a time, which the holder renews once less than
// half of that is left and another replica takes over when the holder stops
// renewing it.
func (s *Service) lead(ctx context.Context, work string, every time.Duration) bool {
	ok, err := s.lease(work, every).Hold(ctx, s.now())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("telemetry lease", "work", work, "error", err)
		}
		return false
	}
	return ok
}

// lease returns the lease of the work named.
func (s *Service) lease(work string, every time.Duration) *store.Lease {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	l, ok := s.leases[work]
	if !ok {
		l = store.NewLease(s.store, "telemetry:"+work, s.cfg.Owner, 3*every)
		s.leases[work] = l
	}
	return l
}

// resign gives the lease of the work named up when this dbaasd stops, so
// that another replica takes the work over at its next round.
func (s *Service) resign(ctx context.Context, work string, every time.Duration) {
	if err := s.lease(work, every).Resign(ctx); err != nil {
		s.log.Warn("telemetry lease", "work", work, "error", err)
	}
}
