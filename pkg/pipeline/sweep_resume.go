package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// RegistrationPager reads the registration report one page at a time, so
// that a sweep can stop between pages and continue in another invocation
// from the link it kept.
type RegistrationPager interface {
	// RegistrationPage reads the page at link ("": the first page) and
	// returns its rows and the link of the next page ("" after the last).
	RegistrationPage(ctx context.Context, link string) ([]model.Registration, string, error)
}

// SweepCursor is where an unfinished sweep stands between invocations: the
// link of the next report page, the users of the page last read that are
// still to evaluate, and what the sweep was started for. It never holds
// more than one page.
type SweepCursor struct {
	// Started is when the sweep began: its requests carry this time, so
	// that a request sent again after a crash has the same deduplication
	// id, and users are due (stale) as of it.
	Started time.Time    `json:"started"`
	Options SweepOptions `json:"options"`
	// Next is the link of the page after Rows; "" before the first page
	// (Stats.Pages 0) and after the last.
	Next string               `json:"next,omitempty"`
	Rows []model.Registration `json:"-"`
	// Change is the policy change in force, Everyone whether every user is
	// due; Pending and GraceDue are the audit ids of the changes to mark
	// swept when the walk ends.
	Change   *model.PolicyChange `json:"change,omitempty"`
	Everyone bool                `json:"everyone,omitempty"`
	Pending  []string            `json:"pending,omitempty"`
	GraceDue []string            `json:"graceDue,omitempty"`
	Stats    SweepStats          `json:"stats"`
	// Ended is when a storm's triage walk finished (its cursor is kept
	// to space the next walk).
	Ended time.Time `json:"ended,omitzero"`
}

// cursorRow is a cursor's registration row as kept, in short names: a
// page of 1 000 rows is most of the cursor.
type cursorRow struct {
	ID      string    `json:"i"`
	Methods []string  `json:"m,omitempty"`
	Updated time.Time `json:"u,omitzero"`
}

// storedCursor is a cursor as kept.
type storedCursor struct {
	SweepCursor
	Rows []cursorRow `json:"rows,omitempty"`
}

// EncodeSweepCursor writes a cursor as SweepCheckpoints keep it (JSON).
func EncodeSweepCursor(cur *SweepCursor) ([]byte, error) {
	sc := storedCursor{SweepCursor: *cur}
	for _, r := range cur.Rows {
		sc.Rows = append(sc.Rows, cursorRow{ID: r.UserID, Methods: r.MethodsRegistered, Updated: r.LastUpdated})
	}
	return json.Marshal(sc)
}

// DecodeSweepCursor reads a cursor EncodeSweepCursor wrote.
func DecodeSweepCursor(data []byte) (*SweepCursor, error) {
	var sc storedCursor
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("sweep: %w: the kept cursor: %v", model.ErrInvalidInput, err)
	}
	cur := sc.SweepCursor
	for _, r := range sc.Rows {
		cur.Rows = append(cur.Rows, model.Registration{UserID: r.ID, MethodsRegistered: r.Methods, LastUpdated: r.Updated})
	}
	return &cur, nil
}

// SweepCheckpoints keeps a sweep's cursor between invocations, and the
// lease that keeps a second sweep from running while one is in progress.
// The lease expires, so that an invocation that crashed does not hold the
// sweep for ever.
type SweepCheckpoints interface {
	// AcquireSweep takes the lease for owner until now+lease unless another
	// owner holds one that has not expired (ok false). It returns the
	// cursor of an unfinished sweep, or nil.
	// The cursor is a SweepCursor as EncodeSweepCursor writes it.
	AcquireSweep(ctx context.Context, owner string, now time.Time, lease time.Duration) (cursor []byte, ok bool, err error)
	// SaveSweep keeps the cursor and extends the lease to now+lease, if
	// owner still holds it (otherwise an error wrapping model.ErrConflict).
	SaveSweep(ctx context.Context, owner string, cursor []byte, now time.Time, lease time.Duration) error
	// ReleaseSweep gives owner's lease up; done also forgets the cursor
	// (the sweep is finished).
	ReleaseSweep(ctx context.Context, owner string, done bool) error
}

// DefaultSweepLease is the lease of a resumable sweep when Sweep.Lease is
// not set: longer than a Lambda function can run (15 minutes), counted
// from each checkpoint.
const DefaultSweepLease = 16 * time.Minute

// maxSweepPages bounds a sweep's pages, so that a report whose links lead
// round in a circle ends in an error rather than sweeping for ever: a
// million users at 1 000 rows a page, 200 times over.
const maxSweepPages = 200_000

func (s *Sweep) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultSweepLease
}

// runResumable runs one invocation of a resumable sweep: it takes the
// lease, continues the sweep in progress or begins one, walks until the
// report ends or Budget is spent, and keeps the cursor. An invocation that
// finds the lease held does nothing (Busy). An unfinished sweep is always
// continued, whatever this invocation was asked for: its options are the
// cursor's.
func (s *Sweep) runResumable(ctx context.Context, opt SweepOptions) (SweepStats, error) {
	now := s.Now()
	owner, err := newOwner()
	if err != nil {
		return SweepStats{}, err
	}
	kept, ok, err := s.Checkpoints.AcquireSweep(ctx, owner, now, s.lease())
	if err != nil {
		return SweepStats{}, fmt.Errorf("sweep: take the lease: %w", err)
	}
	if !ok {
		zerolog.Ctx(ctx).Info().Msg("sweep: another run holds the lease; nothing done")
		return SweepStats{Busy: true}, nil
	}
	cur, keep, err := s.cursor(ctx, kept, opt, now)
	if err != nil || cur == nil {
		return SweepStats{}, errors.Join(err, s.Checkpoints.ReleaseSweep(ctx, owner, !keep))
	}
	cur.Stats.Invocations++
	err = s.walk(ctx, owner, cur, now)
	if err == nil && cur.Stats.Done {
		err = s.markSwept(ctx, cur)
		switch {
		case err == nil && !cur.Options.Triage:
			return cur.Stats, s.Checkpoints.ReleaseSweep(ctx, owner, true)
		case err == nil:
			// A finished triage walk is kept, to space the next one.
			cur.Ended = s.Now()
		default:
			cur.Stats.Done = false
		}
	}
	// Unfinished, or failed: the cursor stays for the next invocation.
	if serr := s.save(ctx, owner, cur); serr != nil {
		return cur.Stats, errors.Join(err, serr)
	}
	return cur.Stats, errors.Join(err, s.Checkpoints.ReleaseSweep(ctx, owner, false))
}

// cursor returns the cursor to walk, or nil when there is nothing to do:
// the kept one, unless it is a storm's triage walk and a sweep is due,
// which replaces it (a sweep keeps the report's rows as well); without one,
// a new sweep's, or a triage walk's in a storm. A finished triage walk's
// cursor stays kept until stormWalkEvery after its end, so that walks are
// spaced; keep reports whether the kept cursor stays when there is nothing
// to do.
func (s *Sweep) cursor(ctx context.Context, kept []byte, opt SweepOptions, now time.Time) (cur *SweepCursor, keep bool, err error) {
	if kept != nil {
		if cur, err = DecodeSweepCursor(kept); err != nil || !cur.Options.Triage {
			return cur, true, err
		}
		due, err := s.begin(ctx, opt, now)
		switch {
		case err != nil:
			return nil, true, err
		case due != nil:
			zerolog.Ctx(ctx).Info().Int("pages", cur.Stats.Pages).Msg("sweep: a sweep is due; it replaces the storm's triage walk")
			return due, true, nil
		case !cur.Stats.Done:
			return cur, true, nil
		case now.Before(cur.Ended.Add(stormWalkEvery)):
			return nil, true, nil
		}
		return s.beginTriage(ctx, now), false, nil
	}
	if cur, err = s.begin(ctx, opt, now); err != nil || cur != nil {
		return cur, false, err
	}
	return s.beginTriage(ctx, now), false, nil
}

// stormWalkEvery spaces a storm's triage walks: the next starts no sooner
// than this after the last ended, so that the rows stay fresh for the
// events that came since without rewriting every row at every run.
const stormWalkEvery = time.Hour

// beginTriage starts a triage walk when the evaluation backlog is a storm
// (Backlog), or returns nil. A backlog that cannot be read starts none.
func (s *Sweep) beginTriage(ctx context.Context, now time.Time) *SweepCursor {
	if s.Backlog == nil || s.RegistrationCache == nil {
		return nil
	}
	backlog, hours, err := s.Backlog.Estimate(ctx)
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Msg("sweep: the evaluation backlog cannot be read; no triage")
		return nil
	}
	threshold := s.StormThreshold
	if threshold <= 0 {
		threshold = DefaultStormThreshold
	}
	if hours <= threshold.Hours() {
		return nil
	}
	zerolog.Ctx(ctx).Info().Int("backlog", backlog).Float64("backlogDrainHours", hours).Msg("sweep: a storm of events; the registration report is walked for triage")
	return &SweepCursor{Started: now, Options: SweepOptions{Triage: true}, Stats: SweepStats{Triage: true}}
}

// begin starts a sweep's cursor, or returns nil when PolicyChangesOnly
// finds no policy change due.
func (s *Sweep) begin(ctx context.Context, opt SweepOptions, now time.Time) (*SweepCursor, error) {
	pending, graceDue, err := s.policyChangesDue(ctx, now)
	if err != nil {
		return nil, err
	}
	if opt.PolicyChangesOnly && len(pending) == 0 && len(graceDue) == 0 {
		return nil, nil
	}
	cur := &SweepCursor{Started: now, Options: opt, Change: latestChange(pending), Everyone: len(pending)+len(graceDue) > 0}
	for _, c := range pending {
		cur.Pending = append(cur.Pending, c.Change.AuditID)
	}
	for _, c := range graceDue {
		cur.GraceDue = append(cur.GraceDue, c.Change.AuditID)
	}
	return cur, nil
}

// walk evaluates the cursor's rows a chunk at a time, reading the next page
// when they are done, until the report ends (Stats.Done) or the budget of
// this invocation (from start) is spent. The cursor is kept after each
// page, so that a crash repeats at most one page.
func (s *Sweep) walk(ctx context.Context, owner string, cur *SweepCursor, start time.Time) error {
	w := s.newRun(ctx, cur.Options, cur.Started, &cur.Stats, cur.Change, cur.Everyone)
	for {
		if len(cur.Rows) == 0 {
			if cur.Stats.Pages > 0 && cur.Next == "" {
				cur.Stats.Done = true
				return nil
			}
			if s.Budget > 0 && !s.Now().Before(start.Add(s.Budget)) {
				return nil
			}
			if err := s.readPage(ctx, cur); err != nil {
				return err
			}
		}
		n := min(sweepChunk, len(cur.Rows))
		if !cur.Options.Triage { // triage only keeps the rows (readPage)
			w.chunk = append(w.chunk[:0], cur.Rows[:n]...)
			if err := w.flush(); err != nil {
				return err
			}
		}
		cur.Stats.Users += n
		cur.Rows = cur.Rows[n:]
		if len(cur.Rows) == 0 {
			if err := s.save(ctx, owner, cur); err != nil {
				return err
			}
		}
	}
}

// save keeps the cursor and extends the lease.
func (s *Sweep) save(ctx context.Context, owner string, cur *SweepCursor) error {
	data, err := EncodeSweepCursor(cur)
	if err == nil {
		err = s.Checkpoints.SaveSweep(ctx, owner, data, s.Now(), s.lease())
	}
	if err != nil {
		return fmt.Errorf("sweep: keep the cursor: %w", err)
	}
	return nil
}

// readPage reads the page at the cursor's link into its rows.
func (s *Sweep) readPage(ctx context.Context, cur *SweepCursor) error {
	if cur.Stats.Pages >= maxSweepPages {
		return fmt.Errorf("sweep: %w: the registration report goes on past %d pages", model.ErrInvalidInput, maxSweepPages)
	}
	var rows []model.Registration
	var next string
	err := retry(ctx, "read a registration report page", func() (err error) {
		rows, next, err = s.Pages.RegistrationPage(ctx, cur.Next)
		return err
	})
	if err != nil {
		return fmt.Errorf("sweep: read registration report page %d: %w", cur.Stats.Pages+1, err)
	}
	if next != "" && next == cur.Next {
		return fmt.Errorf("sweep: %w: registration report page %d links to itself", model.ErrInvalidInput, cur.Stats.Pages+1)
	}
	if s.RegistrationCache != nil {
		at, ttl := s.Now(), registrationTTL(s.RegistrationTTL)
		err := retry(ctx, "keep the registration rows", func() error { return s.RegistrationCache.KeepRegistrations(ctx, rows, at, ttl) })
		if err != nil {
			return fmt.Errorf("sweep: keep registration report page %d: %w", cur.Stats.Pages+1, err)
		}
	}
	cur.Rows, cur.Next = rows, next
	cur.Stats.Pages++
	return nil
}

// markSwept records the policy changes the finished sweep re-evaluated
// every user for.
func (s *Sweep) markSwept(ctx context.Context, cur *SweepCursor) error {
	now := s.Now()
	for _, id := range cur.Pending {
		if err := s.PolicyChanges.MarkPolicySwept(ctx, id, now, cur.Stats.Enqueued, false); err != nil {
			return fmt.Errorf("sweep: policy change %s: %w", id, err)
		}
	}
	for _, id := range cur.GraceDue {
		if err := s.PolicyChanges.MarkPolicySwept(ctx, id, now, cur.Stats.Enqueued, true); err != nil {
			return fmt.Errorf("sweep: policy change %s: %w", id, err)
		}
		cur.Stats.GraceEnded++
	}
	return nil
}

// newOwner names one invocation's hold on the lease.
func newOwner() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sweep: lease owner: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
