package graphjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/credres/credres/internal/jsonkeys"
	"github.com/credres/credres/pkg/model"
)

// The streaming decoder must read every snapshot exactly as encoding/json
// reads it. referenceDirectory is the decoder it replaced: encoding/json
// for the document and for each method, kept here as the specification.
//
// Beyond encoding/json, a snapshot that is null, or whose users are null, is
// invalid, and so is a key given twice (compared without regard to case,
// as encoding/json matches keys) in the objects credres reads: the
// document, the tenant and all inside it, a user and all inside its
// properties, a method and all inside its device (referenceDuplicates).
func referenceDirectory(data []byte) (*model.Directory, error) {
	if err := referenceDuplicates(data); err != nil {
		return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
	}
	var raw struct {
		ExportedAt time.Time    `json:"exportedAt"`
		Tenant     model.Tenant `json:"tenant"`
		Users      []struct {
			model.User
			Methods []json.RawMessage `json:"methods"`
		} `json:"users"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
	}
	if raw.Users == nil && !bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		var users struct {
			Users json.RawMessage `json:"users"`
		}
		if json.Unmarshal(data, &users) == nil && string(users.Users) == "null" {
			return nil, fmt.Errorf("%w: users is null", model.ErrInvalidInput)
		}
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil, fmt.Errorf("%w: the snapshot is null", model.ErrInvalidInput)
	}
	d := model.Directory{ExportedAt: raw.ExportedAt, Tenant: raw.Tenant, Users: make([]model.User, len(raw.Users))}
	for i, u := range raw.Users {
		d.Users[i] = u.User
		if u.Methods == nil {
			continue
		}
		d.Users[i].Methods = make([]model.Method, len(u.Methods))
		for j, m := range u.Methods {
			dm, err := referenceMethod(m)
			if err != nil {
				return nil, err
			}
			d.Users[i].Methods[j] = dm
		}
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// referenceDuplicates finds a key given twice where the decoder must: it
// takes the snapshot apart with encoding/json and checks each part.
func referenceDuplicates(data []byte) error {
	if !json.Valid(data) {
		return nil // encoding/json reports it
	}
	if err := jsonkeys.Check(data, false); err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(data, &doc) != nil {
		return nil
	}
	for k, v := range doc {
		switch strings.ToLower(k) {
		case "tenant":
			if err := jsonkeys.Check(v, true); err != nil {
				return err
			}
		case "users":
			var users []json.RawMessage
			if json.Unmarshal(v, &users) != nil {
				return nil
			}
			for _, u := range users {
				if err := referenceUserDuplicates(u); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func referenceUserDuplicates(u json.RawMessage) error {
	if err := jsonkeys.Check(u, false); err != nil {
		return err
	}
	var props map[string]json.RawMessage
	if json.Unmarshal(u, &props) != nil {
		return nil
	}
	for k, v := range props {
		if !strings.EqualFold(k, "methods") {
			if err := jsonkeys.Check(v, true); err != nil {
				return err
			}
			continue
		}
		var methods []json.RawMessage
		if json.Unmarshal(v, &methods) != nil {
			return nil
		}
		for _, m := range methods {
			if err := jsonkeys.Check(m, false); err != nil {
				return err
			}
			var mprops map[string]json.RawMessage
			if json.Unmarshal(m, &mprops) != nil {
				continue
			}
			for k, v := range mprops {
				if strings.EqualFold(k, "device") {
					if err := jsonkeys.Check(v, true); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func referenceMethod(data []byte) (model.Method, error) {
	var g struct {
		ODataType        *string               `json:"@odata.type"`
		LegacyODataType  *string               `json:"odata.type"`
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
		ConfigurationID  *string               `json:"configurationId"`
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
	if err := json.Unmarshal(data, &g); err != nil {
		return model.Method{}, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	// The same graphMethod the decoder builds from, filled from g.
	gm := graphMethod{ID: g.ID, Device: g.Device,
		HasPassword: g.Password != nil, HasSecretKey: g.SecretKey != nil, HasTAP: g.TAP != nil}
	for _, f := range []struct {
		p   *string
		dst *opt[string]
	}{
		{g.ODataType, &gm.ODataType}, {g.LegacyODataType, &gm.LegacyODataType}, {g.DisplayName, &gm.DisplayName},
		{g.CreatedDateTime, &gm.CreatedDateTime}, {g.CreationDateTime, &gm.CreationDateTime},
		{g.PhoneNumber, &gm.PhoneNumber}, {g.PhoneType, &gm.PhoneType}, {g.LegacyPhoneType, &gm.LegacyPhoneType},
		{g.SMSSignInState, &gm.SMSSignInState}, {g.EmailAddress, &gm.EmailAddress}, {g.AAGUID, &gm.AAGUID},
		{g.Model, &gm.Model}, {g.AttestationLevel, &gm.AttestationLevel}, {g.DeviceTag, &gm.DeviceTag},
		{g.PhoneAppVersion, &gm.PhoneAppVersion}, {g.KeyStrength, &gm.KeyStrength}, {g.Platform, &gm.Platform},
		{g.StartDateTime, &gm.StartDateTime}, {g.UsabilityReason, &gm.UsabilityReason}, {g.ConfigurationID, &gm.ConfigurationID},
	} {
		*f.dst = opt[string]{str(f.p), f.p != nil}
	}
	if g.LifetimeInMins != nil {
		gm.LifetimeInMins = opt[int]{*g.LifetimeInMins, true}
	}
	if g.IsUsableOnce != nil {
		gm.IsUsableOnce = opt[bool]{*g.IsUsableOnce, true}
	}
	if g.IsUsable != nil {
		gm.IsUsable = opt[bool]{*g.IsUsable, true}
	}
	var m model.Method
	var d methodDecoder
	if err := d.build(&m, &gm, ""); err != nil {
		return model.Method{}, err
	}
	m.Raw = append(json.RawMessage(nil), bytes.TrimSpace(data)...)
	return m, nil
}

// agreementCases are snapshots written to catch a hand-written decoder out:
// escapes, non-ASCII and invalid UTF-8, keys in other cases, nulls for
// every field, unknown fields of every shape, odd key order.
var agreementCases = []struct {
	name, json string
	valid      bool
}{
	{"exported-devices-registration", `{"exportedAt":"2026-12-01T08:30:00.5+01:00","tenant":{"id":"t"},"users":[{"id":"u1","devices":[{"id":"d1","operatingSystem":"MacMDM","trustType":"AzureAd","owned":true}],"registrationDetails":{"isSsprRegistered":false,"systemPreferredAuthenticationMethods":["push"]}},{"id":"u2","devices":[]},{"id":"u3","devices":null}]}`, true},
	{"escapes-and-unicode", `{"tenant":{"id":"t"},"users":[{"id":"u1","userPrincipalName":"ren\u00e9e@contoso.example","displayName":"Ren\u00e9e \"R\" M\u00fcller \ud83d\ude00","mail":"a\/b","methods":[{"@odata.type":"#microsoft.graph.microsoftAuthenticatorAuthenticationMethod","id":"a\u0031","displayName":"Pixel\t8","deviceTag":"SoftwareTokenActivated"}]}]}`, true},
	{"raw-utf8-and-invalid-utf8", "{\"users\":[{\"id\":\"u1\",\"displayName\":\"J\xc3\xbcrgen \xff\xfe\",\"methods\":[{\"@odata.type\":\"#microsoft.graph.passwordAuthenticationMethod\",\"id\":\"p\xe2\x82\xac\"}]}]}", true},
	{"keys-in-other-cases", `{"Tenant":{"ID":"t","PasswordAuth":"phs"},"USERS":[{"Id":"u1","UserPrincipalName":"x@y","OnPremisesSyncEnabled":true,"Roles":["Global Administrator"],"METHODS":[{"@ODATA.TYPE":"#microsoft.graph.phoneAuthenticationMethod","ID":"m","PhoneType":"mobile","PHONENUMBER":"+1 555"}]}]}`, true},
	{"nulls-everywhere", `{"tenant":null,"users":[{"id":"u1","userPrincipalName":null,"userType":null,"eligibleRoles":null,"displayName":null,"mail":null,"preferredLanguage":null,"onPremisesSyncEnabled":null,"accountEnabled":null,"roles":null,"groups":[null,"g"],"methods":[{"id":"p","password":null,"displayName":null,"createdDateTime":null,"creationDateTime":null,"lifetimeInMinutes":null,"isUsable":null,"isUsableOnce":null,"device":null,"@odata.type":null}],"methodsRegistered":null},{"id":"u2","methods":null},{"id":"u3","methods":[]}]}`, true},
	{"inferred-types", `{"users":[{"id":"u","methods":[{"id":"1","secretKey":null},{"id":"2","temporaryAccessPass":"x","lifetimeInMinutes":60,"isUsableOnce":true,"startDateTime":"2024-01-01T00:00:00.1234567Z"},{"id":"3","device":{"serialNumber":"S","Status":"activated","extra":[1,{"a":null}]}},{"id":"4","aaGuid":"DE1E552D-DB1D-4423-A619-566B625CDC84"},{"id":"5","keyStrength":"normal"},{"id":"6","platform":"macOS"},{"id":"7","authenticationPhoneType":"office"},{"id":"8","emailAddress":"a@b"},{"odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"9","model":"YubiKey","attestationLevel":"attested"}]}]}`, true},
	{"unknown-fields-of-every-shape", `{"odata.context":"x","tenant":{"id":"t","extra":{"a":[1,2.5e-3,-0,true,false,null,"s"]}},"users":[{"id":"u","extra":[[[]]],"usage":[{"kind":"fido2","lastUsed":"2025-01-01T00:00:00Z"}],"methods":[{"id":"p","@odata.type":"#microsoft.graph.passwordAuthenticationMethod","n":-12.5E+3,"o":{"p":{}}}]}],"trailer":{}}`, true},
	{"users-before-tenant", ` { "users" : [ { "methods" : [ ] , "id" : "u" } ] , "tenant" : { "passwordAuth" : "pta" , "phsFallback" : true } } `, true},
	{"no-users", `{"tenant":{"id":"t"}}`, true},

	{"trailing-garbage", `{"users":[]} x`, false},
	{"truncated", `{"users":[{"id":"u","methods":[{"id":"p"`, false},
	{"bad-escape", `{"users":[{"id":"\q"}]}`, false},
	{"bad-unicode-escape", `{"users":[{"id":"\u12G4"}]}`, false},
	{"control-character", "{\"users\":[{\"id\":\"a\nb\"}]}", false},
	{"fractional-lifetime", `{"users":[{"id":"u","methods":[{"id":"t","lifetimeInMinutes":1.5}]}]}`, false},
	{"number-id", `{"users":[{"id":5}]}`, false},
	{"string-bool", `{"users":[{"id":"u","onPremisesSyncEnabled":"true"}]}`, false},
	{"users-not-array", `{"users":{}}`, false},
	{"leading-zero", `{"users":[],"n":01}`, false},
	{"bare-minus", `{"users":[],"n":-}`, false},
	{"dot-without-digits", `{"users":[],"n":1.}`, false},
	{"exponent-without-digits", `{"users":[],"n":1e}`, false},
	{"bad-literal", `{"users":[],"n":tru}`, false},
	{"method-not-object", `{"users":[{"id":"u","methods":[5]}]}`, false},
	{"method-without-id", `{"users":[{"id":"u","methods":[{"displayName":"x"}]}]}`, false},
	{"bad-time", `{"users":[{"id":"u","methods":[{"id":"m","createdDateTime":"yesterday"}]}]}`, false},
	{"duplicate-user", `{"users":[{"id":"u"},{"id":"u"}]}`, false},
	{"bad-password-auth", `{"tenant":{"passwordAuth":"ldap"},"users":[]}`, false},
	{"missing-comma", `{"users":[{"id":"u"} {"id":"v"}]}`, false},
	{"empty", ``, false},

	// Null where the snapshot or its users must be, and keys given twice.
	{"top-level-null", `null`, false},
	{"users-null", `{"tenant":{"id":"t"},"users":null}`, false},
	{"repeated-user-key", `{"users":[{"id":"u","id":"v","methods":[{"id":"a"}]}]}`, false},
	{"repeated-user-key-in-another-case", `{"users":[{"id":"u","ID":"v"}]}`, false},
	{"repeated-method-key", `{"users":[{"id":"u","methods":[{"id":"a","id":"b"}]}]}`, false},
	{"repeated-unknown-method-key", `{"users":[{"id":"u","methods":[{"id":"a","x":1,"X":2}]}]}`, false},
	{"repeated-key-in-device", `{"users":[{"id":"u","methods":[{"id":"a","device":{"serialNumber":"1","serialNumber":"2"}}]}]}`, false},
	{"repeated-unknown-user-key", `{"users":[{"id":"u","usage":[],"usage":[]}]}`, false},
	{"repeated-key-inside-a-user-property", `{"users":[{"id":"u","usage":[{"kind":"fido2","kind":"sms"}]}]}`, false},
	{"repeated-users", `{"users":[],"users":[{"id":"u"}]}`, false},
	{"repeated-tenant-key", `{"tenant":{"id":"a","id":"b"},"users":[]}`, false},
	{"repeated-key-deep-in-tenant", `{"tenant":{"id":"a","x":{"y":1,"y":2}},"users":[]}`, false},
	{"repeated-unknown-document-key", `{"users":[],"odata.context":"a","odata.context":"b"}`, false},
	{"repeated-key-in-unread-value", `{"users":[{"id":"u","methods":[{"id":"a","extra":{"b":1,"b":2}}]}],"x":{"c":1,"c":2}}`, true},
	{"repeated-key-in-distinct-objects", `{"users":[{"id":"u","methods":[{"id":"a"},{"id":"b"}]},{"id":"v"}]}`, true},
	{"bad-method-among-good-users", `{"users":[{"id":"u"},{"id":"v","methods":[{"id":"m","createdDateTime":"yesterday"}]},{"id":"w"}]}`, false},
}

func TestStreamingAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	inputs := map[string][]byte{}
	for _, c := range agreementCases {
		inputs[c.name] = []byte(c.json)
	}
	for _, f := range []string{"../../events/tenant.json", "../../events/tenant-after.json"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkAgreement(t, data)
		})
	}
	for _, c := range agreementCases {
		if _, err := DecodeDirectory(bytes.NewReader([]byte(c.json))); (err == nil) != c.valid {
			t.Errorf("%s: err %v, want valid=%v", c.name, err, c.valid)
		}
	}
}

// checkAgreement decodes data with the reference and with the streaming
// decoder, from a whole buffer and one byte at a time (every token split
// across reads), with and without the methods' raw bytes.
func checkAgreement(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := referenceDirectory(data)
	for _, tc := range []struct {
		name string
		read func() (*model.Directory, error)
		raw  bool
	}{
		{"whole", func() (*model.Directory, error) { return DecodeDirectory(bytes.NewReader(data)) }, true},
		{"byte-by-byte", func() (*model.Directory, error) {
			return DecodeDirectory(iotest.OneByteReader(bytes.NewReader(data)))
		}, true},
		{"in-odd-chunks", func() (*model.Directory, error) {
			return DecodeDirectory(&chunkReader{data: data})
		}, true},
		{"without-raw", func() (*model.Directory, error) {
			return DecodeDirectoryWith(iotest.HalfReader(bytes.NewReader(data)), DirectoryOptions{})
		}, false},
		{"streamed", func() (*model.Directory, error) { return streamed(&chunkReader{data: data}, 3) }, false},
	} {
		got, err := tc.read()
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: err %v, encoding/json err %v", tc.name, err, wantErr)
		}
		if err != nil {
			if !errors.Is(err, model.ErrInvalidInput) {
				t.Fatalf("%s: error not classified: %v", tc.name, err)
			}
			continue
		}
		w := want
		if !tc.raw {
			w = withoutRaw(want)
		}
		if got.ExportedAt.Equal(w.ExportedAt) {
			got.ExportedAt = w.ExportedAt // the same instant; zones parse to distinct pointers
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("%s: decoders differ:\n got %s\nwant %s", tc.name, dump(got), dump(w))
		}
	}
}

// streamed reads a snapshot with StreamDirectory, in batches of batch
// users, into a directory, with DecodeDirectory's errors.
func streamed(r io.Reader, batch int) (*model.Directory, error) {
	var d *model.Directory
	var users []model.User
	invalid, err := StreamDirectory(r, DirectoryOptions{}, Stream{
		Head: func(h *model.Directory) error {
			if d != nil || h.Users != nil {
				return errors.New("head called twice, or with users")
			}
			d = h
			return nil
		},
		Users: func(us []model.User) error {
			if d == nil {
				return errors.New("users before head")
			}
			if len(us) == 0 || len(us) > batch {
				return fmt.Errorf("a batch of %d users, want 1 to %d", len(us), batch)
			}
			users = append(users, us...)
			return nil
		},
		Batch: batch,
	})
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errors.New("head never called")
	}
	d.Users = append([]model.User{}, users...)
	return d, invalid
}

// chunkReader returns data in chunks of changing odd sizes, so that over a
// large input every kind of token is split between reads and the lexer's
// buffer fills, moves and grows at every kind of place.
type chunkReader struct {
	data []byte
	n    int
}

var chunkSizes = []int{1, 4093, 7, 65521, 3, 1021, 13, 16381, 2, 257, 31}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	size := min(chunkSizes[c.n%len(chunkSizes)], len(p), len(c.data))
	c.n++
	copy(p, c.data[:size])
	c.data = c.data[size:]
	return size, nil
}

// CheckAgreement is checkAgreement for the external tests, which may use
// internal/synth (it imports this package).
var CheckAgreement = checkAgreement

func withoutRaw(d *model.Directory) *model.Directory {
	c := *d
	c.Users = make([]model.User, len(d.Users))
	copy(c.Users, d.Users)
	for i := range c.Users {
		if c.Users[i].Methods == nil {
			continue
		}
		ms := append([]model.Method{}, c.Users[i].Methods...)
		for j := range ms {
			ms[j].Raw = nil
		}
		c.Users[i].Methods = ms
	}
	return &c
}

func dump(d *model.Directory) string {
	var b strings.Builder
	fmt.Fprintf(&b, "exportedAt %s tenant %+v\n", d.ExportedAt, d.Tenant)
	for _, u := range d.Users {
		fmt.Fprintf(&b, "user %+v\n", u)
		for _, m := range u.Methods {
			fmt.Fprintf(&b, "  method %+v details %+v raw %s\n", m, m.Detail(), m.Raw)
		}
	}
	return b.String()
}

func FuzzDecodeDirectory(f *testing.F) {
	for _, c := range agreementCases {
		f.Add([]byte(c.json))
	}
	if data, err := os.ReadFile("../../events/tenant.json"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgreement(t, data)
	})
}
