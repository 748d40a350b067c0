package pipeline

import (
	"context"

	"github.com/rs/zerolog"
)

// Run judges the emergency access set (Emergency, when set), then walks
// the registration report (sweep). The set is judged at every run, the
// 15-minute policy-change runs included: a change to a break-glass account
// (its own nudges and tickets never go out) then reaches the security team
// within a quarter of an hour, for a few reads of a handful of accounts. A
// set that cannot be judged is logged and reported in the stats, and never
// stops the walk: the next run judges it again.
func (s *Sweep) Run(ctx context.Context, opt SweepOptions) (SweepStats, error) {
	var ea *EmergencyStats
	if s.Emergency != nil {
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
