package model

import "strings"

// Dependency is the stable id of something a sign-in path relies on
// (docs/DESIGN.md, Dependencies). Instance dependencies carry the method id after a slash:
// "security-key/<method id>".
type Dependency = string

// The dependency ids of docs/DESIGN.md, Dependencies. Instance kinds are prefixes completed by
// Instance.
const (
	DepEntraAuth             Dependency = "entra-auth"
	DepEntraMFA              Dependency = "entra-mfa"
	DepOnPremises            Dependency = "on-premises"
	DepPhoneCarrier          Dependency = "phone-carrier"
	DepPushService           Dependency = "push-service"
	DepMobileDevice          Dependency = "mobile-device"
	DepAlternateMobileDevice Dependency = "alternate-mobile-device"
	DepOfficePhone           Dependency = "office-phone"
	DepSecurityKey           Dependency = "security-key"
	DepWindowsDevice         Dependency = "windows-device"
	DepMacDevice             Dependency = "mac-device"
	DepHardwareToken         Dependency = "hardware-token"
	DepExternalMFA           Dependency = "external-mfa"
	DepSmartCard             Dependency = "smart-card"
	DepPKI                   Dependency = "pki"
)

// DepEmailProvider is the user's email provider. Email one-time passcodes
// only reset passwords, so no sign-in path depends on it: it is not among
// DependencyKinds, and a policy may accept it to no effect.
const DepEmailProvider Dependency = "email-provider"

// DependencyKinds lists every dependency kind in the order of docs/DESIGN.md, Dependencies.
// Instance kinds appear once, without their "/<id>" suffix.
var DependencyKinds = []Dependency{
	DepEntraAuth, DepEntraMFA, DepOnPremises, DepPhoneCarrier, DepPushService,
	DepMobileDevice, DepAlternateMobileDevice, DepOfficePhone, DepSecurityKey,
	DepWindowsDevice, DepMacDevice, DepHardwareToken, DepExternalMFA,
	DepSmartCard, DepPKI,
}

// Instance returns the id of one instance of an instance kind, e.g.
// Instance(DepSecurityKey, "k1") == "security-key/k1".
func Instance(kind Dependency, id string) Dependency { return kind + "/" + id }

// KindOf returns the dependency kind of an id: the part before "/<id>".
func KindOf(dep Dependency) Dependency {
	if i := strings.IndexByte(dep, '/'); i >= 0 {
		return dep[:i]
	}
	return dep
}

// IsDependencyKind reports whether s names a dependency kind of docs/DESIGN.md, Dependencies.
func IsDependencyKind(s string) bool {
	for _, k := range DependencyKinds {
		if k == s {
			return true
		}
	}
	return false
}

// ValidDependency reports whether s is a known dependency kind, or an
// instance of one ("security-key/k1", "mobile-device/<id>").
func ValidDependency(s string) bool {
	kind := KindOf(s)
	if !IsDependencyKind(kind) {
		return false
	}
	if kind == s {
		return true
	}
	return len(s) > len(kind)+1
}
