package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The tenant's own policy: the authentication methods policy, the
// authentication strengths and the Conditional Access policies, each kept
// as Graph returned it (Raw) with the fields credres reasons about decoded
// beside it. A snapshot written by credres carries them verbatim.

// Method configuration ids of the authentication methods policy, as Graph
// names them (authenticationMethodConfiguration.id).
const (
	ConfigFIDO2         = "Fido2"
	ConfigAuthenticator = "MicrosoftAuthenticator"
	ConfigSMS           = "Sms"
	ConfigVoice         = "Voice"
	ConfigSoftwareOath  = "SoftwareOath"
	ConfigHardwareOath  = "HardwareOath"
	ConfigEmail         = "Email"
	ConfigTAP           = "TemporaryAccessPass"
	ConfigX509          = "X509Certificate"
	AllUsersTarget      = "all_users"
	graphConfigPrefix   = "#microsoft.graph."
	graphConfigSuffix   = "AuthenticationMethodConfiguration"
	StateEnabled        = "enabled"
	StateDisabled       = "disabled"
	StateReportOnly     = "enabledForReportingButNotEnforced"
	CAAllApplications   = "All"
	CAAdminPortals      = "MicrosoftAdminPortals"
	CAAllUsers          = "All"
	CANoUsers           = "None"
	CAGuestsOrExternal  = "GuestsOrExternalUsers"
	KeyRestrictionAllow = "allow"
	KeyRestrictionBlock = "block"
	AuthenticatorAny    = "any"
	AuthenticatorPush   = "push"
	AuthenticatorDevice = "deviceBasedPush"
)

// configByType maps the Graph type of each configuration credres models to
// its id, so that a configuration is recognised by either.
var configByType = map[string]string{
	"fido2": ConfigFIDO2, "microsoftauthenticator": ConfigAuthenticator, "sms": ConfigSMS,
	"voice": ConfigVoice, "softwareoath": ConfigSoftwareOath, "hardwareoath": ConfigHardwareOath,
	"email": ConfigEmail, "temporaryaccesspass": ConfigTAP, "x509certificate": ConfigX509,
}

// KnownConfigs lists the method configurations credres models, in the order
// reports show them.
var KnownConfigs = []string{
	ConfigAuthenticator, ConfigFIDO2, ConfigSMS, ConfigVoice, ConfigSoftwareOath,
	ConfigHardwareOath, ConfigEmail, ConfigTAP, ConfigX509,
}

// MigrationComplete is the policyMigrationState of a tenant whose
// authentication methods policy alone governs the methods.
const MigrationComplete = "migrationComplete"

// ConfigNames are the method configurations as administrators see them in
// the Entra admin center.
var ConfigNames = map[string]string{
	ConfigFIDO2:         "Passkey (FIDO2)",
	ConfigAuthenticator: "Microsoft Authenticator",
	ConfigSMS:           "SMS",
	ConfigVoice:         "Voice call",
	ConfigSoftwareOath:  "Third-party software OATH tokens",
	ConfigHardwareOath:  "Hardware OATH tokens",
	ConfigEmail:         "Email OTP",
	ConfigTAP:           "Temporary Access Pass",
	ConfigX509:          "Certificate-based authentication",
}

// ConfigOf names the method configuration that governs a method kind, ""
// for kinds the authentication methods policy does not govern (password,
// Windows Hello for Business, platform credentials).
func ConfigOf(k MethodKind) string {
	switch k {
	case KindPasskeyAuthenticator, KindFIDO2:
		return ConfigFIDO2
	case KindAuthenticator:
		return ConfigAuthenticator
	case KindSoftwareOath:
		return ConfigSoftwareOath
	case KindHardwareOath:
		return ConfigHardwareOath
	case KindMobilePhone:
		return ConfigSMS
	case KindAlternateMobilePhone, KindOfficePhone:
		return ConfigVoice
	case KindEmail:
		return ConfigEmail
	case KindTemporaryAccessPass:
		return ConfigTAP
	}
	return ""
}

// MethodTarget is one include or exclude target of a method configuration:
// a group id or "all_users", with the per-target settings of Sms and
// Microsoft Authenticator.
type MethodTarget struct {
	ID                 string `json:"id"`
	TargetType         string `json:"targetType"`
	IsUsableForSignIn  *bool  `json:"isUsableForSignIn"`
	AuthenticationMode string `json:"authenticationMode"`
}

// X509Modes is how certificate-based authentication binds certificates
// to single- or multifactor strength: a default mode, and rules that bind
// an issuer or a policy OID to a mode.
type X509Modes struct {
	DefaultMode string `json:"x509CertificateAuthenticationDefaultMode"`
	Rules       []struct {
		Mode string `json:"x509CertificateAuthenticationMode"`
	} `json:"rules"`
}

// The x509CertificateAuthenticationMode values.
const (
	X509SingleFactor = "x509CertificateSingleFactor"
	X509MultiFactor  = "x509CertificateMultiFactor"
)

// MultiFactor reports whether every certificate binds to multifactor
// strength: the default is multifactor and no rule binds one to single
// factor. credres does not know which issuer or policy OID a user's
// certificate has, so anything less counts as single factor.
func (m *X509Modes) MultiFactor() bool {
	if m == nil || m.DefaultMode != X509MultiFactor {
		return false
	}
	for _, r := range m.Rules {
		if r.Mode != X509MultiFactor {
			return false
		}
	}
	return true
}

// KeyRestrictions is Fido2's AAGUID allow or block list.
type KeyRestrictions struct {
	IsEnforced      bool     `json:"isEnforced"`
	EnforcementType string   `json:"enforcementType"`
	AAGUIDs         []string `json:"aaGuids"`
}

// MethodConfig is one authenticationMethodConfiguration. ID is the
// configuration id credres recognised ("Fido2", "Sms", ...), or the Graph id
// as given for a type it does not model (Known false).
type MethodConfig struct {
	ID                   string           `json:"id"`
	GraphType            string           `json:"@odata.type"`
	State                string           `json:"state"`
	IncludeTargets       []MethodTarget   `json:"includeTargets"`
	ExcludeTargets       []MethodTarget   `json:"excludeTargets"`
	IsOfficePhoneAllowed *bool            `json:"isOfficePhoneAllowed"`
	IsSoftwareOathOn     *bool            `json:"isSoftwareOathEnabled"`
	KeyRestrictions      *KeyRestrictions `json:"keyRestrictions"`
	// X509Modes is X509Certificate's authenticationModeConfiguration.
	X509Modes *X509Modes `json:"authenticationModeConfiguration"`
	Known     bool       `json:"-"`
}

// AuthMethodsPolicy is the body of GET /policies/authenticationMethodsPolicy.
type AuthMethodsPolicy struct {
	Configs []MethodConfig
	// MigrationState is policyMigrationState: until it is
	// "migrationComplete", the legacy MFA and SSPR policies, which Graph does
	// not expose, may still enable methods this policy leaves off.
	MigrationState string
	// Unknown names the configurations of types credres does not model
	// (kept in Raw, reported, never fatal).
	Unknown []string
	Raw     json.RawMessage
}

// Config returns the configuration with the given id, or nil.
func (p *AuthMethodsPolicy) Config(id string) *MethodConfig {
	for i := range p.Configs {
		if p.Configs[i].Known && p.Configs[i].ID == id {
			return &p.Configs[i]
		}
	}
	return nil
}

// UnmarshalJSON decodes the policy and keeps it verbatim.
func (p *AuthMethodsPolicy) UnmarshalJSON(data []byte) error {
	var body struct {
		MigrationState string            `json:"policyMigrationState"`
		Configs        []json.RawMessage `json:"authenticationMethodConfigurations"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return fieldError("tenant.authenticationMethodsPolicy", err)
	}
	out := AuthMethodsPolicy{MigrationState: body.MigrationState, Raw: append(json.RawMessage(nil), bytes.TrimSpace(data)...)}
	var errs []error
	for i, raw := range body.Configs {
		where := fmt.Sprintf("tenant.authenticationMethodsPolicy.authenticationMethodConfigurations[%d]", i)
		var c MethodConfig
		if err := json.Unmarshal(raw, &c); err != nil {
			errs = append(errs, fieldError(where, err))
			continue
		}
		if c.ID == "" && c.GraphType == "" {
			errs = append(errs, fmt.Errorf("%s: %w: neither id nor @odata.type", where, ErrInvalidInput))
			continue
		}
		if id, ok := configID(c.ID, c.GraphType); ok {
			c.ID, c.Known = id, true
		} else {
			name := c.ID
			if name == "" {
				name = c.GraphType
			}
			out.Unknown = append(out.Unknown, name)
		}
		errs = append(errs, c.check(where)...)
		out.Configs = append(out.Configs, c)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*p = out
	return nil
}

// check validates a method configuration's values that change paths, and
// lower-cases its AAGUIDs; where names it in errors.
func (c *MethodConfig) check(where string) []error {
	var errs []error
	switch c.State {
	case StateEnabled, StateDisabled:
	default:
		return append(errs, fmt.Errorf("%s (%s).state: %w: %q is not enabled or disabled", where, c.ID, ErrInvalidInput, c.State))
	}
	for j, tg := range c.IncludeTargets {
		switch tg.AuthenticationMode {
		case "", AuthenticatorAny, AuthenticatorPush, AuthenticatorDevice:
		default:
			errs = append(errs, fmt.Errorf("%s (%s).includeTargets[%d].authenticationMode: %w: %q is not any, push or deviceBasedPush", where, c.ID, j, ErrInvalidInput, tg.AuthenticationMode))
		}
		if tg.ID == "" {
			errs = append(errs, fmt.Errorf("%s (%s).includeTargets[%d].id: %w: missing", where, c.ID, j, ErrInvalidInput))
		}
	}
	if kr := c.KeyRestrictions; kr != nil && kr.IsEnforced {
		switch kr.EnforcementType {
		case KeyRestrictionAllow, KeyRestrictionBlock:
		default:
			errs = append(errs, fmt.Errorf("%s (%s).keyRestrictions.enforcementType: %w: %q is not allow or block", where, c.ID, ErrInvalidInput, kr.EnforcementType))
		}
		for k := range kr.AAGUIDs {
			kr.AAGUIDs[k] = strings.ToLower(kr.AAGUIDs[k])
		}
	}
	return errs
}

// MarshalJSON writes the policy exactly as it was read.
func (p AuthMethodsPolicy) MarshalJSON() ([]byte, error) { return rawOrNull(p.Raw), nil }

func configID(id, graphType string) (string, bool) {
	for _, known := range KnownConfigs {
		if strings.EqualFold(id, known) {
			return known, true
		}
	}
	t := strings.TrimPrefix(graphType, graphConfigPrefix)
	if strings.HasSuffix(t, graphConfigSuffix) {
		if known, ok := configByType[strings.ToLower(strings.TrimSuffix(t, graphConfigSuffix))]; ok {
			return known, true
		}
	}
	return "", false
}

// StrengthPolicy is one authenticationStrengthPolicy.
type StrengthPolicy struct {
	ID                  string   `json:"id"`
	DisplayName         string   `json:"displayName"`
	AllowedCombinations []string `json:"allowedCombinations"`
	Raw                 json.RawMessage
}

// StrengthPolicies is the value array of GET
// /policies/authenticationStrengthPolicies.
type StrengthPolicies []StrengthPolicy

// Find returns the strength with the given id, or nil.
func (s StrengthPolicies) Find(id string) *StrengthPolicy {
	for i := range s {
		if strings.EqualFold(s[i].ID, id) {
			return &s[i]
		}
	}
	return nil
}

// UnmarshalJSON decodes every strength, naming the one that is malformed.
func (s *StrengthPolicies) UnmarshalJSON(data []byte) error {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return fieldError("tenant.authenticationStrengthPolicies", err)
	}
	out := make(StrengthPolicies, 0, len(items))
	var errs []error
	for i, raw := range items {
		var sp struct {
			ID                  string   `json:"id"`
			DisplayName         string   `json:"displayName"`
			AllowedCombinations []string `json:"allowedCombinations"`
		}
		where := fmt.Sprintf("tenant.authenticationStrengthPolicies[%d]", i)
		if err := json.Unmarshal(raw, &sp); err != nil {
			errs = append(errs, fieldError(where, err))
			continue
		}
		if sp.ID == "" {
			errs = append(errs, fmt.Errorf("%s.id: %w: missing", where, ErrInvalidInput))
			continue
		}
		out = append(out, StrengthPolicy{ID: sp.ID, DisplayName: sp.DisplayName, AllowedCombinations: normaliseCombinations(sp.AllowedCombinations), Raw: append(json.RawMessage(nil), bytes.TrimSpace(raw)...)})
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*s = out
	return nil
}

// MarshalJSON writes the strength exactly as it was read.
func (s StrengthPolicy) MarshalJSON() ([]byte, error) { return rawOrNull(s.Raw), nil }

// normaliseCombinations drops the spaces Graph's documentation sometimes
// shows after commas ("password, sms").
func normaliseCombinations(in []string) []string {
	for i, c := range in {
		in[i] = strings.ReplaceAll(c, " ", "")
	}
	return in
}

// CAUsers is conditions.users of a Conditional Access policy.
type CAUsers struct {
	IncludeUsers  []string        `json:"includeUsers"`
	ExcludeUsers  []string        `json:"excludeUsers"`
	IncludeGroups []string        `json:"includeGroups"`
	ExcludeGroups []string        `json:"excludeGroups"`
	IncludeRoles  []string        `json:"includeRoles"`
	ExcludeRoles  []string        `json:"excludeRoles"`
	IncludeGuests json.RawMessage `json:"includeGuestsOrExternalUsers"`
	ExcludeGuests json.RawMessage `json:"excludeGuestsOrExternalUsers"`
}

// CAPolicy is one conditionalAccessPolicy, with what credres models.
type CAPolicy struct {
	ID          string
	DisplayName string
	State       string
	Users       CAUsers
	// IncludeApplications and ExcludeApplications are
	// conditions.applications' lists ("All", "MicrosoftAdminPortals", app ids).
	IncludeApplications []string
	ExcludeApplications []string
	// StrengthID and StrengthName name grantControls.authenticationStrength;
	// Allowed is its allowedCombinations when the policy carries them inline.
	StrengthID   string
	StrengthName string
	Allowed      []string
	// Operator and OtherControls are grantControls' operator and
	// builtInControls: "OR" with another control means the strength is one
	// way among others to satisfy the policy.
	Operator      string
	OtherControls []string
	// NotModelled names the conditions set on the policy that credres does
	// not evaluate (locations, platforms, risk, device filters, ...); the
	// policy is treated as applying whatever they say.
	NotModelled []string
	Raw         json.RawMessage
}

// CAPolicies is the value array of GET /identity/conditionalAccess/policies.
type CAPolicies []CAPolicy

type caPolicyJSON struct {
	ID            string            `json:"id"`
	DisplayName   string            `json:"displayName"`
	State         string            `json:"state"`
	Conditions    *caConditionsJSON `json:"conditions"`
	GrantControls *struct {
		Operator               string   `json:"operator"`
		BuiltInControls        []string `json:"builtInControls"`
		AuthenticationStrength *struct {
			ID                  string   `json:"id"`
			DisplayName         string   `json:"displayName"`
			AllowedCombinations []string `json:"allowedCombinations"`
		} `json:"authenticationStrength"`
	} `json:"grantControls"`
}

// caConditionsJSON is conditions of a Conditional Access policy.
type caConditionsJSON struct {
	Users        *CAUsers `json:"users"`
	Applications *struct {
		IncludeApplications []string `json:"includeApplications"`
		ExcludeApplications []string `json:"excludeApplications"`
		IncludeUserActions  []string `json:"includeUserActions"`
	} `json:"applications"`
	ClientAppTypes             []string        `json:"clientAppTypes"`
	Platforms                  json.RawMessage `json:"platforms"`
	Locations                  json.RawMessage `json:"locations"`
	Devices                    json.RawMessage `json:"devices"`
	ClientApplications         json.RawMessage `json:"clientApplications"`
	AuthenticationFlows        json.RawMessage `json:"authenticationFlows"`
	SignInRiskLevels           []string        `json:"signInRiskLevels"`
	UserRiskLevels             []string        `json:"userRiskLevels"`
	ServicePrincipalRiskLevels []string        `json:"servicePrincipalRiskLevels"`
	InsiderRiskLevels          json.RawMessage `json:"insiderRiskLevels"`
}

// Find returns the policy with the given id, or nil.
func (c *CAPolicies) Find(id string) *CAPolicy {
	if c == nil {
		return nil
	}
	for i := range *c {
		if (*c)[i].ID == id {
			return &(*c)[i]
		}
	}
	return nil
}

// UnmarshalJSON decodes every policy, naming the one that is malformed.
func (c *CAPolicies) UnmarshalJSON(data []byte) error {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return fieldError("tenant.conditionalAccessPolicies", err)
	}
	out := make(CAPolicies, 0, len(items))
	var errs []error
	for i, raw := range items {
		where := fmt.Sprintf("tenant.conditionalAccessPolicies[%d]", i)
		var g caPolicyJSON
		if err := json.Unmarshal(raw, &g); err != nil {
			errs = append(errs, fieldError(where, err))
			continue
		}
		p, err := g.policy(where, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*c = out
	return nil
}

// policy checks a decoded policy and keeps what credres applies of it,
// with raw verbatim; where names it in errors.
func (g *caPolicyJSON) policy(where string, raw json.RawMessage) (CAPolicy, error) {
	if g.ID != "" {
		where += " (" + g.ID + ")"
	}
	switch g.State {
	case StateEnabled, StateDisabled, StateReportOnly:
	default:
		return CAPolicy{}, fmt.Errorf("%s.state: %w: %q is not enabled, disabled or enabledForReportingButNotEnforced", where, ErrInvalidInput, g.State)
	}
	p := CAPolicy{ID: g.ID, DisplayName: g.DisplayName, State: g.State, Raw: append(json.RawMessage(nil), bytes.TrimSpace(raw)...)}
	if g.Conditions == nil {
		return CAPolicy{}, fmt.Errorf("%s.conditions: %w: missing", where, ErrInvalidInput)
	}
	cond := g.Conditions
	if cond.Users == nil {
		return CAPolicy{}, fmt.Errorf("%s.conditions.users: %w: missing", where, ErrInvalidInput)
	}
	p.Users = *cond.Users
	if a := cond.Applications; a != nil {
		p.IncludeApplications, p.ExcludeApplications = a.IncludeApplications, a.ExcludeApplications
	}
	p.NotModelled = cond.notModelled(p.Users)
	if gc := g.GrantControls; gc != nil {
		p.Operator, p.OtherControls = gc.Operator, gc.BuiltInControls
		if s := gc.AuthenticationStrength; s != nil {
			if s.ID == "" {
				return CAPolicy{}, fmt.Errorf("%s.grantControls.authenticationStrength.id: %w: missing", where, ErrInvalidInput)
			}
			p.StrengthID, p.StrengthName, p.Allowed = s.ID, s.DisplayName, normaliseCombinations(s.AllowedCombinations)
		}
	}
	return p, nil
}

// notModelled names the conditions credres does not model, so that the
// outputs can say the policy is treated as applying regardless of them.
func (cond *caConditionsJSON) notModelled(users CAUsers) []string {
	var out []string
	set := func(raw json.RawMessage) bool {
		s := string(bytes.TrimSpace(raw))
		return s != "" && s != "null" && s != "[]" && s != "{}"
	}
	if a := cond.Applications; a != nil && len(a.IncludeUserActions) > 0 {
		out = append(out, "user actions")
	}
	for _, c := range []struct {
		name string
		set  bool
	}{
		{"locations", set(cond.Locations)},
		{"device platforms", set(cond.Platforms)},
		{"sign-in risk", len(cond.SignInRiskLevels) > 0},
		{"user risk", len(cond.UserRiskLevels) > 0},
		{"service principal risk", len(cond.ServicePrincipalRiskLevels) > 0},
		{"insider risk", set(cond.InsiderRiskLevels)},
		{"device filters", set(cond.Devices)},
		{"client applications", set(cond.ClientApplications)},
		{"authentication flows", set(cond.AuthenticationFlows)},
		{"client app types", slices.ContainsFunc(cond.ClientAppTypes, func(t string) bool { return t != "all" })},
		{"excluded applications", cond.Applications != nil && len(cond.Applications.ExcludeApplications) > 0},
		{"guest or external user types", set(users.IncludeGuests) || set(users.ExcludeGuests)},
	} {
		if c.set {
			out = append(out, c.name)
		}
	}
	return out
}

// MarshalJSON writes the policy exactly as it was read.
func (p CAPolicy) MarshalJSON() ([]byte, error) { return rawOrNull(p.Raw), nil }

// HasTenantPolicy reports whether the snapshot carries any of the tenant's
// own policies.
func (t Tenant) HasTenantPolicy() bool {
	return t.AuthMethodsPolicy != nil || t.StrengthPolicies != nil || t.CAPolicies != nil
}

func rawOrNull(raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return []byte("null")
	}
	return raw
}

// fieldError turns a JSON decoding error into one that names the field
// ("conditionalAccessPolicies[2].conditions.users.includeGroups").
func fieldError(where string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		var field string
		if te.Field != "" {
			for _, part := range strings.Split(te.Field, ".") {
				if _, err := strconv.Atoi(part); err == nil {
					field += "[" + part + "]"
				} else {
					field += "." + part
				}
			}
		}
		return fmt.Errorf("%s%s: %w: got a JSON %s, want %s", where, field, ErrInvalidInput, te.Value, wantKind(te.Type.String()))
	}
	if errors.Is(err, ErrInvalidInput) {
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%s: %w: %v", where, ErrInvalidInput, err)
}

func wantKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case goType == "bool", goType == "*bool":
		return "true or false"
	case strings.HasPrefix(goType, "*struct"), strings.HasPrefix(goType, "struct"), strings.HasPrefix(goType, "model."), strings.HasPrefix(goType, "*model."):
		return "an object"
	}
	return goType
}

// TenantPolicy is the tenant's own policy as read live from Graph: the
// three optional fields of Tenant, each nil when it was not read.
type TenantPolicy struct {
	AuthMethodsPolicy *AuthMethodsPolicy
	StrengthPolicies  *StrengthPolicies
	CAPolicies        *CAPolicies
}

// WithPolicy returns the tenant with its own policy set to p.
func (t Tenant) WithPolicy(p TenantPolicy) Tenant {
	t.AuthMethodsPolicy, t.StrengthPolicies, t.CAPolicies = p.AuthMethodsPolicy, p.StrengthPolicies, p.CAPolicies
	return t
}

// Policy returns the tenant's own policy.
func (t Tenant) Policy() TenantPolicy {
	return TenantPolicy{AuthMethodsPolicy: t.AuthMethodsPolicy, StrengthPolicies: t.StrengthPolicies, CAPolicies: t.CAPolicies}
}
