package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// GroupReader reads the users of a group, nested groups' users included
// (Graph's transitiveMembers); a group that does not exist is an error
// wrapping model.ErrNotFound.
type GroupReader interface {
	GroupUsers(ctx context.Context, groupID string) ([]string, error)
}

// EmergencySetStore keeps the emergency access set's last assessment, as
// JSON, and when it was made (docs/STATE.md).
type EmergencySetStore interface {
	// LoadEmergencySet returns the stored set and its time; nil data when
	// none was ever stored.
	LoadEmergencySet(ctx context.Context) (data []byte, at time.Time, err error)
	// SaveEmergencySet stores data made at at, unless a set made at or
	// after at is stored already (an error wrapping model.ErrConflict).
	SaveEmergencySet(ctx context.Context, data []byte, at time.Time) error
}

// EmergencyAccess judges the emergency access (break-glass) accounts as one
// set in the running deployment (docs/POLICY.md, "Emergency access
// accounts"): it reads the members of the policy's emergencyAccessGroups
// (and of the emergency tier's own match groups and users), reads each
// account and its methods, assesses the set (rules.Engine.EmergencyAccess),
// decides against the set stored by the last run
// (rules.Engine.DecideEmergencyAccess) and publishes a ticket or resolve
// decision onto the ticket queue; the ticket stage sends it to the
// security team's destination (TicketRouter). The set is stored after the
// decision is published, so that a run that fails in between decides the
// same again, with the same decision id, and the ticket is opened once,
// resolved when the set is back, and not opened again while it stays
// below.
type EmergencyAccess struct {
	Groups GroupReader
	Users  UserReader
	Store  EmergencySetStore
	Engine *rules.Engine
	Tenant model.Tenant
	// Policy, when set, gives Tenant its own policy, as in Evaluate.
	Policy  TenantPolicyReader
	Tickets DecisionQueue
	Now     func() time.Time
}

// EmergencyStats is what one judgement of the set found, for the sweep's
// result and logs. Skipped says why nothing was judged.
type EmergencyStats struct {
	Skipped      string `json:"skipped,omitempty"`
	Accounts     int    `json:"accounts"`
	Diversity    int    `json:"diversity"`
	MinDiversity int    `json:"minDiversity"`
	Compliant    bool   `json:"compliant"`
	Decision     string `json:"decision,omitempty"`
	// Error is why the set could not be judged (the sweep goes on).
	Error string `json:"error,omitempty"`
}

// Run judges the set once. A set that cannot be read whole (a group or an
// account that cannot be read) is not judged: an account left out would
// make the set look weaker than it is and open a false ticket.
func (ea *EmergencyAccess) Run(ctx context.Context) (EmergencyStats, error) {
	var st EmergencyStats
	p := ea.Engine.Policy()
	tier := p.EmergencyAccessTier()
	if tier == nil {
		st.Skipped = "the policy has no emergency access tier"
		return st, nil
	}
	ids, err := ea.members(ctx, p, tier)
	if err != nil {
		return st, err
	}
	if ids == nil {
		st.Skipped = "the policy names no emergency access group"
		return st, nil
	}
	tenant, users, err := ea.read(ctx, ids)
	if err != nil {
		return st, err
	}
	set, ok := ea.Engine.EmergencyAccess(tenant, users)
	if !ok {
		// The groups are there and name no account of the tier: the
		// tenant has no way in through emergency access at all.
		set = rules.EmergencyAccessSet{Tier: tier.Name, Users: []string{}, MinDiversity: tier.MinDiversity,
			SPOFs: []model.Dependency{}, Paths: [][]model.Dependency{}}
	}
	st.Accounts, st.Diversity, st.MinDiversity, st.Compliant = len(set.Users), set.Diversity, set.MinDiversity, set.Compliant
	d, err := ea.decide(ctx, set)
	st.Decision = string(d.Kind)
	if err != nil {
		return st, err
	}
	zerolog.Ctx(ctx).Info().Int("accounts", st.Accounts).Int("diversity", st.Diversity).Bool("compliant", st.Compliant).
		Str("decision", st.Decision).Msg("emergency access set judged")
	return st, nil
}

// members returns the object ids of the candidate accounts: the users of
// the emergency access groups and of the tier's own match groups, and the
// tier's own match users, each once; nil when the policy names none.
func (ea *EmergencyAccess) members(ctx context.Context, p *rules.Policy, tier *rules.Tier) ([]string, error) {
	groups := p.EmergencyAccessGroupIDs()
	ids := slices.Clone(tier.Match.Users)
	for _, g := range groups {
		users, err := ea.Groups.GroupUsers(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("emergency access: read the users of group %s: %w", g, err)
		}
		ids = append(ids, users...)
	}
	if len(groups)+len(ids) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if k := strings.ToLower(id); !seen[k] {
			seen[k] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// read reads the tenant's policy (when a reader is set) and every account.
// An account deleted since the group was read is left out; any other
// failure fails the run.
func (ea *EmergencyAccess) read(ctx context.Context, ids []string) (model.Tenant, []*model.User, error) {
	tenant := ea.Tenant
	if ea.Policy != nil {
		tp, err := ea.Policy.TenantPolicy(ctx)
		if err != nil {
			return tenant, nil, fmt.Errorf("emergency access: read the tenant's policy: %w", err)
		}
		tenant = tenant.WithPolicy(tp)
	}
	var users []*model.User
	if len(ids) == 0 {
		return tenant, users, nil
	}
	results := ea.Users.ReadUsers(ctx, ids)
	if len(results) != len(ids) {
		return tenant, nil, fmt.Errorf("emergency access: read %d accounts, the reader answered %d", len(ids), len(results))
	}
	for i, r := range results {
		switch {
		case errors.Is(r.Err, model.ErrNotFound):
			zerolog.Ctx(ctx).Info().Str("userId", ids[i]).Msg("emergency access: an account no longer exists; left out of the set")
		case r.Err != nil:
			return tenant, nil, fmt.Errorf("emergency access: read account %s: %w", ids[i], r.Err)
		default:
			u := r.User
			users = append(users, &u)
		}
	}
	return tenant, users, nil
}

// decide decides on the set against the stored one, publishes a ticket or
// resolve, then stores the set.
func (ea *EmergencyAccess) decide(ctx context.Context, set rules.EmergencyAccessSet) (model.Decision, error) {
	data, prevAt, err := ea.Store.LoadEmergencySet(ctx)
	if err != nil {
		return model.Decision{}, fmt.Errorf("emergency access: load the stored set: %w", err)
	}
	var prev *rules.EmergencyAccessSet
	if data != nil {
		prev = &rules.EmergencyAccessSet{}
		if err := json.Unmarshal(data, prev); err != nil {
			return model.Decision{}, fmt.Errorf("emergency access: the stored set: %w: %v", model.ErrInvalidInput, err)
		}
	}
	now := ea.Now()
	d := ea.Engine.DecideEmergencyAccess(prev, set)
	if d.Kind != model.DecisionNone {
		if err := ea.Tickets.SendDecisions(ctx, []model.DecisionMessage{EmergencyMessage(d, set, prevAt, now)}); err != nil {
			return d, fmt.Errorf("emergency access: publish the %s decision: %w", d.Kind, err)
		}
	}
	out, err := json.Marshal(set)
	if err != nil {
		return d, fmt.Errorf("emergency access: %w", err)
	}
	if err := ea.Store.SaveEmergencySet(ctx, out, now); err != nil {
		if errors.Is(err, model.ErrConflict) {
			zerolog.Ctx(ctx).Info().Msg("emergency access: a newer set is already stored; this one is dropped")
			return d, nil
		}
		return d, fmt.Errorf("emergency access: store the set: %w", err)
	}
	return d, nil
}

// EmergencyMessage is the decision message about the set: named by the
// set (rules.EmergencyAccessUser), its id made from the decision and the
// time of the set it was decided against, so that a run repeated after a
// failure publishes the same id. Its assessment carries the set's tier,
// diversity and paths for the ticket's text.
func EmergencyMessage(d model.Decision, set rules.EmergencyAccessSet, prevAt, now time.Time) model.DecisionMessage {
	return model.DecisionMessage{
		ID:       model.DecisionID(d.UserID, d, prevAt, time.Time{}, time.Time{}),
		Decision: d,
		User:     model.UserSummary{ID: d.UserID, DisplayName: fmt.Sprintf("Emergency access accounts (%d)", len(set.Users))},
		Assessment: model.Assessment{
			UserID: d.UserID, Tier: set.Tier, Diversity: set.Diversity, MinDiversity: set.MinDiversity, Compliant: set.Compliant,
			EmergencyAccess: true, Violations: d.Violations, Paths: set.Paths, SPOFs: set.SPOFs,
		},
		Time: now,
	}
}
