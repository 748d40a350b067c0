package model

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PasswordAuth is how a tenant verifies passwords of synchronised users.
type PasswordAuth string

// The tenant password-authentication modes of the snapshot format.
const (
	PasswordCloud     PasswordAuth = "cloud"
	PasswordPHS       PasswordAuth = "phs"
	PasswordPTA       PasswordAuth = "pta"
	PasswordFederated PasswordAuth = "federated"
)

// Tenant holds the tenant-wide facts that change a user's dependencies.
type Tenant struct {
	ID           string       `json:"id"`
	PasswordAuth PasswordAuth `json:"passwordAuth"`
	// PHSFallback is password hash sync kept on as a fallback for PTA or
	// federation, so that passwords still verify when on-premises is down.
	PHSFallback bool `json:"phsFallback"`
	// AuthMethodsPolicy, StrengthPolicies and CAPolicies are the tenant's
	// own policy, as Graph returns it (docs/SNAPSHOT.md). Absent, every
	// registered method is assumed usable and nothing is required of it.
	AuthMethodsPolicy *AuthMethodsPolicy `json:"authenticationMethodsPolicy,omitempty"`
	StrengthPolicies  *StrengthPolicies  `json:"authenticationStrengthPolicies,omitempty"`
	CAPolicies        *CAPolicies        `json:"conditionalAccessPolicies,omitempty"`
}

// PasswordOnPremises reports whether a synchronised user's password depends
// on on-premises infrastructure (PTA agents or federation) in this tenant.
func (t Tenant) PasswordOnPremises() bool {
	return (t.PasswordAuth == PasswordPTA || t.PasswordAuth == PasswordFederated) && !t.PHSFallback
}

// User is one directory user with what credres needs to assess them.
type User struct {
	ID                    string `json:"id"`
	UserPrincipalName     string `json:"userPrincipalName"`
	DisplayName           string `json:"displayName,omitempty"`
	Mail                  string `json:"mail,omitempty"`
	PreferredLanguage     string `json:"preferredLanguage,omitempty"`
	OnPremisesSyncEnabled bool   `json:"onPremisesSyncEnabled"`
	AccountEnabled        *bool  `json:"accountEnabled,omitempty"`
	// UserType is Graph's userType: "Member" or "Guest" (the registration
	// report writes them in lower case).
	UserType string   `json:"userType,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	// EligibleRoles are the directory roles the user is eligible for in
	// Privileged Identity Management (by display name), which they can
	// activate at any moment.
	EligibleRoles []string `json:"eligibleRoles,omitempty"`
	Methods       []Method `json:"methods"`
	// AuthorizationInfo holds the user's certificateUserIds, the bindings
	// of certificate-based authentication.
	AuthorizationInfo *AuthorizationInfo `json:"authorizationInfo,omitempty"`
	// MethodsRegistered is the user's methodsRegistered list from the Graph
	// registration report, when known. "microsoftAuthenticatorPasswordless"
	// there is the only signal of passwordless phone sign-in (docs/DESIGN.md, Methods).
	MethodsRegistered []string `json:"methodsRegistered,omitempty"`
	// Usage is what the sign-in logs say about the user's methods (when
	// each last worked or failed), when known.
	Usage []MethodUsage `json:"usage,omitempty"`
	// Devices are the devices registered to or owned by the user in Entra
	// ID. Nil means the snapshot does not know them; an empty list means
	// the user has none, so that advice can tell "no Windows PC" from "not
	// known" (the field is written as [] then, and left out when nil).
	Devices []Device `json:"devices,omitzero"`
	// The registration report's view of the user's preferences and
	// self-service password reset, when the snapshot was enriched with it;
	// shown in reports as Entra's "User registration details" shows them.
	Registration *RegistrationDetails `json:"registrationDetails,omitempty"`
}

// Device is one device of a user, as Graph's registeredDevices and
// ownedDevices list it.
type Device struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
	// OperatingSystem is Graph's operatingSystem: "Windows", "MacMDM" or
	// "macOS", "iOS", "Android", "Linux", ...
	OperatingSystem        string `json:"operatingSystem,omitempty"`
	OperatingSystemVersion string `json:"operatingSystemVersion,omitempty"`
	// TrustType is how the device joined: "AzureAd" (Microsoft Entra
	// joined), "ServerAd" (hybrid joined) or "Workplace" (registered).
	TrustType string `json:"trustType,omitempty"`
	// Registered and Owned say through which relation Graph listed the
	// device (registeredDevices, ownedDevices); a device may be both.
	Registered bool `json:"registered,omitempty"`
	Owned      bool `json:"owned,omitempty"`
}

// RegistrationDetails are the fields of a user's row in Graph's
// registration report (userRegistrationDetails) that credres shows but
// does not reason about. Absent fields are unknown.
type RegistrationDetails struct {
	// IsSsprRegistered: the user registered for self-service password reset.
	IsSsprRegistered *bool `json:"isSsprRegistered,omitempty"`
	// UserPreferredMethodForSecondaryAuthentication is the default method
	// the user chose ("push", "sms", "oath", "voiceMobile", "none", ...).
	UserPreferredMethodForSecondaryAuthentication string `json:"userPreferredMethodForSecondaryAuthentication,omitempty"`
	// SystemPreferredAuthenticationMethods is the method Entra prompts for
	// first when system-preferred MFA is on ("push", "fido2", "sms", ...).
	SystemPreferredAuthenticationMethods []string `json:"systemPreferredAuthenticationMethods,omitempty"`
	// IsSystemPreferredAuthenticationMethodEnabled: system-preferred MFA is
	// enabled for the user.
	IsSystemPreferredAuthenticationMethodEnabled *bool `json:"isSystemPreferredAuthenticationMethodEnabled,omitempty"`
	// IsAdmin is the report's own admin flag (active roles only).
	IsAdmin *bool `json:"isAdmin,omitempty"`
}

// DevicesKnown reports whether the snapshot says which devices the user has.
func (u User) DevicesKnown() bool { return u.Devices != nil }

// Admin reports whether the user holds or is eligible for a directory role.
func (u User) Admin() bool { return len(u.Roles)+len(u.EligibleRoles) > 0 }

// AuthorizationInfo is Graph's authorizationInfo of a user.
type AuthorizationInfo struct {
	CertificateUserIDs []string `json:"certificateUserIds,omitempty"`
}

// HasCertificate reports whether certificates are bound to the user
// (certificateUserIds), so that certificate-based authentication can sign
// them in where the tenant enables it.
func (u User) HasCertificate() bool {
	return u.AuthorizationInfo != nil && len(u.AuthorizationInfo.CertificateUserIDs) > 0
}

// Guest reports whether the user is a guest (userType "Guest", in any case).
func (u User) Guest() bool { return strings.EqualFold(u.UserType, "guest") }

// Disabled reports whether the account is known to be disabled.
func (u User) Disabled() bool { return u.AccountEnabled != nil && !*u.AccountEnabled }

// PasswordlessPhoneSignIn reports whether the registration report lists
// passwordless phone sign-in with Microsoft Authenticator for the user.
func (u User) PasswordlessPhoneSignIn() bool {
	for _, m := range u.MethodsRegistered {
		if strings.EqualFold(m, "microsoftAuthenticatorPasswordless") {
			return true
		}
	}
	return false
}

// Directory is a snapshot of a tenant: the input of assess, whatif and report.
type Directory struct {
	// ExportedAt is when the snapshot was read from Graph (written by
	// credres export); zero when unknown.
	ExportedAt time.Time `json:"exportedAt,omitzero"`
	Tenant     Tenant    `json:"tenant"`
	Users      []User    `json:"users"`
}

// Validate checks what decoding cannot: known password mode, ids present and
// unique. Each problem names the user's position.
func (d *Directory) Validate() error {
	var errs []error
	switch d.Tenant.PasswordAuth {
	case PasswordCloud, PasswordPHS, PasswordPTA, PasswordFederated:
	case "":
		d.Tenant.PasswordAuth = PasswordCloud
	default:
		errs = append(errs, fmt.Errorf("tenant: %w: passwordAuth %q is not cloud, phs, pta or federated", ErrInvalidInput, d.Tenant.PasswordAuth))
	}
	seen := make(map[string]int, len(d.Users))
	for i, u := range d.Users {
		if u.ID == "" {
			errs = append(errs, fmt.Errorf("user %d: %w: no id", i, ErrInvalidInput))
			continue
		}
		if j, dup := seen[u.ID]; dup {
			errs = append(errs, fmt.Errorf("user %d: %w: id %s repeats user %d", i, ErrInvalidInput, u.ID, j))
		}
		seen[u.ID] = i
	}
	return errors.Join(errs...)
}

// FindUser returns the user with the given object id or user principal name
// (case-insensitive, as Entra compares UPNs). It looks at every user: for
// more than a few lookups, build a UserIndex.
func (d *Directory) FindUser(idOrUPN string) (*User, bool) {
	for i := range d.Users {
		u := &d.Users[i]
		if u.ID == idOrUPN || strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			return u, true
		}
	}
	return nil, false
}

// UserIndex finds a directory's users by object id or user principal name
// in constant time, with FindUser's answers. Users changed, added or
// removed after it was built are noticed and the index rebuilt.
type UserIndex struct {
	d     *Directory
	n     int // len(d.Users) when built
	byID  map[string]int
	byUPN map[string]int // by FoldKey of the user principal name
}

// Index builds the index of d's users.
func (d *Directory) Index() *UserIndex {
	x := &UserIndex{d: d}
	x.build()
	return x
}

func (x *UserIndex) build() {
	users := x.d.Users
	x.n = len(users)
	x.byID, x.byUPN = make(map[string]int, len(users)), make(map[string]int, len(users))
	for i := len(users) - 1; i >= 0; i-- { // the first of equals wins, as in FindUser
		x.byID[users[i].ID] = i
		x.byUPN[FoldKey(users[i].UserPrincipalName)] = i
	}
}

// Find returns the user with the given object id or user principal name,
// the same user FindUser returns: the first whose id or name matches.
func (x *UserIndex) Find(idOrUPN string) (*User, bool) {
	if len(x.d.Users) != x.n {
		x.build()
	}
	u, ok, stale := x.find(idOrUPN)
	if stale {
		x.build()
		u, ok, _ = x.find(idOrUPN)
	}
	return u, ok
}

func (x *UserIndex) find(idOrUPN string) (*User, bool, bool) {
	i, ok := x.byID[idOrUPN]
	if j, found := x.byUPN[FoldKey(idOrUPN)]; found && (!ok || j < i) {
		i, ok = j, true
	}
	if !ok {
		return nil, false, false
	}
	u := &x.d.Users[i]
	if u.ID != idOrUPN && !strings.EqualFold(u.UserPrincipalName, idOrUPN) {
		return nil, false, true
	}
	return u, true, false
}

// FoldKey returns the form s shares with every string strings.EqualFold
// matches it with: each letter replaced by the smallest of its case
// variants, and that lower-cased when it is an ASCII letter, so that a
// name already in lower-case ASCII (most user principal names) is its own
// key and costs no copy.
func FoldKey(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s) // s itself when nothing is upper-case
	}
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		if 'A' <= least && least <= 'Z' {
			least += 'a' - 'A' // the ASCII path's form (k for K, k and the Kelvin sign)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// PrefixErrors wraps err with prefix; a joined error (one per bad record)
// has each of its errors wrapped, so that every line names where it is.
func PrefixErrors(prefix string, err error) error {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs := joined.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = PrefixErrors(prefix, e)
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
