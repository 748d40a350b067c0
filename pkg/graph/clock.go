package graph

import "github.com/credres/credres/internal/httpretry"

// Clock is the time source of the pacer and of retry back-off (see
// httpretry.Clock). Tests pass a fake clock so that waits take no real time.
type Clock = httpretry.Clock

// realClock is the wall clock.
type realClock = httpretry.WallClock
