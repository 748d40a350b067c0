// Package explain turns an assessment into plain sentences that an
// administrator can paste into a ticket, and names dependencies and methods
// the way people talk about them. Personal data is masked.
package explain

import (
	"fmt"
	"slices"
	"strings"

	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
)

// Dependency names a dependency for people, using the user's own method
// names where the dependency is one of their keys or devices.
func Dependency(u *model.User, dep model.Dependency) string {
	kind, id, _ := strings.Cut(dep, "/")
	label := methodLabel(u, id)
	switch kind {
	case model.DepEntraMFA:
		return "the Microsoft Entra MFA service"
	case model.DepOnPremises:
		return "the on-premises federation or pass-through authentication servers"
	case model.DepPhoneCarrier:
		return "the phone network (SMS and voice calls)"
	case model.DepPushService:
		return "the Apple and Google push notification services"
	case model.DepMobileDevice:
		if id != "" {
			return "the second phone running Microsoft Authenticator" + label
		}
		return "the user's primary phone"
	case model.DepAlternateMobileDevice:
		return "the alternate mobile phone"
	case model.DepOfficePhone:
		return "the office phone line"
	case model.DepSecurityKey:
		return "the FIDO2 security key" + label
	case model.DepWindowsDevice:
		return "the Windows device of Windows Hello" + label
	case model.DepMacDevice:
		return "the Mac of the platform credential" + label
	case model.DepHardwareToken:
		return "the hardware OATH token" + label
	case model.DepEmailProvider:
		return "the email provider"
	case model.DepExternalMFA:
		return "the external MFA provider" + label
	case model.DepSmartCard:
		return "the smart card (certificate-based authentication)"
	case model.DepPKI:
		return "the tenant's PKI (its certificate authorities and revocation lists)"
	case model.DepEntraAuth:
		return "the Microsoft Entra authentication service"
	}
	return dep
}

func methodLabel(u *model.User, id string) string {
	if id == "" || u == nil {
		return ""
	}
	for _, m := range u.Methods {
		if m.ID != id && (m.Kind != model.KindExternalMFA || m.Detail().ConfigurationID != id) {
			continue
		}
		name := m.DisplayName
		if m.Device != nil {
			if m.Device.DisplayName != "" {
				name = m.Device.DisplayName
			} else if m.Device.SerialNumber != "" {
				name = "serial " + mask.Line(m.Device.SerialNumber)
			}
		}
		if name != "" {
			return fmt.Sprintf(" %q", name)
		}
	}
	return " " + mask.Line(id)
}

// Method names a registered method for people, with phone numbers and
// addresses masked.
func Method(m model.Method) string {
	var s string
	switch m.Kind {
	case model.KindPassword:
		return "password"
	case model.KindMobilePhone:
		s = "mobile phone " + mask.Phone(m.PhoneNumber)
	case model.KindAlternateMobilePhone:
		s = "alternate mobile phone " + mask.Phone(m.PhoneNumber)
	case model.KindOfficePhone:
		s = "office phone " + mask.Phone(m.PhoneNumber)
	case model.KindAuthenticator:
		s = "Microsoft Authenticator"
	case model.KindSoftwareOath:
		s = "authenticator app (one-time codes)"
	case model.KindHardwareOath:
		s = "hardware OATH token"
		if m.Device != nil && m.Device.SerialNumber != "" {
			s += " serial " + mask.Line(m.Device.SerialNumber)
		}
	case model.KindFIDO2:
		s = "FIDO2 security key"
	case model.KindPasskeyAuthenticator:
		s = "passkey in Microsoft Authenticator"
	case model.KindWindowsHello:
		s = "Windows Hello for Business"
	case model.KindPlatformCredential:
		s = "macOS platform credential"
	case model.KindEmail:
		s = "email " + mask.Email(m.EmailAddress)
	case model.KindTemporaryAccessPass:
		s = "Temporary Access Pass"
	case model.KindExternalMFA:
		s = "external MFA provider"
	default:
		s = "unknown method type " + mask.Line(strings.TrimPrefix(m.GraphType, "#microsoft.graph."))
	}
	if m.DisplayName != "" && m.Kind != model.KindMobilePhone && m.Kind != model.KindOfficePhone && m.Kind != model.KindAlternateMobilePhone {
		s += fmt.Sprintf(" %q", m.DisplayName)
	}
	return strings.TrimSpace(s)
}

// MethodNote names a method the delivery stages were told of, as Method
// does.
func MethodNote(n model.MethodNote) string {
	if n.Words != "" {
		return n.Words
	}
	m := model.Method{Kind: n.Kind, GraphType: n.GraphType, DisplayName: n.DisplayName, PhoneNumber: n.PhoneNumber, EmailAddress: n.EmailAddress}
	if n.SerialNumber != "" {
		m.Device = &model.HardwareDevice{SerialNumber: n.SerialNumber}
	}
	return Method(m)
}

// MethodNotes names each method; nil for none.
func MethodNotes(ns []model.MethodNote) []string {
	var out []string
	for _, n := range ns {
		out = append(out, MethodNote(n))
	}
	return out
}

// Violation explains one violation code.
func Violation(u *model.User, a *model.Assessment, code model.Violation) string {
	if dep, ok := code.SPOF(); ok {
		return fmt.Sprintf("Every sign-in path depends on %s: if it fails, the user cannot sign in.", Dependency(u, dep))
	}
	switch code {
	case model.ViolationNoMFAPath:
		return "The user has no way to complete a multifactor sign-in: no second factor after the password and no passwordless method."
	case model.ViolationBelowMinDiversity:
		return fmt.Sprintf("It takes %s to lock the user out; tier %q requires at least %d.", failures(a.Diversity), a.Tier, a.MinDiversity)
	case model.ViolationNoPhishingResist:
		return fmt.Sprintf("Tier %q requires a phishing-resistant method (a FIDO2 key, Windows Hello for Business, a macOS platform credential or a passkey), and the user has none.", a.Tier)
	case model.ViolationTelephonyOnly:
		return "Every sign-in path uses the phone network: an SMS or voice outage, or a SIM swap, locks the user out."
	case model.ViolationNoCAPath:
		return "No sign-in path of the user satisfies the authentication strength a Conditional Access policy requires of them: they are locked out today."
	}
	return string(code)
}

func failures(n int) string {
	switch n {
	case 0:
		return "no failure at all (there is no path)"
	case 1:
		return "a single failure"
	}
	return fmt.Sprintf("%d independent failures", n)
}

// Sentences explains a user's assessment in plain sentences.
func Sentences(u *model.User, a *model.Assessment) []string {
	out := standing(u, a)
	out = violations(u, a, out)
	out = remedies(u, a, out)
	return notes(u, a, out)
}

// standing says who the user is, what they registered and how many
// failures lock them out.
func standing(u *model.User, a *model.Assessment) []string {
	var out []string
	// Names come from the directory: one line each, no control characters.
	name := mask.Line(u.UserPrincipalName)
	if dn := mask.Line(u.DisplayName); dn != "" {
		name = fmt.Sprintf("%s (%s)", dn, name)
	}
	if a.Tier == "" {
		out = append(out, fmt.Sprintf("%s matches no tier of the policy, so nothing is required of them.", name))
	} else {
		out = append(out, fmt.Sprintf("%s is in tier %q.", name, a.Tier))
	}
	var methods []string
	for _, m := range u.Methods {
		methods = append(methods, Method(m))
	}
	if len(methods) == 0 {
		out = append(out, "No authentication methods are registered.")
	} else {
		out = append(out, "Registered methods: "+strings.Join(methods, "; ")+".")
	}
	switch len(a.Paths) {
	case 0:
		if !a.HasViolation(model.ViolationNoCAPath) { // said by the violation
			out = append(out, "The user has no multifactor sign-in path.")
		}
	default:
		out = append(out, fmt.Sprintf("The user has %d distinct sign-in %s.", len(a.Paths), plural(len(a.Paths), "path", "paths")))
		if !a.HasViolation(model.ViolationBelowMinDiversity) {
			out = append(out, fmt.Sprintf("It takes %s to lock the user out.", failures(a.Diversity)))
		}
	}
	return out
}

// violations names the single points of failure and explains each
// violation, with the tenant's remedy for those the tenant can fix.
func violations(u *model.User, a *model.Assessment, out []string) []string {
	for _, dep := range a.SPOFs {
		if a.Compliant || !a.HasViolation(model.ViolationSPOF(dep)) {
			out = append(out, fmt.Sprintf("Single point of failure: %s.", Dependency(u, dep)))
		}
	}
	if a.Compliant {
		out = append(out, "The user is within policy.")
	}
	for _, v := range a.Violations {
		if v == model.ViolationBelowMinDiversity && a.HasViolation(model.ViolationNoMFAPath) {
			continue // says nothing more than "no path"
		}
		s := Violation(u, a, v)
		if slices.Contains(a.TenantSide, v) {
			s += " The tenant can fix this for everyone: turning on password hash sync as a fallback for federation or pass-through authentication removes the on-premises dependency from the password. The user can also avoid it with a method that needs no password, such as a FIDO2 security key or Windows Hello for Business."
		}
		out = append(out, s)
	}
	return out
}

// remedies gives the best next step and the alternatives: signing in with
// unproven methods first, when that is enough, then the recommendations.
func remedies(u *model.User, a *model.Assessment, out []string) []string {
	tried := false
	if !a.Compliant && a.RestsOnUnproven {
		// The tier leaves unproven methods out, and with them the user
		// would be within policy: using them is the remedy, before any
		// new method.
		var names []string
		for _, p := range a.Proof {
			if !p.Proven() {
				names = append(names, strings.TrimSpace(Method(methodByID(u, p.ID))))
			}
		}
		out = append(out, fmt.Sprintf("Best next step: sign in once with each of %s: proven again, they bring the user within policy.", strings.Join(names, " and ")))
		tried = true
	}
	for i, r := range a.Recommendations {
		lead := "Best next step"
		if i > 0 || tried {
			lead = "Alternatively"
		}
		if r.Diversity < a.MinDiversity {
			// It fixes what the user can fix; the tenant-side rest remains.
			out = append(out, fmt.Sprintf("%s: %s (this fixes the user's part; the on-premises dependency remains until the tenant turns on password hash sync).", lead, Recommendation(r)))
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s (it would take %s to lock the user out).", lead, Recommendation(r), failures(r.Diversity)))
	}
	return out
}

// notes says what was not counted, what was counted once, and why the user
// is left alone when they are.
func notes(u *model.User, a *model.Assessment, out []string) []string {
	for _, ig := range a.Ignored {
		reason := ig.Reason
		if reason == model.IgnoredDisabledByTenant {
			reason = disabledByTenant(ig.Kind)
		}
		out = append(out, fmt.Sprintf("Not counted: %s, because %s.", strings.TrimSpace(Method(methodByID(u, ig.ID))), reason))
	}
	for _, w := range a.Warnings {
		switch w.Reason {
		case model.WarnDuplicateID:
			out = append(out, fmt.Sprintf("Counted once: %s is listed twice with the same id (%s).", Method(methodByID(u, w.ID)), w.ID))
		case model.WarnReRegistration:
			out = append(out, fmt.Sprintf("Counted as one phone: %s (%s) has the same device name and device tag as registration %s, so it is taken to be the app registered again on the same phone (after a reinstall or a reset), not a second phone.", Method(methodByID(u, w.ID)), w.ID, w.SameAs))
		}
	}
	switch a.Excluded {
	case model.ExcludedGuest:
		out = append(out, "The user is a guest: credres reports them but never nudges or tickets them, unless the policy includes guests (guests: include).")
	case model.ExcludedDisabled:
		out = append(out, "The account is disabled: credres reports it but never nudges or tickets it, unless the policy includes disabled accounts (disabledAccounts: include).")
	}
	if a.Exempt && a.Tier != "" {
		out = append(out, fmt.Sprintf("Tier %q is exempt: credres reports this user but never nudges or tickets them.", a.Tier))
	}
	return out
}

func methodByID(u *model.User, id string) model.Method {
	for _, m := range u.Methods {
		if m.ID == id {
			return m
		}
	}
	return model.Method{ID: id, Kind: model.KindUnknown}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// disabledByTenant says why the tenant's authentication methods policy
// leaves a method of this kind unusable for the user.
func disabledByTenant(k model.MethodKind) string {
	switch k {
	case model.KindMobilePhone:
		return "the tenant's authentication methods policy turns both SMS and voice calls off for the user"
	case model.KindAlternateMobilePhone:
		return "the tenant's authentication methods policy turns voice calls off for the user"
	case model.KindOfficePhone:
		return "the tenant's authentication methods policy turns voice calls off for the user, or does not allow them to office phones"
	case model.KindFIDO2, model.KindPasskeyAuthenticator:
		return "the tenant's authentication methods policy turns passkeys (FIDO2) off for the user, or its key restrictions refuse this model (AAGUID)"
	case model.KindAuthenticator:
		return "the tenant's authentication methods policy leaves the user no way to use Microsoft Authenticator"
	}
	if id := model.ConfigOf(k); id != "" {
		return fmt.Sprintf("the tenant's authentication methods policy turns %s off for the user", model.ConfigNames[id])
	}
	return "the tenant's authentication methods policy does not let the user use it"
}

// TenantPolicy explains what the tenant's own policy does to the user:
// the Conditional Access policies with an authentication strength that
// apply to them (and which of their conditions credres does not model),
// and what the tenant would have to enable when nothing the user may
// register brings them within policy. Without the tenant's policy it says
// that every registered method was assumed usable.
func TenantPolicy(t model.Tenant, a *model.Assessment) []string {
	if !t.HasTenantPolicy() {
		return []string{"The tenant's policy was not included in the snapshot: every registered method is assumed usable and no Conditional Access authentication strength is applied."}
	}
	var out []string
	if t.AuthMethodsPolicy == nil {
		out = append(out, "The tenant's authentication methods policy was not included in the snapshot: every registered method is assumed usable.")
	}
	if t.CAPolicies == nil {
		out = append(out, "The tenant's Conditional Access policies were not included in the snapshot: no authentication strength is applied.")
	}
	for _, r := range a.ConditionalAccess {
		p := t.CAPolicies.Find(r.ID)
		if p == nil {
			continue
		}
		strength := p.StrengthName
		if t.StrengthPolicies != nil {
			if s := t.StrengthPolicies.Find(p.StrengthID); s != nil && strength == "" {
				strength = s.DisplayName
			}
		}
		if strength == "" {
			strength = p.StrengthID
		}
		where := "every sign-in"
		if r.Scope == "admin-portals" {
			where = "the Microsoft admin portals (the user holds a directory role)"
		}
		s := fmt.Sprintf("Conditional Access policy %q requires the authentication strength %q for %s", mask.Line(p.DisplayName), mask.Line(strength), where)
		switch {
		case r.ReportOnly && r.Satisfied:
			s += "; it is report-only, and some sign-in path of the user would satisfy it."
		case r.ReportOnly:
			s += "; it is report-only, and no sign-in path of the user would satisfy it once enforced."
		case r.Satisfied:
			s += ": only the sign-in paths it allows are counted."
		default:
			s += ": no sign-in path of the user satisfies it."
		}
		if len(p.NotModelled) > 0 {
			s += fmt.Sprintf(" Its conditions on %s are not modelled: treated as applying.", strings.Join(p.NotModelled, ", "))
		}
		out = append(out, s)
	}
	for _, r := range a.TenantRecommendations {
		out = append(out, "Tenant-side: "+r.Action+".")
	}
	return out
}
