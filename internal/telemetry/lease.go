package telemetry

import (
	"context"
	"time"
)

// lead reports whether this dbaasd does a round of the periodic work
// named: several replicas on one store share it by a lease in the store,
// which the holder renews every round and another replica takes over when
// the holder stops renewing it.
func (s *Service) lead(ctx context.Context, work string, every time.Duration) bool {
	now := s.now()
	ok, err := s.store.AcquireLease(ctx, "telemetry:"+work, s.cfg.Owner, now, now.Add(3*every))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("telemetry lease", "work", work, "error", err)
		}
		return false
	}
	return ok
}
