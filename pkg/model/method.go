package model

import (
	"encoding/json"
	"fmt"
	"time"
)

// MethodKind is credres's name for a kind of authentication method (docs/DESIGN.md, Methods).
type MethodKind string

// The method kinds of docs/DESIGN.md, Methods.
const (
	KindPassword             MethodKind = "password"
	KindMobilePhone          MethodKind = "mobile-phone"
	KindAlternateMobilePhone MethodKind = "alternate-mobile-phone"
	KindOfficePhone          MethodKind = "office-phone"
	KindAuthenticator        MethodKind = "microsoft-authenticator"
	KindSoftwareOath         MethodKind = "software-oath"
	KindHardwareOath         MethodKind = "hardware-oath"
	KindFIDO2                MethodKind = "fido2"
	KindPasskeyAuthenticator MethodKind = "passkey-authenticator"
	KindWindowsHello         MethodKind = "windows-hello"
	KindPlatformCredential   MethodKind = "platform-credential"
	KindEmail                MethodKind = "email"
	KindTemporaryAccessPass  MethodKind = "temporary-access-pass"
	KindExternalMFA          MethodKind = "external-mfa"
	KindUnknown              MethodKind = "unknown"
)

// MethodKinds lists every kind in the order of docs/DESIGN.md, Methods.
var MethodKinds = []MethodKind{
	KindPassword, KindMobilePhone, KindAlternateMobilePhone, KindOfficePhone,
	KindAuthenticator, KindSoftwareOath, KindHardwareOath, KindFIDO2,
	KindPasskeyAuthenticator, KindWindowsHello, KindPlatformCredential,
	KindEmail, KindTemporaryAccessPass, KindExternalMFA, KindUnknown,
}

// Graph @odata.type values of the authentication-method resources.
const (
	GraphPassword           = "#microsoft.graph.passwordAuthenticationMethod"
	GraphPhone              = "#microsoft.graph.phoneAuthenticationMethod"
	GraphEmail              = "#microsoft.graph.emailAuthenticationMethod"
	GraphFIDO2              = "#microsoft.graph.fido2AuthenticationMethod"
	GraphAuthenticator      = "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
	GraphWindowsHello       = "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod"
	GraphSoftwareOath       = "#microsoft.graph.softwareOathAuthenticationMethod"
	GraphHardwareOath       = "#microsoft.graph.hardwareOathAuthenticationMethod"
	GraphTemporaryAccess    = "#microsoft.graph.temporaryAccessPassAuthenticationMethod"
	GraphPlatformCredential = "#microsoft.graph.platformCredentialAuthenticationMethod"
	GraphExternal           = "#microsoft.graph.externalAuthenticationMethod"
)

// AuthenticatorAAGUIDs are the AAGUIDs of passkeys held in Microsoft
// Authenticator (Android, iOS). A FIDO2 method with one of them lives on the
// user's phone, not on a security key.
var AuthenticatorAAGUIDs = map[string]bool{
	"de1e552d-db1d-4423-a619-566b625cdc84": true, // Microsoft Authenticator for Android
	"90a3ccdf-635c-4729-a248-9b709135078f": true, // Microsoft Authenticator for iOS
}

// Method is one registered authentication method, decoded from the Graph
// authenticationMethod resource. Only the fields credres reasons about are
// typed; Raw keeps the object exactly as Graph returned it, so snapshots and
// exports stay verbatim. A tenant holds millions of methods, so the record
// carries what evaluation reads and the properties of most methods; those
// of a few kinds (security keys, Windows Hello, platform credentials,
// Temporary Access Passes) are in Details.
type Method struct {
	ID          string
	Kind        MethodKind
	GraphType   string // "@odata.type" as given, "" when Graph omitted it
	DisplayName string
	Created     time.Time // createdDateTime or creationDateTime; zero when absent

	PhoneType      string // mobile, alternateMobile, office
	PhoneNumber    string // personal data: never logged, masked in messages
	SMSSignInState string
	EmailAddress   string // personal data: never logged, masked in messages

	AAGUID          string
	DeviceTag       string
	PhoneAppVersion string

	// Details holds the properties of the rarer kinds; nil when the method
	// has none of them.
	Details *MethodDetails

	// Hardware OATH token.
	Device *HardwareDevice

	Raw json.RawMessage
}

// MethodDetails are the properties of a method that credres reads from
// Graph and writes back but does not reason about.
type MethodDetails struct {
	Model            string // security keys
	AttestationLevel string // security keys
	KeyStrength      string // Windows Hello, platform credentials
	Platform         string // platform credentials
	// ConfigurationID is an external authentication method's provider
	// configuration (externalAuthenticationMethodConfiguration id).
	ConfigurationID string

	// Temporary Access Pass.
	TAPStart         time.Time
	TAPLifetimeMins  int
	TAPUsableOnce    bool
	TAPUsable        *bool
	TAPUsabilityNote string
}

// Detail returns the method's details, the zero value when it has none.
func (m *Method) Detail() MethodDetails {
	if m.Details == nil {
		return MethodDetails{}
	}
	return *m.Details
}

// HardwareDevice is the hardware OATH token behind a hardwareOathAuthenticationMethod.
type HardwareDevice struct {
	ID           string `json:"id,omitempty"`
	DisplayName  string `json:"displayName,omitempty"`
	SerialNumber string `json:"serialNumber,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Status       string `json:"status,omitempty"`
}

// MarshalJSON writes the method as the Graph object it was decoded from, so a
// snapshot written by credres is again a list of Graph objects. A method built
// in code (no Raw) is written in Graph's shape.
func (m Method) MarshalJSON() ([]byte, error) {
	if len(m.Raw) > 0 {
		return m.Raw, nil
	}
	obj := map[string]any{"id": m.ID}
	if m.GraphType != "" {
		obj["@odata.type"] = m.GraphType
	}
	put := func(k, v string) {
		if v != "" {
			obj[k] = v
		}
	}
	put("displayName", m.DisplayName)
	if !m.Created.IsZero() {
		key := "createdDateTime"
		switch m.GraphType {
		case GraphFIDO2, GraphPassword, GraphPlatformCredential:
			key = "creationDateTime"
		}
		obj[key] = m.Created.UTC().Format(time.RFC3339)
	}
	put("phoneNumber", m.PhoneNumber)
	put("phoneType", m.PhoneType)
	put("smsSignInState", m.SMSSignInState)
	put("emailAddress", m.EmailAddress)
	put("aaGuid", m.AAGUID)
	d := m.Detail()
	put("model", d.Model)
	put("attestationLevel", d.AttestationLevel)
	put("deviceTag", m.DeviceTag)
	put("phoneAppVersion", m.PhoneAppVersion)
	put("keyStrength", d.KeyStrength)
	put("platform", d.Platform)
	put("configurationId", d.ConfigurationID)
	if m.GraphType == GraphTemporaryAccess {
		if !d.TAPStart.IsZero() {
			obj["startDateTime"] = d.TAPStart.UTC().Format(time.RFC3339)
		}
		obj["lifetimeInMinutes"] = d.TAPLifetimeMins
		obj["isUsableOnce"] = d.TAPUsableOnce
		if d.TAPUsable != nil {
			obj["isUsable"] = *d.TAPUsable
		}
		put("methodUsabilityReason", d.TAPUsabilityNote)
	}
	if m.Device != nil {
		obj["device"] = m.Device
	}
	return json.Marshal(obj)
}

// UnmarshalJSON refuses to decode: a Graph method object is decoded by
// graphjson.DecodeMethod, which knows the wire format. encoding/json would
// otherwise fill the fields by name and leave the kind empty.
func (m *Method) UnmarshalJSON([]byte) error {
	return fmt.Errorf("decode method: %w: decode Graph methods with graphjson.DecodeMethod", ErrInvalidInput)
}
