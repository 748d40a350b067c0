package model

import (
	"slices"
	"strings"
	"time"
)

// Violation is a code of docs/DESIGN.md, Policy: one way an assessment
// falls short of its tier's policy.
type Violation string

// Violation codes of docs/DESIGN.md, Policy. A single point of failure is reported as
// ViolationSPOFPrefix followed by the dependency id (ViolationSPOF).
const (
	ViolationBelowMinDiversity Violation = "below-min-diversity"
	ViolationNoMFAPath         Violation = "no-mfa-path"
	ViolationNoPhishingResist  Violation = "no-phishing-resistant-method"
	ViolationTelephonyOnly     Violation = "telephony-only"
	ViolationSPOFPrefix                  = "single-point-of-failure:"
	ViolationSPOFOnPremises              = Violation(ViolationSPOFPrefix + DepOnPremises)
	// ViolationNoCAPath: the user has sign-in paths, but none satisfies the
	// authentication strength an enabled Conditional Access policy requires
	// of them: they are locked out today.
	ViolationNoCAPath Violation = "no-path-satisfies-conditional-access"
)

// ViolationSPOF is the violation of every sign-in path depending on dep.
func ViolationSPOF(dep Dependency) Violation { return Violation(ViolationSPOFPrefix + dep) }

// SPOF returns the dependency of a single-point-of-failure violation, and
// false for any other violation.
func (v Violation) SPOF() (Dependency, bool) {
	return strings.CutPrefix(string(v), ViolationSPOFPrefix)
}

// ViolationStrings returns the codes as strings, for words and logs.
func ViolationStrings(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// Channel is how a nudge reaches a user.
type Channel string

// The nudge channels a tier can choose.
const (
	ChannelEmail Channel = "email" // Graph sendMail
	ChannelTeams Channel = "teams" // a Teams activity-feed notification
)

// IgnoredDisabledByTenant is the reason of a method the tenant's
// authentication methods policy does not let the user sign in with.
const IgnoredDisabledByTenant = "disabled-by-tenant-policy"

// MaxRecommendations is how many recommendations an assessment carries at most.
const MaxRecommendations = 3

// Assessment is the evaluation of one user against the policy of their tier.
type Assessment struct {
	UserID            string         `json:"id"`
	UserPrincipalName string         `json:"userPrincipalName"`
	Tier              string         `json:"tier"`
	Diversity         int            `json:"diversity"`
	MinDiversity      int            `json:"minDiversity"`
	SPOFs             []Dependency   `json:"spofs"`
	Paths             [][]Dependency `json:"paths"`
	Passwordless      bool           `json:"passwordless"`
	PhishingResistant bool           `json:"phishingResistant"`
	Compliant         bool           `json:"compliant"`
	Exempt            bool           `json:"exempt,omitempty"`
	// Excluded says why the user is assessed and reported but never nudged
	// or ticketed: ExcludedGuest or ExcludedDisabled, unless the policy
	// opts those users in.
	Excluded string `json:"excluded,omitempty"`
	// EmergencyAccess is true for an account of an emergency access tier:
	// never nudged or ticketed alone, judged with the others as a set.
	EmergencyAccess bool `json:"emergencyAccess,omitempty"`
	// OnViolation is the tier's answer to a violation: a nudge or a ticket.
	OnViolation DecisionKind `json:"onViolation,omitempty"`
	// Violations are the codes of docs/DESIGN.md, Policy, in a fixed order.
	Violations []Violation `json:"violations"`
	// TenantSide lists the violations that only the tenant can remedy (they
	// disappear when password hash sync is enabled as a fallback); they go to
	// administrators, never to the user.
	TenantSide      []Violation      `json:"tenantSide,omitempty"`
	Recommendations []Recommendation `json:"recommendations"`
	// Ignored lists methods that count for nothing, with why (a temporary
	// access pass expires; an unknown Graph type cannot be reasoned about).
	Ignored []IgnoredMethod `json:"ignored,omitempty"`
	// Warnings lists methods counted together with another one: the same
	// id listed twice, or Microsoft Authenticator registered again on the
	// same phone.
	Warnings []MethodWarning `json:"warnings,omitempty"`
	// ConditionalAccess lists the Conditional Access policies with an
	// authentication strength that apply to the user, enforced or
	// report-only, when the snapshot carries them.
	ConditionalAccess []CAResult `json:"conditionalAccess,omitempty"`
	// TenantRecommendations are what the tenant would have to enable when
	// no method the user may register brings them within policy.
	TenantRecommendations []TenantRecommendation `json:"tenantRecommendations,omitempty"`
	// Proof lists, when the tier has a proofWindow and the sign-in logs
	// know the user, each method that gives paths with what the logs prove
	// about it (docs/USAGE.md).
	Proof []MethodProof `json:"proof,omitempty"`
	// UnprovenPaths are the paths that exist only through unproven
	// methods. With the tier's countUnproven false they are not in Paths.
	UnprovenPaths [][]Dependency `json:"unprovenPaths,omitempty"`
	// RestsOnUnproven is true when the user is compliant only because
	// unproven paths count: without them they would be below policy.
	RestsOnUnproven bool `json:"restsOnUnproven,omitempty"`
	// HeldUntil is set on a stored assessment whose first nudge waits for
	// a policy change's grace period (docs/POLICY.md, "Policy changes"):
	// the evaluate stage copies it from the decision, and the next
	// decision reads it from the previous assessment.
	HeldUntil time.Time `json:"heldUntil,omitzero"`
}

// CAResult is one Conditional Access policy with an authentication
// strength applied to one user. Its name, strength and the conditions
// credres does not model are the tenant's (CAPolicies.Find).
type CAResult struct {
	ID string `json:"id"`
	// Scope is "all-resources" (every path is constrained) or
	// "admin-portals" (constrains users who hold a directory role).
	Scope string `json:"scope"`
	// ReportOnly policies (enabledForReportingButNotEnforced) are reported,
	// never applied to the paths.
	ReportOnly bool `json:"reportOnly,omitempty"`
	// Satisfied is whether some registered, usable method satisfies the
	// strength.
	Satisfied bool `json:"satisfied"`
}

// TenantRecommendation is a change to the tenant's authentication methods
// policy that would let the user come within policy.
type TenantRecommendation struct {
	// Enable is the method configuration id ("Fido2", "MicrosoftAuthenticator", ...).
	Enable string       `json:"enable"`
	Add    []MethodKind `json:"add"`
	Action string       `json:"action"`
}

// MethodWarning says that a registered method was counted as the same as
// another one, and why.
type MethodWarning struct {
	ID     string     `json:"id"`
	Kind   MethodKind `json:"kind"`
	SameAs string     `json:"sameAs"`
	Reason string     `json:"reason"`
}

// The reasons of Assessment.Excluded.
const (
	ExcludedGuest    = "guest"
	ExcludedDisabled = "disabled-account"
)

// The reasons of MethodWarning.
const (
	WarnDuplicateID    = "duplicate-id"
	WarnReRegistration = "re-registration"
)

// UserViolations returns the violations the user can remedy themselves:
// the violations without the tenant-side ones, never nil.
func (a *Assessment) UserViolations() []Violation {
	out := make([]Violation, 0, len(a.Violations))
	for _, v := range a.Violations {
		if !slices.Contains(a.TenantSide, v) {
			out = append(out, v)
		}
	}
	return out
}

// HasViolation reports whether the assessment carries the violation code.
func (a *Assessment) HasViolation(code Violation) bool { return slices.Contains(a.Violations, code) }

// IgnoredMethod is a registered method that gives no sign-in path.
type IgnoredMethod struct {
	ID        string     `json:"id"`
	Kind      MethodKind `json:"kind"`
	GraphType string     `json:"graphType,omitempty"`
	Reason    string     `json:"reason"`
}

// Recommendation is a set of methods that, once registered, would bring the
// user within policy; cheaper ones come first.
type Recommendation struct {
	Add []MethodKind `json:"add"`
	// Action words the methods in general, in English, without the user's
	// devices: the label reports count recommendations by. People read
	// explain.Recommendation, which words Devices and Conditional too.
	Action    string `json:"action"`
	Diversity int    `json:"diversity"`
	Cost      int    `json:"cost"`
	// Devices say where a method of Add that lives on one of the user's
	// devices is to be set up (Windows Hello for Business, a platform
	// credential, a second Microsoft Authenticator), one entry per such
	// method, when there is something to say.
	Devices []DeviceAdvice `json:"devices,omitempty"`
	// Conditional: the user's devices are not known and a method of Add
	// needs a Windows PC or a Mac: it is advice only if they use one. Such
	// a recommendation always comes with a device-independent one (a
	// passkey in Microsoft Authenticator or a FIDO2 security key) when the
	// tenant's policy allows one that brings the user within policy.
	Conditional bool `json:"conditional,omitempty"`
}

// DeviceAdvice says on which device to set up a recommended method that
// lives on a device (docs/POLICY.md, "Recommendations and devices").
type DeviceAdvice struct {
	Kind MethodKind `json:"kind"`
	// Device is the display name of the user's device that does not carry
	// the method yet, to set it up on.
	Device string `json:"device,omitempty"`
	// Second: every device of the user's that the method runs on already
	// carries it (or, devices unknown, the user has it on some): it is
	// advice for another device, a second PC, Mac or phone.
	Second bool `json:"second,omitempty"`
	// Carrying names the devices that already carry the method, when
	// Second: the user's devices, or the methods' own device names when
	// the devices are not known.
	Carrying []string `json:"carrying,omitempty"`
}
