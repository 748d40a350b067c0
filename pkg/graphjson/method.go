package graphjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/credres/credres/internal/graphtime"
	"github.com/credres/credres/internal/jsonkeys"
	"github.com/credres/credres/pkg/model"
)

// graphMethod is the union of the Graph fields credres reads. A field is
// set when the object has it with a value other than null, except the
// presence-only ones (password, secretKey, temporaryAccessPass), which only
// say that the object has the property, whatever its value.
type graphMethod struct {
	ODataType, LegacyODataType        opt[string]
	ID                                string
	DisplayName                       opt[string]
	CreatedDateTime, CreationDateTime opt[string]
	PhoneNumber, PhoneType            opt[string]
	LegacyPhoneType, SMSSignInState   opt[string]
	EmailAddress, AAGUID, Model       opt[string]
	AttestationLevel, DeviceTag       opt[string]
	PhoneAppVersion, KeyStrength      opt[string]
	Platform, StartDateTime           opt[string]
	UsabilityReason, ConfigurationID  opt[string]
	LifetimeInMins                    opt[int]
	IsUsableOnce, IsUsable            opt[bool]
	HasPassword, HasSecretKey, HasTAP bool
	Device                            *model.HardwareDevice
}

// opt is a property that may be absent (or null).
type opt[T any] struct {
	v  T
	ok bool
}

func (o opt[T]) or(zero T) T {
	if o.ok {
		return o.v
	}
	return zero
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
	l := newBytesLexer(data)
	var d methodDecoder
	var m model.Method
	err := d.decode(l, &m, graphType, true)
	if err == nil {
		err = l.end()
	}
	if err != nil {
		return model.Method{}, methodError(m.ID, err)
	}
	return m, nil
}

// methodError wraps a method's decoding error as invalid input, naming the
// method when its id is known.
func methodError(id string, err error) error {
	if errors.Is(err, model.ErrInvalidInput) {
		return err
	}
	if id != "" {
		return fmt.Errorf("decode method %s: %w: %v", id, model.ErrInvalidInput, err)
	}
	return fmt.Errorf("decode method: %w: %v", model.ErrInvalidInput, err)
}

// methodDecoder decodes methods from a lexer, one pass over each object.
// Its intern table shares the strings that repeat across a tenant's
// methods (types, phone models, fixed ids), so a million methods do not
// hold a million copies of "#microsoft.graph.passwordAuthenticationMethod".
type methodDecoder struct {
	vocab   *[fUnknown]recent // per property; nil for a single method
	unknown keySet            // the keys not read, to find repeats
}

// decode reads one method object into m; with raw, the method keeps its
// bytes. On error m.ID is the method's id when it was read.
func (d *methodDecoder) decode(l *lexer, m *model.Method, graphType string, raw bool) error {
	var g graphMethod
	var start mark
	if raw {
		var err error
		if start, err = l.hold(); err != nil {
			return err
		}
		defer l.release(start.saved)
	}
	if null, err := l.isNull(); err != nil {
		return err
	} else if !null {
		if err := d.fields(l, &g); err != nil {
			m.ID = g.ID
			return err
		}
	}
	if err := d.build(m, &g, graphType); err != nil {
		m.ID = g.ID
		return err
	}
	if raw {
		m.Raw = bytes.Clone(l.since(start))
	}
	return nil
}

// fields reads the properties of a method object into g.
func (d *methodDecoder) fields(l *lexer, g *graphMethod) error {
	if err := l.expect('{'); err != nil {
		return err
	}
	var seen fieldSet
	d.unknown.reset()
	ok, err := l.first('}')
	for ; ok && err == nil; ok, err = l.more('}') {
		key, plain, err := l.rawString()
		if err != nil {
			return err
		}
		f := methodField(key, plain)
		// The key is checked before the lexer reads on, which may refill
		// the buffer under it.
		if f == fUnknown {
			if plain {
				err = d.unknown.add(key)
			} else if s, derr := decodeString(key, false); derr == nil {
				err = d.unknown.add([]byte(s))
			}
		} else {
			err = seen.add(f, key)
		}
		if err != nil {
			return err
		}
		if err := l.expect(':'); err != nil {
			return err
		}
		if err := d.field(l, g, f); err != nil {
			return err
		}
	}
	return err
}

// The properties of graphMethod, by their Graph names.
var methodFieldNames = [...]string{
	"@odata.type", "odata.type", "id", "displayName", "createdDateTime", "creationDateTime",
	"phoneNumber", "phoneType", "authenticationPhoneType", "smsSignInState", "emailAddress",
	"aaGuid", "model", "attestationLevel", "deviceTag", "phoneAppVersion", "keyStrength",
	"platform", "password", "secretKey", "temporaryAccessPass", "startDateTime",
	"lifetimeInMinutes", "isUsableOnce", "isUsable", "methodUsabilityReason", "device",
	"configurationId",
}

const (
	fODataType = iota
	fLegacyODataType
	fID
	fDisplayName
	fCreatedDateTime
	fCreationDateTime
	fPhoneNumber
	fPhoneType
	fLegacyPhoneType
	fSMSSignInState
	fEmailAddress
	fAAGUID
	fModel
	fAttestationLevel
	fDeviceTag
	fPhoneAppVersion
	fKeyStrength
	fPlatform
	fPassword
	fSecretKey
	fTAP
	fStartDateTime
	fLifetimeInMinutes
	fIsUsableOnce
	fIsUsable
	fUsabilityReason
	fDevice
	fConfigurationID
	fUnknown
)

// methodField returns the property a key names: exactly, or else without
// regard to case, as encoding/json matches names.
func methodField(key []byte, plain bool) int {
	if !plain {
		s, err := decodeString(key, false)
		if err != nil {
			return fUnknown
		}
		key = []byte(s)
	}
	if f := methodFieldExact(key); f != fUnknown {
		return f
	}
	for i, name := range methodFieldNames {
		if foldEqual(key, name) {
			return i
		}
	}
	return fUnknown
}

func methodFieldExact(key []byte) int {
	switch string(key) {
	case "@odata.type":
		return fODataType
	case "odata.type":
		return fLegacyODataType
	case "id":
		return fID
	case "displayName":
		return fDisplayName
	case "createdDateTime":
		return fCreatedDateTime
	case "creationDateTime":
		return fCreationDateTime
	case "phoneNumber":
		return fPhoneNumber
	case "phoneType":
		return fPhoneType
	case "authenticationPhoneType":
		return fLegacyPhoneType
	case "smsSignInState":
		return fSMSSignInState
	case "emailAddress":
		return fEmailAddress
	case "aaGuid":
		return fAAGUID
	case "model":
		return fModel
	case "attestationLevel":
		return fAttestationLevel
	case "deviceTag":
		return fDeviceTag
	case "phoneAppVersion":
		return fPhoneAppVersion
	case "keyStrength":
		return fKeyStrength
	case "platform":
		return fPlatform
	case "password":
		return fPassword
	case "secretKey":
		return fSecretKey
	case "temporaryAccessPass":
		return fTAP
	case "startDateTime":
		return fStartDateTime
	case "lifetimeInMinutes":
		return fLifetimeInMinutes
	case "isUsableOnce":
		return fIsUsableOnce
	case "isUsable":
		return fIsUsable
	case "methodUsabilityReason":
		return fUsabilityReason
	case "device":
		return fDevice
	case "configurationId":
		return fConfigurationID
	}
	return fUnknown
}

// stringFields says where each string property of a method goes, and
// whether its values are the method's own (times, phone numbers,
// addresses: not interned) rather than shared across the tenant.
var stringFields = [fUnknown]struct {
	at  func(g *graphMethod) *opt[string]
	own bool
}{
	fODataType:        {func(g *graphMethod) *opt[string] { return &g.ODataType }, false},
	fLegacyODataType:  {func(g *graphMethod) *opt[string] { return &g.LegacyODataType }, false},
	fDisplayName:      {func(g *graphMethod) *opt[string] { return &g.DisplayName }, false},
	fCreatedDateTime:  {func(g *graphMethod) *opt[string] { return &g.CreatedDateTime }, true},
	fCreationDateTime: {func(g *graphMethod) *opt[string] { return &g.CreationDateTime }, true},
	fPhoneNumber:      {func(g *graphMethod) *opt[string] { return &g.PhoneNumber }, true},
	fPhoneType:        {func(g *graphMethod) *opt[string] { return &g.PhoneType }, false},
	fLegacyPhoneType:  {func(g *graphMethod) *opt[string] { return &g.LegacyPhoneType }, false},
	fSMSSignInState:   {func(g *graphMethod) *opt[string] { return &g.SMSSignInState }, false},
	fEmailAddress:     {func(g *graphMethod) *opt[string] { return &g.EmailAddress }, true},
	fAAGUID:           {func(g *graphMethod) *opt[string] { return &g.AAGUID }, false},
	fModel:            {func(g *graphMethod) *opt[string] { return &g.Model }, false},
	fAttestationLevel: {func(g *graphMethod) *opt[string] { return &g.AttestationLevel }, false},
	fDeviceTag:        {func(g *graphMethod) *opt[string] { return &g.DeviceTag }, false},
	fPhoneAppVersion:  {func(g *graphMethod) *opt[string] { return &g.PhoneAppVersion }, false},
	fKeyStrength:      {func(g *graphMethod) *opt[string] { return &g.KeyStrength }, false},
	fPlatform:         {func(g *graphMethod) *opt[string] { return &g.Platform }, false},
	fStartDateTime:    {func(g *graphMethod) *opt[string] { return &g.StartDateTime }, true},
	fUsabilityReason:  {func(g *graphMethod) *opt[string] { return &g.UsabilityReason }, false},
	fConfigurationID:  {func(g *graphMethod) *opt[string] { return &g.ConfigurationID }, false},
}

func (d *methodDecoder) field(l *lexer, g *graphMethod, f int) error {
	switch f {
	case fPassword, fSecretKey, fTAP:
		switch f {
		case fPassword:
			g.HasPassword = true
		case fSecretKey:
			g.HasSecretKey = true
		default:
			g.HasTAP = true
		}
		return l.skip(1)
	case fUnknown:
		return l.skip(1)
	case fLifetimeInMinutes:
		return optInt(l, &g.LifetimeInMins)
	case fIsUsableOnce:
		return optBool(l, &g.IsUsableOnce)
	case fIsUsable:
		return optBool(l, &g.IsUsable)
	case fDevice:
		return device(l, g)
	case fID:
		var id opt[string]
		if err := d.optString(l, &id, nil); err != nil {
			return err
		}
		if id.ok {
			g.ID = id.v
		}
		return nil
	}
	sf := stringFields[f]
	var intern stringTable
	if d.vocab != nil && !sf.own {
		intern = &d.vocab[f]
	}
	return d.optString(l, sf.at(g), intern)
}

// device reads a method's device whole, through encoding/json.
func device(l *lexer, g *graphMethod) error {
	raw, err := l.capture(1)
	if err != nil {
		return err
	}
	if err := jsonkeys.Check(raw, true); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	var dev *model.HardwareDevice
	if err := json.Unmarshal(raw, &dev); err != nil {
		return err
	}
	g.Device = dev
	return nil
}

// optString reads a string or null into dst; null leaves dst as it was, as
// encoding/json does.
func (d *methodDecoder) optString(l *lexer, dst *opt[string], intern stringTable) error {
	if null, err := l.isNull(); err != nil || null {
		if null {
			*dst = opt[string]{}
		}
		return err
	}
	s, err := d.str(l, intern)
	if err != nil {
		return err
	}
	*dst = opt[string]{s, true}
	return nil
}

// str reads a string token; interned strings share one copy per decoder.
func (d *methodDecoder) str(l *lexer, intern stringTable) (string, error) {
	c, err := l.peek()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", l.syntax(fmt.Sprintf("%q where a string was expected", c))
	}
	raw, plain, err := l.rawString()
	if err != nil {
		return "", err
	}
	if plain && intern != nil {
		return intern.get(raw), nil
	}
	return decodeString(raw, plain)
}

func optInt(l *lexer, dst *opt[int]) error {
	if null, err := l.isNull(); err != nil || null {
		if null {
			*dst = opt[int]{}
		}
		return err
	}
	c, err := l.peek()
	if err != nil {
		return err
	}
	if c != '-' && (c < '0' || c > '9') {
		return l.syntax(fmt.Sprintf("%q where a number was expected", c))
	}
	num, err := l.number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(num), 10, 0)
	if err != nil {
		return fmt.Errorf("lifetimeInMinutes %s is not an integer", num)
	}
	*dst = opt[int]{int(n), true}
	return nil
}

func optBool(l *lexer, dst *opt[bool]) error {
	if c, err := l.peek(); err != nil {
		return err
	} else if c != 't' && c != 'f' && c != 'n' {
		return l.syntax(fmt.Sprintf("%q where a boolean was expected", c))
	}
	c, err := l.literal()
	switch {
	case err != nil:
		return err
	case c == 'n':
		*dst = opt[bool]{}
	default:
		*dst = opt[bool]{c == 't', true}
	}
	return nil
}

// build turns the properties read into a method.
func (d *methodDecoder) build(m *model.Method, g *graphMethod, graphType string) error {
	*m = model.Method{ID: g.ID}
	switch {
	case g.ODataType.ok:
		m.GraphType = g.ODataType.v
	case g.LegacyODataType.ok:
		m.GraphType = g.LegacyODataType.v
	default:
		m.GraphType = graphType
	}
	if m.ID == "" {
		return fmt.Errorf("decode method: %w: no id", model.ErrInvalidInput)
	}
	m.DisplayName = g.DisplayName.or("")
	for _, ts := range []opt[string]{g.CreatedDateTime, g.CreationDateTime} {
		if ts.ok && ts.v != "" && m.Created.IsZero() {
			t, err := graphtime.Parse(ts.v)
			if err != nil {
				return fmt.Errorf("decode method %s: %w: created time %q", m.ID, model.ErrInvalidInput, ts.v)
			}
			m.Created = t
		}
	}
	m.PhoneNumber = g.PhoneNumber.or("")
	m.PhoneType = g.PhoneType.or("")
	if m.PhoneType == "" {
		m.PhoneType = g.LegacyPhoneType.or("")
	}
	m.SMSSignInState = g.SMSSignInState.or("")
	m.EmailAddress = g.EmailAddress.or("")
	m.AAGUID = g.AAGUID.or("")
	if !isLower(m.AAGUID) {
		m.AAGUID = strings.ToLower(m.AAGUID)
	}
	m.DeviceTag = g.DeviceTag.or("")
	m.PhoneAppVersion = g.PhoneAppVersion.or("")
	var det model.MethodDetails
	det.Model = g.Model.or("")
	det.AttestationLevel = g.AttestationLevel.or("")
	det.KeyStrength = g.KeyStrength.or("")
	det.Platform = g.Platform.or("")
	det.ConfigurationID = g.ConfigurationID.or("")
	if g.StartDateTime.ok && g.StartDateTime.v != "" {
		t, err := graphtime.Parse(g.StartDateTime.v)
		if err != nil {
			return fmt.Errorf("decode method %s: %w: start time %q", m.ID, model.ErrInvalidInput, g.StartDateTime.v)
		}
		det.TAPStart = t
	}
	det.TAPLifetimeMins = g.LifetimeInMins.or(0)
	det.TAPUsableOnce = g.IsUsableOnce.or(false)
	if g.IsUsable.ok {
		usable := g.IsUsable.v
		det.TAPUsable = &usable
	}
	det.TAPUsabilityNote = g.UsabilityReason.or("")
	if det != (model.MethodDetails{}) {
		m.Details = &det
	}
	m.Device = g.Device

	if m.GraphType == "" {
		m.GraphType = inferGraphType(g)
	}
	m.Kind = kindOf(m.GraphType, m.PhoneType, m.AAGUID)
	switch m.Kind {
	case model.KindPassword, model.KindEmail, model.KindMobilePhone, model.KindAlternateMobilePhone, model.KindOfficePhone:
		// Graph gives these methods the same fixed id for every user.
		if d.vocab != nil {
			m.ID = d.vocab[fID].getString(m.ID)
		}
	}
	return nil
}

func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' || s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
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
	case model.GraphExternal:
		return model.KindExternalMFA
	}
	return model.KindUnknown
}

// inferGraphType names the Graph type of an object that does not carry
// "@odata.type", from the properties that only one type has. It returns ""
// when nothing identifies the type; such a method is kept as unknown.
func inferGraphType(g *graphMethod) string {
	switch {
	case g.PhoneType.ok || g.LegacyPhoneType.ok || g.PhoneNumber.ok:
		return model.GraphPhone
	case g.EmailAddress.ok:
		return model.GraphEmail
	case g.AAGUID.ok || g.AttestationLevel.ok:
		return model.GraphFIDO2
	case g.Platform.ok:
		return model.GraphPlatformCredential
	case g.KeyStrength.ok:
		return model.GraphWindowsHello
	case g.DeviceTag.ok || g.PhoneAppVersion.ok:
		return model.GraphAuthenticator
	case g.Device != nil:
		return model.GraphHardwareOath
	case g.HasTAP || g.LifetimeInMins.ok || g.IsUsableOnce.ok:
		return model.GraphTemporaryAccess
	case g.HasPassword:
		return model.GraphPassword
	case g.HasSecretKey:
		return model.GraphSoftwareOath
	}
	return ""
}

// foldEqual reports whether key equals name without regard to case.
func foldEqual(key []byte, name string) bool {
	return strings.EqualFold(string(key), name)
}

// stringTable hands out shared copies of strings that repeat, so that a
// million methods do not hold a million copies of the same type name.
type stringTable interface {
	get(b []byte) string
}

// recent shares the first few distinct values of a property: the values
// that repeat (types, phone models, the fixed ids) are few and seen early.
// Looking them up is a few comparisons, cheaper than hashing.
type recent struct {
	s [16]string
	n int
}

func (r *recent) get(b []byte) string {
	for i := range r.n {
		if string(b) == r.s[i] {
			return r.s[i]
		}
	}
	return r.add(string(b))
}

func (r *recent) getString(s string) string {
	for i := range r.n {
		if s == r.s[i] {
			return r.s[i]
		}
	}
	return r.add(s)
}

func (r *recent) add(s string) string {
	if r.n < len(r.s) {
		r.s[r.n] = s
		r.n++
	}
	return s
}

// interner shares every value it has seen, up to a bound past which new
// values are returned as they are: for group ids and role names, which
// repeat across users but may be many.
type interner struct {
	m map[string]string
}

const maxInterned = 1 << 16

func (in *interner) get(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}
