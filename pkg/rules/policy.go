package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/credres/credres/internal/bounded"
	"github.com/credres/credres/pkg/model"
)

//go:embed default-policy.yaml
var defaultPolicyYAML []byte

// DefaultPolicyYAML returns the embedded default policy, as shipped.
func DefaultPolicyYAML() []byte { return append([]byte(nil), defaultPolicyYAML...) }

// Policy is an ordered list of tiers and the nudge schedule (docs/DESIGN.md, Policy).
type Policy struct {
	Tiers  []Tier      `yaml:"tiers"`
	Nudges NudgePolicy `yaml:"nudges"`
	// PolicyChanges says how a change of the tenant's own policy is acted
	// on (docs/POLICY.md, "Policy changes").
	PolicyChanges PolicyChangePolicy `yaml:"policyChanges"`
	// Exempt lists users (object ids or user principal names) who are
	// assessed and reported but never nudged or ticketed, whatever their
	// tier: break-glass accounts.
	Exempt []string `yaml:"exempt"`
	// Snoozed holds users' nudges back until a date (YYYY-MM-DD, UTC), by
	// object id or user principal name.
	Snoozed map[string]Date `yaml:"snoozed"`
	// Guests and DisabledAccounts say whether guests (userType Guest) and
	// disabled accounts are acted on: "exclude" (the default: assessed and
	// reported, never nudged or ticketed) or "include" (like anyone).
	Guests           string `yaml:"guests"`
	DisabledAccounts string `yaml:"disabledAccounts"`
	// EmergencyAccessGroups are the object ids of the groups of emergency
	// access accounts, which emergencyAccess tiers match.
	EmergencyAccessGroups []string `yaml:"emergencyAccessGroups"`
}

// The values of Policy.Guests and Policy.DisabledAccounts.
const (
	AccountsExclude = "exclude"
	AccountsInclude = "include"
)

// excluded returns why the policy leaves the user alone: a disabled account
// (which cannot sign in, so first) or a guest; "" when the user is acted on.
func (p *Policy) excluded(u *model.User) string {
	switch {
	case u.Disabled() && p.DisabledAccounts != AccountsInclude:
		return model.ExcludedDisabled
	case u.Guest() && p.Guests != AccountsInclude:
		return model.ExcludedGuest
	}
	return ""
}

// Date is a calendar day in a policy file, read as YYYY-MM-DD (UTC).
type Date struct{ time.Time }

// UnmarshalYAML reads YYYY-MM-DD or an RFC 3339 time.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, n.Value); err == nil {
			d.Time = t
			return nil
		}
	}
	return fmt.Errorf("line %d: %w: %q is not a date (YYYY-MM-DD)", n.Line, model.ErrInvalidInput, n.Value)
}

// Tier is one class of users and what they must have.
type Tier struct {
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// MinDiversity is how many independent failures it must take to lock a
	// user of this tier out.
	MinDiversity int `yaml:"minDiversity"`
	// Accept lists dependencies that are not counted for this tier.
	Accept                   []model.Dependency `yaml:"accept"`
	RequirePhishingResistant bool               `yaml:"requirePhishingResistant"`
	// RequireNonTelephony asks for at least one path without phone-carrier.
	RequireNonTelephony bool `yaml:"requireNonTelephony"`
	// OnViolation is model.DecisionNudge (tell the user) or
	// model.DecisionTicket (tell the helpdesk).
	OnViolation model.DecisionKind `yaml:"onViolation"`
	// Exempt users (break-glass accounts) are evaluated and reported, never
	// nudged or ticketed.
	Exempt bool `yaml:"exempt"`
	// NudgeChannel is how this tier's users are nudged: model.ChannelEmail
	// (the default) or model.ChannelTeams.
	NudgeChannel model.Channel `yaml:"nudgeChannel"`
	// EmergencyAccess marks the tier of the emergency access (break-glass)
	// accounts: it matches the members of the policy's
	// EmergencyAccessGroups (besides its own match, which may be left out);
	// its users are never nudged or ticketed one by one, and their set is
	// judged as a whole (Engine.EmergencyAccess).
	EmergencyAccess bool `yaml:"emergencyAccess"`
	// ProofWindow judges sign-in paths by the sign-in logs: a path none of
	// whose methods worked within the window is unproven (docs/USAGE.md).
	// Zero leaves proof unjudged.
	ProofWindow Duration `yaml:"proofWindow"`
	// CountUnproven says whether unproven paths count towards diversity
	// and the tier's requirements; nil (absent) means true.
	CountUnproven *bool `yaml:"countUnproven"`
}

// Match selects the users of a tier. A user matches when any listed
// criterion fits.
type Match struct {
	All bool `yaml:"all"`
	// Roles are directory role display names or role template ids.
	Roles []string `yaml:"roles"`
	// Groups are group object ids.
	Groups []string `yaml:"groups"`
	// Users are user object ids or user principal names.
	Users []string `yaml:"users"`
}

// NudgePolicy is the reminder and escalation schedule (docs/DESIGN.md, Decisions) and what
// nudges say.
type NudgePolicy struct {
	Cooldown      Duration `yaml:"cooldown"`
	EscalateAfter int      `yaml:"escalateAfter"`
	Window        Duration `yaml:"window"`
	// Language is used for users without a preferredLanguage that credres
	// has templates for ("en", "de", "fr"; default "en").
	Language string `yaml:"language"`
	// Contact is who users should ask for help, as it appears in nudges.
	Contact string `yaml:"contact"`
	// SecurityInfoURL is where users register methods.
	SecurityInfoURL string `yaml:"securityInfoURL"`
}

// Nudge content defaults.
const (
	DefaultLanguage        = "en"
	DefaultContact         = "your IT helpdesk"
	DefaultSecurityInfoURL = "https://mysignins.microsoft.com/security-info"
)

// Duration is a time.Duration that also reads whole days ("7d"), the unit
// administrators think in for reminders.
type Duration time.Duration

// UnmarshalYAML reads "7d", "36h", "90m" or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes whole days as "Nd".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String writes whole days as "Nd" and anything else as time.Duration does.
func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

// ParseDuration reads "7d", "1d12h", any time.ParseDuration string, or bare seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if secs, err := strconv.Atoi(s); err == nil {
		return time.Duration(secs) * time.Second, nil
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, model.ErrInvalidInput)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, model.ErrInvalidInput)
	}
	return days + rest, nil
}

// PolicyChangePolicy is how credres treats the users a change of the
// tenant's own policy (the authentication methods policy, an
// authentication strength, a Conditional Access policy) drops below policy.
type PolicyChangePolicy struct {
	// Grace is how long the first nudges of the users a change drops
	// wait, so that a rollout in progress is not announced to everyone
	// it touches: users within policy again by then hear nothing.
	Grace Duration `yaml:"grace"`
	// TicketAt is how many dropped users make a change the tenant's
	// matter: at this count one tenant-side ticket names the change and
	// the counts.
	TicketAt int `yaml:"ticketAt"`
}

// Policy change defaults.
const (
	DefaultPolicyChangeGrace    = 3 * 24 * time.Hour
	DefaultPolicyChangeTicketAt = 10
)

// MaxPolicyChangeGrace bounds the grace period: nudges held longer than a
// month would leave users exposed without a word.
const MaxPolicyChangeGrace = 30 * 24 * time.Hour

// Nudge schedule defaults, used where a policy file leaves them out.
const (
	DefaultCooldown      = 7 * 24 * time.Hour
	DefaultEscalateAfter = 3
	DefaultWindow        = 30 * 24 * time.Hour
)

// acceptable are the dependencies a tier may leave uncounted: shared
// services. Devices and keys cannot be accepted: a path whose every
// dependency is accepted could never fail, and diversity would be unbounded.
var acceptable = map[model.Dependency]bool{
	model.DepEntraMFA: true, model.DepOnPremises: true, model.DepPhoneCarrier: true,
	model.DepPushService: true, model.DepEmailProvider: true,
}

// ParsePolicy reads a policy file. Unknown keys are errors, so that a typo
// never silently weakens a policy.
// A key given twice is an error (YAML itself forbids it), and so are a
// null or empty document and a second document after the policy: a policy
// file means one thing or nothing.
func ParsePolicy(data []byte) (*Policy, error) {
	if err := onePolicyDocument(data); err != nil {
		return nil, fmt.Errorf("policy: %w: %v", model.ErrInvalidInput, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy: %w: %v", model.ErrInvalidInput, err)
	}
	if err := p.validate(); err != nil {
		return nil, model.PrefixErrors("policy", err)
	}
	return &p, nil
}

// onePolicyDocument checks that data is one YAML document that is not null.
func onePolicyDocument(data []byte) error {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			return errors.New("the policy is empty")
		}
		return err
	}
	if doc := root.Content; len(doc) == 1 && doc[0].Kind == yaml.ScalarNode && doc[0].Tag == "!!null" {
		return errors.New("the policy is null, not a mapping")
	}
	var next yaml.Node
	switch err := dec.Decode(&next); err {
	case io.EOF:
		return nil
	case nil:
		return fmt.Errorf("a second YAML document at line %d after the policy", next.Line)
	default:
		return err
	}
}

// MaxPolicyBytes is the largest policy file LoadPolicy reads (the default
// policy is a few kilobytes).
const MaxPolicyBytes = 16 << 20

// LoadPolicy reads a policy file from disk.
func LoadPolicy(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := bounded.ReadAll(f, MaxPolicyBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: policy: %w", path, err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, model.PrefixErrors(path, err)
	}
	return p, nil
}

// DefaultPolicy returns the embedded default policy.
func DefaultPolicy() *Policy {
	p, err := ParsePolicy(defaultPolicyYAML)
	if err != nil {
		// The embedded file is tested; reaching this is a build defect.
		panic(err)
	}
	return p
}

func (p *Policy) validate() error {
	var errs []error
	if len(p.Tiers) == 0 {
		errs = append(errs, fmt.Errorf("%w: no tiers", model.ErrInvalidInput))
	}
	names := map[string]bool{}
	for i := range p.Tiers {
		errs = append(errs, p.Tiers[i].validate(i, names)...)
	}
	for key, v := range map[string]*string{"guests": &p.Guests, "disabledAccounts": &p.DisabledAccounts} {
		switch *v {
		case "":
			*v = AccountsExclude
		case AccountsExclude, AccountsInclude:
		default:
			errs = append(errs, fmt.Errorf("%s: %w: %q is not include or exclude", key, model.ErrInvalidInput, *v))
		}
	}
	errs = append(errs, p.Nudges.validate()...)
	errs = append(errs, p.PolicyChanges.validate()...)
	return errors.Join(errs...)
}

// validate checks the i-th tier and fills in its defaults; names holds the
// names of the tiers before it.
func (t *Tier) validate(i int, names map[string]bool) []error {
	var errs []error
	where := fmt.Sprintf("tier %d (%s)", i+1, t.Name)
	if t.Name == "" {
		errs = append(errs, fmt.Errorf("tier %d: %w: no name", i+1, model.ErrInvalidInput))
	}
	if names[t.Name] {
		errs = append(errs, fmt.Errorf("%s: %w: name repeats an earlier tier", where, model.ErrInvalidInput))
	}
	names[t.Name] = true
	if !t.Match.All && !t.EmergencyAccess && len(t.Match.Roles)+len(t.Match.Groups)+len(t.Match.Users) == 0 {
		errs = append(errs, fmt.Errorf("%s: %w: match selects nobody (give all, roles, groups or users)", where, model.ErrInvalidInput))
	}
	if t.ProofWindow < 0 {
		errs = append(errs, fmt.Errorf("%s: %w: proofWindow %s is negative", where, model.ErrInvalidInput, t.ProofWindow))
	}
	if t.CountUnproven != nil && t.ProofWindow == 0 {
		errs = append(errs, fmt.Errorf("%s: %w: countUnproven needs a proofWindow", where, model.ErrInvalidInput))
	}
	if t.MinDiversity < 0 {
		errs = append(errs, fmt.Errorf("%s: %w: minDiversity %d is negative", where, model.ErrInvalidInput, t.MinDiversity))
	}
	for _, dep := range t.Accept {
		if !acceptable[dep] {
			errs = append(errs, fmt.Errorf("%s: %w: accept %q: only shared services can be accepted (entra-mfa, on-premises, phone-carrier, push-service, email-provider)", where, model.ErrInvalidInput, dep))
		}
	}
	switch t.NudgeChannel {
	case "":
		t.NudgeChannel = model.ChannelEmail
	case model.ChannelEmail, model.ChannelTeams:
	default:
		errs = append(errs, fmt.Errorf("%s: %w: nudgeChannel %q is not email or teams", where, model.ErrInvalidInput, t.NudgeChannel))
	}
	switch t.OnViolation {
	case "":
		t.OnViolation = model.DecisionNudge
	case model.DecisionNudge, model.DecisionTicket:
	default:
		errs = append(errs, fmt.Errorf("%s: %w: onViolation %q is not nudge or ticket", where, model.ErrInvalidInput, t.OnViolation))
	}
	return errs
}

// validate fills in the nudges' defaults and checks their durations.
func (n *NudgePolicy) validate() []error {
	if n.Cooldown == 0 {
		n.Cooldown = Duration(DefaultCooldown)
	}
	if n.EscalateAfter == 0 {
		n.EscalateAfter = DefaultEscalateAfter
	}
	if n.Window == 0 {
		n.Window = Duration(DefaultWindow)
	}
	if n.Language == "" {
		n.Language = DefaultLanguage
	}
	if n.Contact == "" {
		n.Contact = DefaultContact
	}
	if n.SecurityInfoURL == "" {
		n.SecurityInfoURL = DefaultSecurityInfoURL
	}
	if n.Cooldown < 0 || n.Window < 0 || n.EscalateAfter < 0 {
		return []error{fmt.Errorf("nudges: %w: cooldown, window and escalateAfter must not be negative", model.ErrInvalidInput)}
	}
	return nil
}

// validate fills in the policy changes' defaults and checks them.
func (c *PolicyChangePolicy) validate() []error {
	var errs []error
	if c.Grace == 0 {
		c.Grace = Duration(DefaultPolicyChangeGrace)
	}
	if c.TicketAt == 0 {
		c.TicketAt = DefaultPolicyChangeTicketAt
	}
	if g := time.Duration(c.Grace); g < 0 || g > MaxPolicyChangeGrace {
		errs = append(errs, fmt.Errorf("policyChanges: %w: grace %s is not between 0 and %s", model.ErrInvalidInput, Duration(g), Duration(MaxPolicyChangeGrace)))
	}
	if c.TicketAt < 0 {
		errs = append(errs, fmt.Errorf("policyChanges: %w: ticketAt %d is negative", model.ErrInvalidInput, c.TicketAt))
	}
	return errs
}

// exempted reports whether the policy's exemption list names the user.
func (p *Policy) exempted(u *model.User) bool {
	for _, x := range p.Exempt {
		if x == u.ID || strings.EqualFold(x, u.UserPrincipalName) {
			return true
		}
	}
	return false
}

// snoozedUntil returns the policy's snooze for a user, or the zero time.
func (p *Policy) snoozedUntil(id, upn string) time.Time {
	for who, until := range p.Snoozed {
		if who == id || strings.EqualFold(who, upn) {
			return until.Time
		}
	}
	return time.Time{}
}

// TierFor returns the first tier whose match fits the user, or nil when no
// tier does (the user is then reported, never judged).
func (p *Policy) TierFor(u *model.User) *Tier {
	for i := range p.Tiers {
		if p.fits(&p.Tiers[i], u) {
			return &p.Tiers[i]
		}
	}
	return nil
}

// fits reports whether the tier's match, or for an emergency access tier
// the policy's emergency access groups, select the user.
func (p *Policy) fits(t *Tier, u *model.User) bool {
	if t.EmergencyAccess {
		for _, want := range p.EmergencyAccessGroups {
			for _, g := range u.Groups {
				if strings.EqualFold(want, g) {
					return true
				}
			}
		}
		if !t.Match.All && len(t.Match.Roles)+len(t.Match.Groups)+len(t.Match.Users) == 0 {
			return false
		}
	}
	return t.Match.fits(u)
}

func (m *Match) fits(u *model.User) bool {
	if m.All {
		return true
	}
	for _, want := range m.Users {
		if want == u.ID || strings.EqualFold(want, u.UserPrincipalName) {
			return true
		}
	}
	for _, want := range m.Groups {
		for _, g := range u.Groups {
			if strings.EqualFold(want, g) {
				return true
			}
		}
	}
	// A role the user is eligible for (Privileged Identity Management) is
	// one they can activate at any moment: it matches as an active one.
	for _, roles := range [2][]string{u.Roles, u.EligibleRoles} {
		for _, want := range m.Roles {
			for _, r := range roles {
				if strings.EqualFold(want, r) || strings.EqualFold(roleTemplateIDs[strings.ToLower(want)], r) || strings.EqualFold(want, roleTemplateIDs[strings.ToLower(r)]) {
					return true
				}
			}
		}
	}
	return false
}

// roleTemplateIDs maps built-in role display names (lower case) to their
// template ids, which are the same in every tenant, so that a policy may name
// a role either way and a user's role may be given either way.
var roleTemplateIDs = map[string]string{
	"global administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"privileged role administrator":           "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"privileged authentication administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"security administrator":                  "194ae4cb-b126-40b2-bd5b-6091b380977d",
	"authentication administrator":            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	"authentication policy administrator":     "0526716b-113d-4c15-b2c8-68e3c22b9f80",
	"conditional access administrator":        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"user administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
	"helpdesk administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"password administrator":                  "966707d0-3269-4727-9be2-8c3a10f19b9d",
	"exchange administrator":                  "29232cdf-9323-42fd-ade2-1d097af3e4de",
	"sharepoint administrator":                "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
	"application administrator":               "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	"cloud application administrator":         "158c047a-c907-4556-b7ef-446551a6b5f7",
	"hybrid identity administrator":           "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
	"intune administrator":                    "3a2c62db-5318-420d-8d74-23affee5d9d5",
	"billing administrator":                   "b0f54661-2d74-4c50-afa3-1ec803f12efe",
}

// EmergencyAccessTier returns the policy's first emergency access tier, or
// nil when it has none.
func (p *Policy) EmergencyAccessTier() *Tier {
	for i := range p.Tiers {
		if p.Tiers[i].EmergencyAccess {
			return &p.Tiers[i]
		}
	}
	return nil
}

// EmergencyAccessGroupIDs returns the groups whose users are candidates for
// the emergency access set: EmergencyAccessGroups and the emergency access
// tier's own match groups, each once (object ids compared without regard
// to case); nil without an emergency access tier.
func (p *Policy) EmergencyAccessGroupIDs() []string {
	tier := p.EmergencyAccessTier()
	if tier == nil {
		return nil
	}
	var groups []string
	for _, id := range append(slices.Clone(p.EmergencyAccessGroups), tier.Match.Groups...) {
		if !slices.ContainsFunc(groups, func(g string) bool { return strings.EqualFold(g, id) }) {
			groups = append(groups, id)
		}
	}
	return groups
}
