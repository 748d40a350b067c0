package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MethodKind is credres's name for a kind of authentication method (SPEC §3).
type MethodKind string

// The method kinds of SPEC §3.
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
	KindUnknown              MethodKind = "unknown"
)

// MethodKinds lists every kind in the order of SPEC §3.
var MethodKinds = []MethodKind{
	KindPassword, KindMobilePhone, KindAlternateMobilePhone, KindOfficePhone,
	KindAuthenticator, KindSoftwareOath, KindHardwareOath, KindFIDO2,
	KindPasskeyAuthenticator, KindWindowsHello, KindPlatformCredential,
	KindEmail, KindTemporaryAccessPass, KindUnknown,
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
// exports stay verbatim.
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

	AAGUID           string
	Model            string
	AttestationLevel string
	DeviceTag        string
	PhoneAppVersion  string
	KeyStrength      string
	Platform         string

	// Temporary Access Pass.
	TAPStart         time.Time
	TAPLifetimeMins  int
	TAPUsableOnce    bool
	TAPUsable        *bool
	TAPUsabilityNote string

	// Hardware OATH token.
	Device *HardwareDevice

	Raw json.RawMessage
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

// graphMethod is the union of the Graph fields credres reads.
type graphMethod struct {
	ODataType        *string         `json:"@odata.type"`
	LegacyODataType  *string         `json:"odata.type"` // old beta doc samples
	ID               string          `json:"id"`
	DisplayName      *string         `json:"displayName"`
	CreatedDateTime  *string         `json:"createdDateTime"`
	CreationDateTime *string         `json:"creationDateTime"`
	PhoneNumber      *string         `json:"phoneNumber"`
	PhoneType        *string         `json:"phoneType"`
	LegacyPhoneType  *string         `json:"authenticationPhoneType"`
	SMSSignInState   *string         `json:"smsSignInState"`
	EmailAddress     *string         `json:"emailAddress"`
	AAGUID           *string         `json:"aaGuid"`
	Model            *string         `json:"model"`
	AttestationLevel *string         `json:"attestationLevel"`
	DeviceTag        *string         `json:"deviceTag"`
	PhoneAppVersion  *string         `json:"phoneAppVersion"`
	KeyStrength      *string         `json:"keyStrength"`
	Platform         *string         `json:"platform"`
	Password         json.RawMessage `json:"password"`
	SecretKey        json.RawMessage `json:"secretKey"`
	TAP              json.RawMessage `json:"temporaryAccessPass"`
	StartDateTime    *string         `json:"startDateTime"`
	LifetimeInMins   *int            `json:"lifetimeInMinutes"`
	IsUsableOnce     *bool           `json:"isUsableOnce"`
	IsUsable         *bool           `json:"isUsable"`
	UsabilityReason  *string         `json:"methodUsabilityReason"`
	Device           *HardwareDevice `json:"device"`
}

// DecodeMethod decodes one Graph authenticationMethod object. The kind comes
// from "@odata.type" (or the legacy "odata.type"); when Graph omits it, as the
// per-type list endpoints do, it is inferred from the properties only that
// type has. Types credres does not know decode as KindUnknown with their
// Graph type kept.
func DecodeMethod(data []byte) (Method, error) {
	return DecodeMethodAs(data, "")
}

// DecodeMethodAs decodes a method whose Graph type is known from the request
// (a per-type collection such as /authentication/fido2Methods) when the object
// itself does not name it. A type inside the object wins.
func DecodeMethodAs(data []byte, graphType string) (Method, error) {
	var g graphMethod
	if err := json.Unmarshal(data, &g); err != nil {
		return Method{}, fmt.Errorf("decode method: %w: %v", ErrInvalidInput, err)
	}
	m := Method{ID: g.ID, Raw: append(json.RawMessage(nil), bytes.TrimSpace(data)...)}
	switch {
	case g.ODataType != nil:
		m.GraphType = *g.ODataType
	case g.LegacyODataType != nil:
		m.GraphType = *g.LegacyODataType
	default:
		m.GraphType = graphType
	}
	if m.ID == "" {
		return Method{}, fmt.Errorf("decode method: %w: no id", ErrInvalidInput)
	}
	m.DisplayName = str(g.DisplayName)
	for _, ts := range []*string{g.CreatedDateTime, g.CreationDateTime} {
		if ts != nil && *ts != "" && m.Created.IsZero() {
			t, err := parseGraphTime(*ts)
			if err != nil {
				return Method{}, fmt.Errorf("decode method %s: %w: created time %q", m.ID, ErrInvalidInput, *ts)
			}
			m.Created = t
		}
	}
	m.PhoneNumber = str(g.PhoneNumber)
	m.PhoneType = str(g.PhoneType)
	if m.PhoneType == "" {
		m.PhoneType = str(g.LegacyPhoneType)
	}
	m.SMSSignInState = str(g.SMSSignInState)
	m.EmailAddress = str(g.EmailAddress)
	m.AAGUID = strings.ToLower(str(g.AAGUID))
	m.Model = str(g.Model)
	m.AttestationLevel = str(g.AttestationLevel)
	m.DeviceTag = str(g.DeviceTag)
	m.PhoneAppVersion = str(g.PhoneAppVersion)
	m.KeyStrength = str(g.KeyStrength)
	m.Platform = str(g.Platform)
	if g.StartDateTime != nil && *g.StartDateTime != "" {
		t, err := parseGraphTime(*g.StartDateTime)
		if err != nil {
			return Method{}, fmt.Errorf("decode method %s: %w: start time %q", m.ID, ErrInvalidInput, *g.StartDateTime)
		}
		m.TAPStart = t
	}
	if g.LifetimeInMins != nil {
		m.TAPLifetimeMins = *g.LifetimeInMins
	}
	if g.IsUsableOnce != nil {
		m.TAPUsableOnce = *g.IsUsableOnce
	}
	m.TAPUsable = g.IsUsable
	m.TAPUsabilityNote = str(g.UsabilityReason)
	m.Device = g.Device

	if m.GraphType == "" {
		m.GraphType = inferGraphType(&g)
	}
	m.Kind = kindOf(m.GraphType, m.PhoneType, m.AAGUID)
	return m, nil
}

// DecodeMethodList decodes a Graph collection response {"value":[…]} or a
// bare JSON array of method objects. A malformed item is an error naming its
// position; the items before and after it are still returned.
func DecodeMethodList(data []byte, graphType string) ([]Method, error) {
	var items []json.RawMessage
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, fmt.Errorf("decode method list: %w: %v", ErrInvalidInput, err)
		}
	} else {
		var page struct {
			Value *[]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(trimmed, &page); err != nil {
			return nil, fmt.Errorf("decode method list: %w: %v", ErrInvalidInput, err)
		}
		if page.Value == nil {
			return nil, fmt.Errorf("decode method list: %w: no \"value\" array", ErrInvalidInput)
		}
		items = *page.Value
	}
	methods := make([]Method, 0, len(items))
	var errs []error
	for i, raw := range items {
		m, err := DecodeMethodAs(raw, graphType)
		if err != nil {
			errs = append(errs, fmt.Errorf("method %d: %w", i, err))
			continue
		}
		methods = append(methods, m)
	}
	return methods, errors.Join(errs...)
}

func kindOf(graphType, phoneType, aaguid string) MethodKind {
	switch graphType {
	case GraphPassword:
		return KindPassword
	case GraphPhone:
		switch strings.ToLower(phoneType) {
		case "mobile":
			return KindMobilePhone
		case "alternatemobile":
			return KindAlternateMobilePhone
		case "office":
			return KindOfficePhone
		}
		return KindUnknown
	case GraphEmail:
		return KindEmail
	case GraphFIDO2:
		if AuthenticatorAAGUIDs[aaguid] {
			return KindPasskeyAuthenticator
		}
		return KindFIDO2
	case GraphAuthenticator:
		return KindAuthenticator
	case GraphWindowsHello:
		return KindWindowsHello
	case GraphSoftwareOath:
		return KindSoftwareOath
	case GraphHardwareOath:
		return KindHardwareOath
	case GraphTemporaryAccess:
		return KindTemporaryAccessPass
	case GraphPlatformCredential:
		return KindPlatformCredential
	}
	return KindUnknown
}

// inferGraphType names the Graph type of an object that does not carry
// "@odata.type", from the properties that only one type has. It returns ""
// when nothing identifies the type; such a method is kept as unknown.
func inferGraphType(g *graphMethod) string {
	switch {
	case g.PhoneType != nil || g.LegacyPhoneType != nil || g.PhoneNumber != nil:
		return GraphPhone
	case g.EmailAddress != nil:
		return GraphEmail
	case g.AAGUID != nil || g.AttestationLevel != nil:
		return GraphFIDO2
	case g.Platform != nil:
		return GraphPlatformCredential
	case g.KeyStrength != nil:
		return GraphWindowsHello
	case g.DeviceTag != nil || g.PhoneAppVersion != nil:
		return GraphAuthenticator
	case g.Device != nil:
		return GraphHardwareOath
	case g.TAP != nil || g.LifetimeInMins != nil || g.IsUsableOnce != nil:
		return GraphTemporaryAccess
	case g.Password != nil:
		return GraphPassword
	case g.SecretKey != nil:
		return GraphSoftwareOath
	}
	return ""
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
	put("model", m.Model)
	put("attestationLevel", m.AttestationLevel)
	put("deviceTag", m.DeviceTag)
	put("phoneAppVersion", m.PhoneAppVersion)
	put("keyStrength", m.KeyStrength)
	put("platform", m.Platform)
	if m.GraphType == GraphTemporaryAccess {
		if !m.TAPStart.IsZero() {
			obj["startDateTime"] = m.TAPStart.UTC().Format(time.RFC3339)
		}
		obj["lifetimeInMinutes"] = m.TAPLifetimeMins
		obj["isUsableOnce"] = m.TAPUsableOnce
		if m.TAPUsable != nil {
			obj["isUsable"] = *m.TAPUsable
		}
		put("methodUsabilityReason", m.TAPUsabilityNote)
	}
	if m.Device != nil {
		obj["device"] = m.Device
	}
	return json.Marshal(obj)
}

// UnmarshalJSON decodes a Graph method object (see DecodeMethod).
func (m *Method) UnmarshalJSON(data []byte) error {
	dm, err := DecodeMethod(data)
	if err != nil {
		return err
	}
	*m = dm
	return nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// parseGraphTime accepts the timestamp spellings Graph uses: RFC 3339 with or
// without fractional seconds, with "Z" or an offset.
func parseGraphTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// Some records omit the zone; Graph times are UTC.
	return time.Parse("2006-01-02T15:04:05.9999999", s)
}
