package graphjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/credres/credres/internal/graphtime"
	"github.com/credres/credres/pkg/model"
)

// graphMethod is the union of the Graph fields credres reads.
type graphMethod struct {
	ODataType        *string               `json:"@odata.type"`
	LegacyODataType  *string               `json:"odata.type"` // old beta doc samples
	ID               string                `json:"id"`
	DisplayName      *string               `json:"displayName"`
	CreatedDateTime  *string               `json:"createdDateTime"`
	CreationDateTime *string               `json:"creationDateTime"`
	PhoneNumber      *string               `json:"phoneNumber"`
	PhoneType        *string               `json:"phoneType"`
	LegacyPhoneType  *string               `json:"authenticationPhoneType"`
	SMSSignInState   *string               `json:"smsSignInState"`
	EmailAddress     *string               `json:"emailAddress"`
	AAGUID           *string               `json:"aaGuid"`
	Model            *string               `json:"model"`
	AttestationLevel *string               `json:"attestationLevel"`
	DeviceTag        *string               `json:"deviceTag"`
	PhoneAppVersion  *string               `json:"phoneAppVersion"`
	KeyStrength      *string               `json:"keyStrength"`
	Platform         *string               `json:"platform"`
	Password         json.RawMessage       `json:"password"`
	SecretKey        json.RawMessage       `json:"secretKey"`
	TAP              json.RawMessage       `json:"temporaryAccessPass"`
	StartDateTime    *string               `json:"startDateTime"`
	LifetimeInMins   *int                  `json:"lifetimeInMinutes"`
	IsUsableOnce     *bool                 `json:"isUsableOnce"`
	IsUsable         *bool                 `json:"isUsable"`
	UsabilityReason  *string               `json:"methodUsabilityReason"`
	Device           *model.HardwareDevice `json:"device"`
}

// DecodeMethod decodes one Graph authenticationMethod object. The kind comes
// from "@odata.type" (or the legacy "odata.type"); when Graph omits it, as the
// per-type list endpoints do, it is inferred from the properties only that
// type has. Types credres does not know decode as model.KindUnknown with their
// Graph type kept.
func DecodeMethod(data []byte) (model.Method, error) {
	return DecodeMethodAs(data, "")
}

// DecodeMethodAs decodes a method whose Graph type is known from the request
// (a per-type collection such as /authentication/fido2Methods) when the object
// itself does not name it. A type inside the object wins.
func DecodeMethodAs(data []byte, graphType string) (model.Method, error) {
	var g graphMethod
	if err := json.Unmarshal(data, &g); err != nil {
		return model.Method{}, fmt.Errorf("decode method: %w: %v", model.ErrInvalidInput, err)
	}
	m := model.Method{ID: g.ID, Raw: append(json.RawMessage(nil), bytes.TrimSpace(data)...)}
	switch {
	case g.ODataType != nil:
		m.GraphType = *g.ODataType
	case g.LegacyODataType != nil:
		m.GraphType = *g.LegacyODataType
	default:
		m.GraphType = graphType
	}
	if m.ID == "" {
		return model.Method{}, fmt.Errorf("decode method: %w: no id", model.ErrInvalidInput)
	}
	m.DisplayName = str(g.DisplayName)
	for _, ts := range []*string{g.CreatedDateTime, g.CreationDateTime} {
		if ts != nil && *ts != "" && m.Created.IsZero() {
			t, err := graphtime.Parse(*ts)
			if err != nil {
				return model.Method{}, fmt.Errorf("decode method %s: %w: created time %q", m.ID, model.ErrInvalidInput, *ts)
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
		t, err := graphtime.Parse(*g.StartDateTime)
		if err != nil {
			return model.Method{}, fmt.Errorf("decode method %s: %w: start time %q", m.ID, model.ErrInvalidInput, *g.StartDateTime)
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
func DecodeMethodList(data []byte, graphType string) ([]model.Method, error) {
	var items []json.RawMessage
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, fmt.Errorf("decode method list: %w: %v", model.ErrInvalidInput, err)
		}
	} else {
		var page struct {
			Value *[]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(trimmed, &page); err != nil {
			return nil, fmt.Errorf("decode method list: %w: %v", model.ErrInvalidInput, err)
		}
		if page.Value == nil {
			return nil, fmt.Errorf("decode method list: %w: no \"value\" array", model.ErrInvalidInput)
		}
		items = *page.Value
	}
	methods := make([]model.Method, 0, len(items))
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

func kindOf(graphType, phoneType, aaguid string) model.MethodKind {
	switch graphType {
	case model.GraphPassword:
		return model.KindPassword
	case model.GraphPhone:
		switch strings.ToLower(phoneType) {
		case "mobile":
			return model.KindMobilePhone
		case "alternatemobile":
			return model.KindAlternateMobilePhone
		case "office":
			return model.KindOfficePhone
		}
		return model.KindUnknown
	case model.GraphEmail:
		return model.KindEmail
	case model.GraphFIDO2:
		if model.AuthenticatorAAGUIDs[aaguid] {
			return model.KindPasskeyAuthenticator
		}
		return model.KindFIDO2
	case model.GraphAuthenticator:
		return model.KindAuthenticator
	case model.GraphWindowsHello:
		return model.KindWindowsHello
	case model.GraphSoftwareOath:
		return model.KindSoftwareOath
	case model.GraphHardwareOath:
		return model.KindHardwareOath
	case model.GraphTemporaryAccess:
		return model.KindTemporaryAccessPass
	case model.GraphPlatformCredential:
		return model.KindPlatformCredential
	}
	return model.KindUnknown
}

// inferGraphType names the Graph type of an object that does not carry
// "@odata.type", from the properties that only one type has. It returns ""
// when nothing identifies the type; such a method is kept as unknown.
func inferGraphType(g *graphMethod) string {
	switch {
	case g.PhoneType != nil || g.LegacyPhoneType != nil || g.PhoneNumber != nil:
		return model.GraphPhone
	case g.EmailAddress != nil:
		return model.GraphEmail
	case g.AAGUID != nil || g.AttestationLevel != nil:
		return model.GraphFIDO2
	case g.Platform != nil:
		return model.GraphPlatformCredential
	case g.KeyStrength != nil:
		return model.GraphWindowsHello
	case g.DeviceTag != nil || g.PhoneAppVersion != nil:
		return model.GraphAuthenticator
	case g.Device != nil:
		return model.GraphHardwareOath
	case g.TAP != nil || g.LifetimeInMins != nil || g.IsUsableOnce != nil:
		return model.GraphTemporaryAccess
	case g.Password != nil:
		return model.GraphPassword
	case g.SecretKey != nil:
		return model.GraphSoftwareOath
	}
	return ""
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
