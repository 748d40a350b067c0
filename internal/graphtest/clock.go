package graphtest

import "github.com/credres/credres/internal/clocktest"

// Clock is the fake clock the server and the client under test share.
type Clock = clocktest.Clock

// NewClock returns a fake clock reading start (see clocktest.NewClock).
var NewClock = clocktest.NewClock
