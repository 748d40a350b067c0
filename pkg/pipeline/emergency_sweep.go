package pipeline

import (
	"context"

	"github.com/rs/zerolog"
)

// Run judges the emergency access set (Emergency, when set, and the run
// is not PolicyChangesOnly), then walks the registration report (sweep).
// A set that cannot be judged is logged and reported in the stats, and
// never stops the walk: the next run judges it again.
func (s *Sweep) Run(ctx context.Context, opt SweepOptions) (SweepStats, error) {
	var ea *EmergencyStats
	if s.Emergency != nil && !opt.PolicyChangesOnly {
		st, err := s.Emergency.Run(ctx)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("emergency access: the set was not judged; the next sweep tries again")
			st.Error = err.Error()
		}
		ea = &st
	}
	stats, err := s.sweep(ctx, opt)
	stats.EmergencyAccess = ea
	return stats, err
}
