package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/credres/credres/pkg/model"
)

// policyFile is the file store's record of the tenant's policy changes
// (policy-changes.json): each change by audit id, with the users already
// counted as dropped by it, so that counting is idempotent.
type policyFile struct {
	Changes map[string]*policyEntry `json:"changes"`
}

type policyEntry struct {
	model.PolicyChangeState
	Counted []string `json:"counted,omitempty"`
}

func (s *FileStore) policyPath() string { return filepath.Join(s.dir, "policy-changes.json") }

// policyChanges reads the file and lets change edit it; the file is
// written when change returns true. Policy changes are rare: the file is
// read and written whole.
func (s *FileStore) policyChanges(change func(*policyFile) (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f policyFile
	if _, err := s.readJSON(s.policyPath(), &f); err != nil {
		return fmt.Errorf("store: policy changes: %w", err)
	}
	if f.Changes == nil {
		f.Changes = map[string]*policyEntry{}
	}
	write, err := change(&f)
	if err != nil || !write {
		return err
	}
	if err := s.writeJSON(s.policyPath(), &f); err != nil {
		return fmt.Errorf("store: policy changes: %w", err)
	}
	return nil
}

// AddPolicyChange records c as waiting for the sweep, once: a change
// already recorded (the same audit record delivered again) is left as it
// is, and false returned.
func (s *FileStore) AddPolicyChange(_ context.Context, c model.PolicyChange, at time.Time) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, err
	}
	added := false
	err := s.policyChanges(func(f *policyFile) (bool, error) {
		if _, ok := f.Changes[c.AuditID]; ok {
			return false, nil
		}
		f.Changes[c.AuditID] = &policyEntry{PolicyChangeState: model.PolicyChangeState{Change: c, Recorded: at}}
		added = true
		return true, nil
	})
	return added, err
}

// PolicyChanges returns every kept change, oldest first.
func (s *FileStore) PolicyChanges(context.Context) ([]model.PolicyChangeState, error) {
	var out []model.PolicyChangeState
	err := s.policyChanges(func(f *policyFile) (bool, error) {
		for _, e := range f.Changes {
			out = append(out, e.PolicyChangeState)
		}
		return false, nil
	})
	slices.SortFunc(out, func(a, b model.PolicyChangeState) int { return a.Change.Time.Compare(b.Change.Time) })
	return out, err
}

// MarkPolicySwept records that the sweep enqueued the tenant-wide
// re-evaluation of a change (users requests) at at; grace marks the
// re-evaluation after the change's grace period instead.
func (s *FileStore) MarkPolicySwept(_ context.Context, auditID string, at time.Time, users int, grace bool) error {
	return s.policyChanges(func(f *policyFile) (bool, error) {
		e, ok := f.Changes[auditID]
		if !ok {
			return false, fmt.Errorf("store: policy change %s: %w", auditID, model.ErrNotFound)
		}
		if grace {
			e.GraceSweptAt = at
		} else {
			e.SweptAt, e.Users = at, users
		}
		return true, nil
	})
}

// CountPolicyDrop counts a user a change dropped below policy, once per
// user and change, by violation; heldUntil, when set, counts the user as
// held and is when the held nudges are due. It returns the change as
// counted.
func (s *FileStore) CountPolicyDrop(_ context.Context, auditID, userID string, violations []model.Violation, heldUntil time.Time) (model.PolicyChangeState, error) {
	var st model.PolicyChangeState
	err := s.policyChanges(func(f *policyFile) (bool, error) {
		e, ok := f.Changes[auditID]
		if !ok {
			return false, fmt.Errorf("store: policy change %s: %w", auditID, model.ErrNotFound)
		}
		if slices.Contains(e.Counted, userID) {
			st = e.PolicyChangeState
			return false, nil
		}
		e.Counted = append(e.Counted, userID)
		e.Dropped++
		if !heldUntil.IsZero() {
			e.Held++
			if heldUntil.After(e.GraceUntil) {
				e.GraceUntil = heldUntil
			}
		}
		if e.Violations == nil {
			e.Violations = map[model.Violation]int{}
		}
		for _, v := range violations {
			e.Violations[v]++
		}
		st = e.PolicyChangeState
		return true, nil
	})
	return st, err
}

// ClaimPolicyTicket marks the change's one tenant-side ticket as decided
// at at, if its drops reached threshold and no ticket was decided before;
// true means the caller sends it.
func (s *FileStore) ClaimPolicyTicket(_ context.Context, auditID string, threshold int, at time.Time) (bool, error) {
	claimed := false
	err := s.policyChanges(func(f *policyFile) (bool, error) {
		e, ok := f.Changes[auditID]
		if !ok {
			return false, fmt.Errorf("store: policy change %s: %w", auditID, model.ErrNotFound)
		}
		if !e.TicketAt.IsZero() || e.Dropped < threshold {
			return false, nil
		}
		e.TicketAt, claimed = at, true
		return true, nil
	})
	return claimed, err
}

// LoadPolicyChange returns one change as kept.
func (s *FileStore) LoadPolicyChange(_ context.Context, auditID string) (model.PolicyChangeState, error) {
	var st model.PolicyChangeState
	err := s.policyChanges(func(f *policyFile) (bool, error) {
		e, ok := f.Changes[auditID]
		if !ok {
			return false, fmt.Errorf("store: policy change %s: %w", auditID, model.ErrNotFound)
		}
		st = e.PolicyChangeState
		return false, nil
	})
	return st, err
}
