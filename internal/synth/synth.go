// Package synth builds synthetic directory snapshots for tests and
// benchmarks: tenants of any size whose users carry the method mixes of a
// real enterprise, as Microsoft Graph would return them.
//
// A synthetic tenant is deterministic for its seed. Every method is written
// as the Graph authenticationMethod object first and then decoded with
// graphjson.DecodeMethod, so methods carry their Raw JSON and a synthetic tenant
// round-trips through a snapshot exactly like one read from Graph.
//
// The population, by share of users (admins and break-glass accounts aside):
//
//	62%  password + Microsoft Authenticator, often a mobile phone, sometimes
//	     an office phone, an email address or a software OATH app
//	15%  telephony only: password + mobile phone, some with an office or
//	     alternate mobile phone
//	10%  password + Authenticator + phishing-resistant methods (FIDO2 keys,
//	     Windows Hello for Business, passkeys in Authenticator, macOS
//	     platform credentials)
//	 3%  password + a third-party software OATH app
//	 3%  password + two Authenticator registrations (a new phone added, the
//	     old one kept)
//	 3%  password only, some with an email address for password reset
//	1.5% password + hardware OATH token
//	1.5% many methods: two Authenticators, up to three keys, tokens,
//	     every phone type, Windows Hello, email
//	 1%  passwordless only: Windows Hello and security keys, no password
//
// On top of that about 1% of users hold a Temporary Access Pass (most of them
// expired), 0.3% a method type credres does not know (QR code + PIN,
// external MFA), and 5% of Authenticator users have passwordless phone
// sign-in in their registration report. About 1% are administrators with
// directory roles, and 30% are synchronised from on-premises. Tenants of 100
// users or more start with two break-glass accounts.
package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
)

// AsOf is the instant every synthetic tenant is a snapshot of: creation
// dates lie before it and Temporary Access Passes are usable or expired
// relative to it. Pass it as the current time when evaluating a synthetic
// tenant.
var AsOf = time.Date(2025, time.June, 2, 8, 0, 0, 0, time.UTC)

// BreakGlassGroup is the object id of the "Emergency access accounts" group
// the break-glass accounts of synthetic tenants (and of the sample tenant)
// belong to.
const BreakGlassGroup = "5d0f3c2a-9e8b-4c7d-a6f5-e4d3c2b1a0f9"

// Domain is the verified domain of synthetic users' principal names.
const Domain = "contoso.example"

// Well-known method ids: Graph gives every user's password, email and phone
// methods the same fixed ids.
const (
	passwordMethodID        = "28c10230-6103-485e-b985-444c60001490"
	emailMethodID           = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
	mobilePhoneMethodID     = "3179e48a-750b-4051-897c-87b9720928f7"
	alternateMobileMethodID = "b6332ec1-7057-4abe-9331-3d72feddfe41"
	officePhoneMethodID     = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
)

// Graph types credres does not model; they decode as unknown.
const (
	graphQRCodePin = "#microsoft.graph.qrCodePinAuthenticationMethod"
	graphExternal  = "#microsoft.graph.externalAuthenticationMethod"
)

// Tenant returns a synthetic tenant of the given number of users. The same
// seed always gives the same tenant. The tenant's password authentication
// (phs, pta or federated, with or without hash-sync fallback) is drawn from
// the seed too; callers studying one mode set d.Tenant afterwards, since the
// users do not depend on it.
func Tenant(users int, seed int64) *model.Directory {
	s := NewStream(users, seed)
	d := &model.Directory{Tenant: s.Tenant, Users: make([]model.User, 0, max(users, 0))}
	for u, ok := s.Next(); ok; u, ok = s.Next() {
		d.Users = append(d.Users, u)
	}
	return d
}

// Stream yields the users of Tenant(users, seed) one at a time, so that a
// tenant of millions of users can be written or replayed without holding
// it: the same tenant, user for user.
type Stream struct {
	// Tenant is the tenant of Tenant(users, seed).
	Tenant model.Tenant

	g     *generator
	users int
	next  int
}

// NewStream returns the stream of Tenant(users, seed).
func NewStream(users int, seed int64) *Stream {
	g := newGenerator(seed)
	return &Stream{Tenant: g.tenant(), g: g, users: users}
}

// Next returns the next user, or false after the last.
func (s *Stream) Next() (model.User, bool) {
	if s.next >= s.users {
		return model.User{}, false
	}
	s.next++
	if s.next <= 2 && s.users >= 100 {
		return s.g.breakGlass(s.next), true
	}
	return s.g.user(), true
}

type generator struct {
	rng    *rand.Rand
	upns   map[string]int
	groups []string // department groups; groups[0] is all employees
	admins string   // the IT administrators group
	config string   // external MFA configuration id
}

func newGenerator(seed int64) *generator {
	// The second PCG word is fixed so that the seed alone selects the stream.
	g := &generator{
		rng:  rand.New(rand.NewPCG(uint64(seed), 0x6372656472657321)),
		upns: make(map[string]int),
	}
	for range 13 {
		g.groups = append(g.groups, g.guid())
	}
	g.admins = g.guid()
	g.config = g.guid()
	return g
}

func (g *generator) tenant() model.Tenant {
	t := model.Tenant{ID: g.guid()}
	switch p := g.rng.IntN(10); {
	case p < 5:
		t.PasswordAuth = model.PasswordPHS
	case p < 8:
		t.PasswordAuth = model.PasswordPTA
		t.PHSFallback = g.chance(0.5)
	default:
		t.PasswordAuth = model.PasswordFederated
		t.PHSFallback = g.chance(0.5)
	}
	return t
}

// profile is one method mix of the population.
type profile int

const (
	profileStandard profile = iota
	profileTelephony
	profileStrong
	profileSoftwareOath
	profileTwoPhones
	profilePasswordOnly
	profileHardwareToken
	profileMany
	profilePasswordless
)

// profileWeights are per mille; they sum to 1000 (see the package doc).
var profileWeights = [...]struct {
	p profile
	w int
}{
	{profileStandard, 620},
	{profileTelephony, 150},
	{profileStrong, 100},
	{profileSoftwareOath, 30},
	{profileTwoPhones, 30},
	{profilePasswordOnly, 30},
	{profileHardwareToken, 15},
	{profileMany, 15},
	{profilePasswordless, 10},
}

func (g *generator) pickProfile() profile {
	n := g.rng.IntN(1000)
	for _, pw := range profileWeights {
		if n < pw.w {
			return pw.p
		}
		n -= pw.w
	}
	return profileStandard
}

var (
	firstNames = []string{
		"Adele", "Alex", "Allan", "Ben", "Bianca", "Brian", "Cameron", "Christie", "Debra", "Delia",
		"Diego", "Emily", "Enrico", "Gerhart", "Grady", "Henrietta", "Irvin", "Isaiah", "Johanna", "Joni",
		"Jordan", "Lee", "Lidia", "Lynne", "Mario", "Megan", "Miriam", "Nestor", "Patti", "Pradeep",
		"Raul", "Sofia", "Tomas", "Yuki", "Aisha", "Oliver", "Priya", "Lucas", "Marie", "Noah",
		"Emma", "Ryan", "Camille", "Hannah", "Kenji", "Fatima", "Mateo", "Ingrid", "Omar", "Chloe",
	}
	lastNames = []string{
		"Vance", "Wilber", "Deyoung", "Walters", "Pisani", "Johnson", "White", "Cline", "Berger", "Dennis",
		"Siciliani", "Braun", "Cattaneo", "Moller", "Archie", "Mueller", "Sayers", "Langer", "Lorenz", "Sherman",
		"Miller", "Gu", "Holloway", "Robbins", "Rogers", "Bowen", "Graham", "Wilke", "Fernandez", "Gupta",
		"Razo", "Ramirez", "Novak", "Tanaka", "Khan", "Bennett", "Nair", "Fischer", "Dubois", "Kim",
		"Clarke", "Oconnor", "Laurent", "Schmidt", "Sato", "Haddad", "Rossi", "Larsen", "Farouk", "Martin",
	}
	languages = []string{"en-US", "en-US", "en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "nl-NL", "ja-JP", "pt-BR"}
	// Directory roles of the administrators, most frequent first.
	adminRoles = []string{
		"Helpdesk Administrator", "User Administrator", "Exchange Administrator", "SharePoint Administrator",
		"Security Administrator", "Application Administrator", "Global Administrator", "Billing Administrator",
		"Authentication Administrator", "Privileged Role Administrator", "Conditional Access Administrator",
		"Security Reader", "Global Reader",
	}
	phones   = []string{"iPhone 15", "iPhone 15 Pro", "iPhone 14", "iPhone 13", "iPhone SE", "Pixel 8", "Pixel 7a", "Galaxy S23", "Galaxy A54", "moto g84"}
	keyTypes = []struct{ aaguid, model string }{
		{"cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"},
		{"ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 NFC"},
		{"a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa", "Security Key NFC by Yubico"},
		{"c5ef55ff-ad9a-4b9f-b580-ababafe026d0", "YubiKey 5Ci"},
		{"d8522d9f-575b-4866-88a9-ba99fa02f35b", "YubiKey Bio Series"},
	}
	areaCodes = []string{"206", "425", "312", "415", "617", "646", "713", "512", "303", "404"}
)

func (g *generator) user() model.User {
	first := firstNames[g.rng.IntN(len(firstNames))]
	last := lastNames[g.rng.IntN(len(lastNames))]
	local := strings.ToLower(first + "." + last)
	if n := g.upns[local]; n > 0 {
		g.upns[local] = n + 1
		local = fmt.Sprintf("%s%d", local, n+1)
	} else {
		g.upns[local] = 1
	}
	u := model.User{
		ID:                g.guid(),
		UserPrincipalName: local + "@" + Domain,
		DisplayName:       first + " " + last,
		Mail:              local + "@" + Domain,
		Groups:            []string{g.groups[0], g.groups[1+g.rng.IntN(len(g.groups)-1)]},
	}
	u.OnPremisesSyncEnabled = g.chance(0.30)
	if g.chance(0.30) {
		u.PreferredLanguage = languages[g.rng.IntN(len(languages))]
	}
	if g.chance(0.01) {
		g.admin(&u)
	} else {
		g.methods(&u, g.pickProfile())
	}
	if g.chance(0.01) {
		u.Methods = append(u.Methods, g.tap())
	}
	if g.chance(0.003) {
		if g.chance(0.5) {
			u.Methods = append(u.Methods, g.decode(unknownJSON{Type: graphQRCodePin, ID: g.guid(), Created: g.created(1)}))
		} else {
			u.Methods = append(u.Methods, g.decode(externalJSON{Type: graphExternal, ID: g.guid(), Created: g.created(2), ConfigurationID: g.config, DisplayName: "Partner MFA"}))
		}
	}
	if hasKind(u.Methods, model.KindAuthenticator) && g.chance(0.05) {
		u.MethodsRegistered = registered(u.Methods, true)
	}
	return u
}

// admin makes u an administrator: mostly cloud-only, some with two roles,
// about half with phishing-resistant methods as policy asks.
func (g *generator) admin(u *model.User) {
	u.OnPremisesSyncEnabled = g.chance(0.2)
	u.Roles = []string{adminRoles[g.skewed(len(adminRoles))]}
	if g.chance(0.2) {
		if r := adminRoles[g.skewed(len(adminRoles))]; r != u.Roles[0] {
			u.Roles = append(u.Roles, r)
		}
	}
	u.Groups = append(u.Groups, g.admins)
	u.Methods = []model.Method{g.password(), g.authenticator(5)}
	switch p := g.rng.IntN(100); {
	case p < 45:
		u.Methods = append(u.Methods, g.fido2(), g.windowsHello())
	case p < 80:
		u.Methods = append(u.Methods, g.phone("mobile"))
	default:
		u.Methods = []model.Method{u.Methods[0], g.phone("mobile")}
	}
}

// breakGlass returns emergency access account n: cloud-only, Global
// Administrator, a password in the safe and two FIDO2 keys.
func (g *generator) breakGlass(n int) model.User {
	return model.User{
		ID:                g.guid(),
		UserPrincipalName: fmt.Sprintf("breakglass%02d@%s", n, Domain),
		DisplayName:       fmt.Sprintf("Emergency Access %02d", n),
		Roles:             []string{"Global Administrator"},
		Groups:            []string{BreakGlassGroup},
		Methods:           []model.Method{g.password(), g.fido2(), g.fido2()},
	}
}

func (g *generator) methods(u *model.User, p profile) {
	m := []model.Method{g.password()}
	switch p {
	case profileStandard:
		m = append(m, g.authenticator(5))
		if g.chance(0.55) {
			m = append(m, g.phone("mobile"))
		}
		if g.chance(0.05) {
			m = append(m, g.phone("office"))
		}
		if g.chance(0.04) {
			m = append(m, g.softwareOath())
		}
		if g.chance(0.08) {
			m = append(m, g.email(u))
		}
	case profileTelephony:
		m = append(m, g.phone("mobile"))
		if g.chance(0.3) {
			m = append(m, g.phone("office"))
		}
		if g.chance(0.1) {
			m = append(m, g.phone("alternateMobile"))
		}
	case profileStrong:
		m = append(m, g.authenticator(5))
		switch p := g.rng.IntN(100); {
		case p < 35:
			m = append(m, g.windowsHello())
		case p < 60:
			m = append(m, g.fido2())
		case p < 75:
			m = append(m, g.fido2(), g.windowsHello())
		case p < 90:
			m = append(m, g.passkey())
		default:
			m = append(m, g.platformCredential())
		}
		if g.chance(0.3) {
			m = append(m, g.phone("mobile"))
		}
	case profileSoftwareOath:
		m = append(m, g.softwareOath())
		if g.chance(0.5) {
			m = append(m, g.phone("mobile"))
		}
	case profileTwoPhones:
		m = append(m, g.authenticator(5), g.authenticator(1))
	case profilePasswordOnly:
		if g.chance(0.3) {
			m = append(m, g.email(u))
		}
	case profileHardwareToken:
		m = append(m, g.hardwareOath(u))
		if g.chance(0.5) {
			m = append(m, g.phone("mobile"))
		}
	case profileMany:
		m = append(m, g.authenticator(5), g.authenticator(1), g.phone("mobile"), g.phone("alternateMobile"), g.phone("office"), g.softwareOath(), g.hardwareOath(u))
		for range 1 + g.rng.IntN(3) {
			m = append(m, g.fido2())
		}
		m = append(m, g.windowsHello(), g.email(u))
		if g.chance(0.5) {
			m = append(m, g.passkey())
		}
	case profilePasswordless:
		m = []model.Method{g.windowsHello(), g.fido2()}
		if g.chance(0.7) {
			m = append(m, g.fido2())
		}
	}
	u.Methods = m
}

// The Graph shapes of the methods, in Graph's field order.
type (
	passwordJSON struct {
		Type     string  `json:"@odata.type"`
		ID       string  `json:"id"`
		Password *string `json:"password"`
		Created  *string `json:"creationDateTime"`
	}
	phoneJSON struct {
		Type           string `json:"@odata.type"`
		ID             string `json:"id"`
		PhoneNumber    string `json:"phoneNumber"`
		PhoneType      string `json:"phoneType"`
		SMSSignInState string `json:"smsSignInState"`
	}
	emailJSON struct {
		Type         string `json:"@odata.type"`
		ID           string `json:"id"`
		EmailAddress string `json:"emailAddress"`
	}
	authenticatorJSON struct {
		Type            string `json:"@odata.type"`
		ID              string `json:"id"`
		DisplayName     string `json:"displayName"`
		DeviceTag       string `json:"deviceTag"`
		PhoneAppVersion string `json:"phoneAppVersion"`
		Created         string `json:"createdDateTime"`
	}
	softwareOathJSON struct {
		Type      string  `json:"@odata.type"`
		ID        string  `json:"id"`
		SecretKey *string `json:"secretKey"`
	}
	hardwareOathJSON struct {
		Type   string             `json:"@odata.type"`
		ID     string             `json:"id"`
		Device hardwareDeviceJSON `json:"device"`
	}
	hardwareDeviceJSON struct {
		ID           string       `json:"id"`
		DisplayName  string       `json:"displayName"`
		SerialNumber string       `json:"serialNumber"`
		Manufacturer string       `json:"manufacturer"`
		Model        string       `json:"model"`
		SecretKey    *string      `json:"secretKey"`
		TimeInterval int          `json:"timeIntervalInSeconds"`
		Status       string       `json:"status"`
		HashFunction string       `json:"hashFunction"`
		AssignedTo   identityJSON `json:"assignedTo"`
	}
	identityJSON struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	}
	fido2JSON struct {
		Type             string   `json:"@odata.type"`
		ID               string   `json:"id"`
		DisplayName      string   `json:"displayName"`
		Created          string   `json:"creationDateTime"`
		AAGUID           string   `json:"aaGuid"`
		Model            string   `json:"model"`
		Certificates     []string `json:"attestationCertificates"`
		AttestationLevel string   `json:"attestationLevel"`
	}
	windowsHelloJSON struct {
		Type        string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Created     string `json:"createdDateTime"`
		KeyStrength string `json:"keyStrength"`
	}
	platformCredentialJSON struct {
		Type        string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
		Created     string `json:"creationDateTime"`
		KeyStrength string `json:"keyStrength"`
		Platform    string `json:"platform"`
	}
	tapJSON struct {
		Type            string  `json:"@odata.type"`
		ID              string  `json:"id"`
		Pass            *string `json:"temporaryAccessPass"`
		Created         string  `json:"createdDateTime"`
		Start           string  `json:"startDateTime"`
		LifetimeMinutes int     `json:"lifetimeInMinutes"`
		UsableOnce      bool    `json:"isUsableOnce"`
		Usable          bool    `json:"isUsable"`
		UsabilityReason string  `json:"methodUsabilityReason"`
	}
	unknownJSON struct {
		Type    string `json:"@odata.type"`
		ID      string `json:"id"`
		Created string `json:"createdDateTime"`
	}
	externalJSON struct {
		Type            string `json:"@odata.type"`
		ID              string `json:"id"`
		Created         string `json:"createdDateTime"`
		ConfigurationID string `json:"configurationId"`
		DisplayName     string `json:"displayName"`
	}
)

// decode turns a Graph shape into a method the way a snapshot read would.
// The shapes are built here, so a failure is a bug in this package.
func (g *generator) decode(v any) model.Method {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("synth: encode %T: %v", v, err))
	}
	m, err := graphjson.DecodeMethod(data)
	if err != nil {
		panic(fmt.Sprintf("synth: decode %s: %v", data, err))
	}
	return m
}

func (g *generator) password() model.Method {
	p := passwordJSON{Type: model.GraphPassword, ID: passwordMethodID}
	// Graph reports no creation time for many older passwords.
	if g.chance(0.8) {
		c := g.created(6)
		p.Created = &c
	}
	return g.decode(p)
}

func (g *generator) phone(phoneType string) model.Method {
	p := phoneJSON{Type: model.GraphPhone, PhoneType: phoneType, SMSSignInState: "notSupported", PhoneNumber: g.phoneNumber()}
	switch phoneType {
	case "mobile":
		p.ID = mobilePhoneMethodID
		p.SMSSignInState = "notAllowedByPolicy"
		if g.chance(0.2) {
			p.SMSSignInState = "ready"
		}
	case "alternateMobile":
		p.ID = alternateMobileMethodID
	default:
		p.ID = officePhoneMethodID
	}
	return g.decode(p)
}

// phoneNumber returns a number from the fictitious 555-0100…0199 range, so
// numbers repeat across users; nothing in credres keys on them.
func (g *generator) phoneNumber() string {
	return fmt.Sprintf("+1 %s555%04d", areaCodes[g.rng.IntN(len(areaCodes))], 100+g.rng.IntN(100))
}

func (g *generator) email(u *model.User) model.Method {
	local, _, _ := strings.Cut(u.UserPrincipalName, "@")
	return g.decode(emailJSON{Type: model.GraphEmail, ID: emailMethodID, EmailAddress: local + "@fabrikam.example"})
}

// authenticator returns a Microsoft Authenticator registration created
// within the last years years.
func (g *generator) authenticator(years int) model.Method {
	device := phones[g.rng.IntN(len(phones))]
	version := fmt.Sprintf("6.2407.%d", 4000+g.rng.IntN(2000))
	if strings.HasPrefix(device, "iPhone") {
		version = fmt.Sprintf("6.8.%d", 4+g.rng.IntN(14))
	}
	return g.decode(authenticatorJSON{
		Type: model.GraphAuthenticator, ID: g.guid(), DisplayName: device,
		DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: version, Created: g.created(years),
	})
}

func (g *generator) softwareOath() model.Method {
	return g.decode(softwareOathJSON{Type: model.GraphSoftwareOath, ID: g.guid()})
}

func (g *generator) hardwareOath(u *model.User) model.Method {
	id := g.guid()
	return g.decode(hardwareOathJSON{Type: model.GraphHardwareOath, ID: id, Device: hardwareDeviceJSON{
		ID: id, DisplayName: u.DisplayName + " token", SerialNumber: fmt.Sprintf("C202-%08d", g.rng.IntN(100_000_000)),
		Manufacturer: "Token2", Model: "C202", TimeInterval: 30, Status: "activated", HashFunction: "hmacsha1",
		AssignedTo: identityJSON{ID: u.ID, DisplayName: u.DisplayName},
	}})
}

func (g *generator) fido2() model.Method {
	k := keyTypes[g.rng.IntN(len(keyTypes))]
	return g.decode(fido2JSON{
		Type: model.GraphFIDO2, ID: g.base64ID(22) + "2", DisplayName: k.model, Created: g.created(4),
		AAGUID: k.aaguid, Model: k.model, Certificates: []string{g.hex(40)}, AttestationLevel: "attested",
	})
}

// passkey returns a passkey held in Microsoft Authenticator (docs/DESIGN.md, Methods: it
// lives on the user's phone, not on a key).
func (g *generator) passkey() model.Method {
	aaguid, name := "de1e552d-db1d-4423-a619-566b625cdc84", "Microsoft Authenticator - Android"
	if g.chance(0.5) {
		aaguid, name = "90a3ccdf-635c-4729-a248-9b709135078f", "Microsoft Authenticator - iOS"
	}
	return g.decode(fido2JSON{
		Type: model.GraphFIDO2, ID: g.base64ID(42) + "1", DisplayName: name, Created: g.created(1),
		AAGUID: aaguid, Model: name, Certificates: []string{g.hex(40)}, AttestationLevel: "attested",
	})
}

func (g *generator) windowsHello() model.Method {
	return g.decode(windowsHelloJSON{
		Type: model.GraphWindowsHello, ID: g.guid(), DisplayName: fmt.Sprintf("CONTOSO-LT-%04d", g.rng.IntN(10000)),
		Created: g.created(4), KeyStrength: "normal",
	})
}

func (g *generator) platformCredential() model.Method {
	return g.decode(platformCredentialJSON{
		Type: model.GraphPlatformCredential, ID: g.base64ID(43) + "1", DisplayName: "MacBook Pro",
		Created: g.created(1), KeyStrength: "normal", Platform: "macOS",
	})
}

// tap returns a Temporary Access Pass: most were issued for onboarding or
// recovery weeks ago and have expired; some are within their lifetime.
func (g *generator) tap() model.Method {
	t := tapJSON{Type: model.GraphTemporaryAccess, ID: g.guid(), LifetimeMinutes: 60, UsableOnce: g.chance(0.5)}
	var start time.Time
	if g.chance(0.4) {
		start = AsOf.Add(-time.Duration(1+g.rng.IntN(300)) * time.Minute)
		t.LifetimeMinutes, t.Usable, t.UsabilityReason = 480, true, "InLifetime"
	} else {
		start = AsOf.Add(-time.Duration(2+g.rng.IntN(120)) * 24 * time.Hour)
		t.UsabilityReason = "Expired"
	}
	t.Created = start.Format(time.RFC3339)
	t.Start = t.Created
	return g.decode(t)
}

// registered returns the methodsRegistered list the registration report
// would give for methods.
func registered(methods []model.Method, passwordless bool) []string {
	names := map[model.MethodKind]string{
		model.KindMobilePhone: "mobilePhone", model.KindAlternateMobilePhone: "alternateMobilePhone",
		model.KindOfficePhone: "officePhone", model.KindAuthenticator: "microsoftAuthenticatorPush",
		model.KindSoftwareOath: "softwareOneTimePasscode", model.KindHardwareOath: "hardwareOneTimePasscode",
		model.KindFIDO2: "passKeyDeviceBound", model.KindPasskeyAuthenticator: "passKeyDeviceBoundAuthenticator",
		model.KindWindowsHello: "windowsHelloForBusiness", model.KindPlatformCredential: "macOsSecureEnclaveKey",
		model.KindEmail: "email", model.KindTemporaryAccessPass: "temporaryAccessPass",
	}
	var out []string
	seen := map[string]bool{}
	for _, m := range methods {
		if n, ok := names[m.Kind]; ok && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if passwordless {
		out = append(out, "microsoftAuthenticatorPasswordless")
	}
	return out
}

func hasKind(methods []model.Method, k model.MethodKind) bool {
	for _, m := range methods {
		if m.Kind == k {
			return true
		}
	}
	return false
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

// skewed returns an index in [0, n) favouring the front of the list.
func (g *generator) skewed(n int) int { return min(g.rng.IntN(n), g.rng.IntN(n)) }

// created returns a Graph timestamp within the last years years before AsOf,
// in one of the spellings Graph uses (with or without fractional seconds).
func (g *generator) created(years int) string {
	t := AsOf.Add(-time.Duration(g.rng.Int64N(int64(years) * 365 * 24 * int64(time.Hour))))
	if g.chance(0.3) {
		return t.Format("2006-01-02T15:04:05.0000000Z")
	}
	return t.Truncate(time.Second).Format(time.RFC3339)
}

// guid returns a random (version 4) GUID as Entra object ids are.
func (g *generator) guid() string {
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// base64ID returns n base64url characters, the shape of FIDO2 and platform
// credential method ids.
func (g *generator) base64ID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base64URL[g.rng.IntN(len(base64URL))]
	}
	return string(b)
}

func (g *generator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}
