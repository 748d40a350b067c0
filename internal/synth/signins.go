package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// SignInStream describes a stream of Entra sign-in records over a tenant's
// users, as the diagnostic setting delivers the sign-in categories to Event
// Hubs (the shape of the samples in events/signin).
//
// The mix, by share of records:
//
//	73%  non-interactive user sign-ins (NonInteractiveUserSignInLogs): token
//	     refreshes by apps, nine in ten "Previously satisfied" by a claim in
//	     the token (they prove nothing); the others, for users with Windows
//	     Hello for Business, a Windows Hello sign-in of the device
//	20%  interactive user sign-ins (SignInLogs): the password (unless the
//	     user signs in without one) and a second factor from the user's own
//	     methods, most often the user's usual one; a quarter of them have
//	     the multifactor requirement satisfied by the token. 4% of them fail
//	     at the second factor (error 500121), 2% at the password (50126)
//	 5%  service principal sign-ins, 2% managed identity sign-ins, without
//	     a user
//
// Users with a method credres does not model (QR code and PIN) sign in with
// it now and then; the logged value "QR code" is one credres counts as
// unknown.
type SignInStream struct {
	// Records is how many sign-in records to write.
	Records int
	// PerBody is how many records one Event Hubs message body carries;
	// 100 when zero.
	PerBody int
	// Users limits the sign-ins to the first this many users of the
	// tenant; all users when zero.
	Users int
	// Seed selects the stream; the same seed gives the same records.
	Seed int64
	// Start is the first record's time, AsOf when zero; the records are
	// spread evenly over Span (a day when zero).
	Start time.Time
	Span  time.Duration
}

// The shares of a stream, per mille.
const (
	shareInteractive      = 200
	shareNonInteractive   = 730
	shareServicePrincipal = 50
	// the rest (20) are managed identities
)

// SignIns generates a sign-in stream body by body, so that a stream of
// millions of records need not be held in memory.
type SignIns struct {
	tenant string
	users  []signInUser
	s      SignInStream
	rng    *rand.Rand
	n      int
	at     time.Time
	step   time.Duration
	batch  []signInRecord
}

// signInUser is a user with the steps their methods log. It copies what
// the records name, so that the stream does not hold the tenant.
type signInUser struct {
	id, upn, name string
	// password is false for users who sign in without one.
	password bool
	// factors are the second factors (or passwordless methods) the user
	// can sign in with, the usual one first.
	factors []signInStep
	// hello is the user's Windows Hello for Business step, if any.
	hello *signInStep
}

// signInStep is one authentication step as the log shows it.
type signInStep struct {
	method, detail string
	// alone: the method signs in without a password (passwordless).
	alone bool
}

// NewSignIns returns the generator of the stream over d's users.
func NewSignIns(d *model.Directory, s SignInStream) (*SignIns, error) {
	users := d.Users
	if s.Users > 0 && s.Users < len(users) {
		users = users[:s.Users]
	}
	g := &SignIns{tenant: d.Tenant.ID, s: s, rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x7369676e696e7321))}
	for i := range users {
		if su, ok := newSignInUser(&users[i]); ok {
			g.users = append(g.users, su)
		}
	}
	if len(g.users) == 0 && s.Records > 0 {
		return nil, fmt.Errorf("synth: sign-in stream over a tenant without users who can sign in")
	}
	if g.s.PerBody <= 0 {
		g.s.PerBody = 100
	}
	g.at = s.Start
	if g.at.IsZero() {
		g.at = AsOf
	}
	span := s.Span
	if span <= 0 {
		span = 24 * time.Hour
	}
	if s.Records > 0 {
		g.step = span / time.Duration(s.Records)
	}
	return g, nil
}

// Records returns how many records the stream holds.
func (g *SignIns) Records() int { return g.s.Records }

// Body returns the next Event Hubs message body ({"records":[…]}), or nil
// after the last.
func (g *SignIns) Body() ([]byte, error) {
	g.batch = g.batch[:0]
	for g.n < g.s.Records && len(g.batch) < g.s.PerBody {
		g.batch = append(g.batch, g.record())
		g.n++
		g.at = g.at.Add(g.step)
	}
	if len(g.batch) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(struct {
		Records []signInRecord `json:"records"`
	}{g.batch})
	if err != nil {
		return nil, fmt.Errorf("synth: sign-in body: %w", err)
	}
	return body, nil
}

// newSignInUser lists the steps a user's methods log, strongest first, as
// Entra's system-preferred multifactor authentication would offer them.
func newSignInUser(u *model.User) (signInUser, bool) {
	su := signInUser{id: u.ID, upn: u.UserPrincipalName, name: u.DisplayName}
	var strong, app, codes, phones, other []signInStep
	for i := range u.Methods {
		m := &u.Methods[i]
		switch m.Kind {
		case model.KindPassword:
			su.password = true
		case model.KindWindowsHello:
			st := signInStep{method: "Windows Hello for Business", detail: m.DisplayName, alone: true}
			strong = append(strong, st)
			if su.hello == nil {
				su.hello = &st
			}
		case model.KindFIDO2:
			detail := m.DisplayName
			if m.AAGUID != "" {
				detail += " - " + m.AAGUID
			}
			strong = append(strong, signInStep{method: "FIDO2 security key", detail: detail, alone: true})
		case model.KindPasskeyAuthenticator:
			strong = append(strong, signInStep{method: "Passkey (Microsoft Authenticator)", detail: m.DisplayName, alone: true})
		case model.KindPlatformCredential:
			strong = append(strong, signInStep{method: "macOS Platform Credential", detail: m.DisplayName, alone: true})
		case model.KindAuthenticator:
			app = append(app, signInStep{method: "Mobile app notification", detail: m.DisplayName})
		case model.KindSoftwareOath:
			codes = append(codes, signInStep{method: "OATH verification code"})
		case model.KindHardwareOath:
			codes = append(codes, signInStep{method: "Hardware OATH token", detail: m.DisplayName})
		case model.KindMobilePhone:
			phones = append(phones, signInStep{method: "Text message", detail: maskedPhone(m.PhoneNumber)})
		case model.KindAlternateMobilePhone:
			phones = append(phones, signInStep{method: "Phone call approval (Alternate authentication phone)", detail: maskedPhone(m.PhoneNumber)})
		case model.KindOfficePhone:
			phones = append(phones, signInStep{method: "Phone call approval (Office phone)", detail: maskedPhone(m.PhoneNumber)})
		case model.KindTemporaryAccessPass:
			other = append(other, signInStep{method: "Temporary Access Pass", alone: true})
		case model.KindUnknown:
			if m.GraphType == graphQRCodePin {
				other = append(other, signInStep{method: "QR code", alone: true})
			}
		}
	}
	for _, group := range [][]signInStep{strong, app, codes, phones, other} {
		su.factors = append(su.factors, group...)
	}
	return su, su.password || len(su.factors) > 0
}

// maskedPhone is a phone number as the sign-in log shows it: its last two
// digits.
func maskedPhone(number string) string {
	d := model.PhoneDigits(number)
	if len(d) > 2 {
		d = d[len(d)-2:]
	}
	return "+X XXXXXXXX" + d
}

// The Azure Monitor sign-in log schema: the fields credres reads and their
// usual companions.
type (
	signInRecord struct {
		Time              string           `json:"time"`
		ResourceID        string           `json:"resourceId"`
		OperationName     string           `json:"operationName"`
		OperationVersion  string           `json:"operationVersion"`
		Category          string           `json:"category"`
		TenantID          string           `json:"tenantId"`
		ResultType        string           `json:"resultType"`
		ResultSignature   string           `json:"resultSignature"`
		ResultDescription string           `json:"resultDescription,omitempty"`
		DurationMs        int              `json:"durationMs"`
		CallerIPAddress   string           `json:"callerIpAddress"`
		CorrelationID     string           `json:"correlationId"`
		Identity          string           `json:"identity,omitempty"`
		Level             int              `json:"Level"`
		Location          string           `json:"location"`
		Properties        signInProperties `json:"properties"`
	}
	signInProperties struct {
		ID                        string         `json:"id"`
		CreatedDateTime           string         `json:"createdDateTime"`
		UserDisplayName           string         `json:"userDisplayName,omitempty"`
		UserPrincipalName         string         `json:"userPrincipalName,omitempty"`
		UserID                    string         `json:"userId,omitempty"`
		AppID                     string         `json:"appId"`
		AppDisplayName            string         `json:"appDisplayName"`
		IPAddress                 string         `json:"ipAddress"`
		ServicePrincipalID        string         `json:"servicePrincipalId,omitempty"`
		ServicePrincipalName      string         `json:"servicePrincipalName,omitempty"`
		Status                    signInStatus   `json:"status"`
		ClientAppUsed             string         `json:"clientAppUsed,omitempty"`
		ConditionalAccessStatus   string         `json:"conditionalAccessStatus,omitempty"`
		IsInteractive             *bool          `json:"isInteractive,omitempty"`
		TokenIssuerType           string         `json:"tokenIssuerType,omitempty"`
		AuthenticationRequirement string         `json:"authenticationRequirement,omitempty"`
		UserType                  string         `json:"userType,omitempty"`
		ResourceDisplayName       string         `json:"resourceDisplayName"`
		ResourceID                string         `json:"resourceId"`
		HomeTenantID              string         `json:"homeTenantId,omitempty"`
		AuthenticationDetails     []signInDetail `json:"authenticationDetails,omitempty"`
		ClientCredentialType      string         `json:"clientCredentialType,omitempty"`
		CorrelationID             string         `json:"correlationId"`
		RiskLevelDuringSignIn     string         `json:"riskLevelDuringSignIn,omitempty"`
		RiskState                 string         `json:"riskState,omitempty"`
	}
	signInStatus struct {
		ErrorCode     int    `json:"errorCode"`
		FailureReason string `json:"failureReason,omitempty"`
	}
	signInDetail struct {
		StepDateTime string  `json:"authenticationStepDateTime"`
		Method       string  `json:"authenticationMethod"`
		MethodDetail *string `json:"authenticationMethodDetail"`
		Succeeded    bool    `json:"succeeded"`
		ResultDetail string  `json:"authenticationStepResultDetail"`
		Requirement  string  `json:"authenticationStepRequirement"`
	}
)

// The applications users and workloads sign in to.
var (
	userApps = [...]struct{ id, name string }{
		{"00000006-0000-0ff1-ce00-000000000000", "Microsoft 365 Portal"},
		{"d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office"},
		{"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
		{"00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"},
		{"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", "Office365 Shell WCSS-Client"},
	}
	workloads = [...]struct{ id, name, category string }{
		{"5a7f0e1c-90b4-4d2e-8c3a-1b2d3e4f5a60", "credres", "ServicePrincipalSignInLogs"},
		{"8d2f6a41-3c5e-4b7a-9e10-2f4c6d8e0a13", "HR sync", "ServicePrincipalSignInLogs"},
		{"c4e7a9b2-1d3f-4a6c-8e5b-7f9a0c2e4d61", "Backup agent", "ServicePrincipalSignInLogs"},
		{"0f1e2d3c-4b5a-4c6d-9e8f-7a6b5c4d3e2f", "automation-account", "ManagedIdentitySignInLogs"},
		{"6b5a4c3d-2e1f-4a0b-8c9d-e8f7a6b5c4d3", "func-invoices", "ManagedIdentitySignInLogs"},
	}
)

const (
	resultFailedMFA      = 500121
	resultWrongPassword  = 50126
	failedMFAReason      = "Authentication failed during strong authentication request."
	wrongPasswordReason  = "Error validating credentials due to invalid username or password."
	satisfiedByTokenText = "MFA requirement satisfied by claim in the token"
)

func (g *SignIns) chance(perMille int) bool { return g.rng.IntN(1000) < perMille }

func (g *SignIns) guid() string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", g.rng.Uint32(), g.rng.IntN(1<<16), g.rng.IntN(1<<12), 0x8000|g.rng.IntN(1<<14), g.rng.Int64N(1<<48))
}

// record draws the next record.
func (g *SignIns) record() signInRecord {
	ts := g.at.UTC().Format("2006-01-02T15:04:05.0000000Z")
	corr := g.guid()
	ip := fmt.Sprintf("203.0.113.%d", 1+g.rng.IntN(254))
	rec := signInRecord{
		Time: ts, ResourceID: "/tenants/" + g.tenant + "/providers/Microsoft.aadiam",
		OperationName: "Sign-in activity", OperationVersion: "1.0", TenantID: g.tenant,
		ResultType: "0", ResultSignature: "None", CallerIPAddress: ip, CorrelationID: corr,
		Level: 4, Location: "US",
		Properties: signInProperties{ID: g.guid(), CreatedDateTime: ts, IPAddress: ip, CorrelationID: corr},
	}
	p := &rec.Properties
	n := g.rng.IntN(1000)
	if n >= shareInteractive+shareNonInteractive {
		// A workload: a service principal or a managed identity.
		w := workloads[3+g.rng.IntN(2)]
		if n < shareInteractive+shareNonInteractive+shareServicePrincipal {
			w = workloads[g.rng.IntN(3)]
		}
		rec.Category = w.category
		p.AppID, p.AppDisplayName = w.id, w.name
		p.ServicePrincipalID, p.ServicePrincipalName = w.id, w.name
		p.ResourceDisplayName, p.ResourceID = "Microsoft Graph", "00000003-0000-0000-c000-000000000000"
		p.ClientCredentialType = "clientSecret"
		return rec
	}
	su := &g.users[g.rng.IntN(len(g.users))]
	interactive := n < shareInteractive
	app := userApps[g.rng.IntN(len(userApps))]
	rec.Identity = su.name
	p.UserDisplayName, p.UserPrincipalName, p.UserID = su.name, su.upn, su.id
	p.AppID, p.AppDisplayName = app.id, app.name
	p.ResourceDisplayName, p.ResourceID = "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"
	p.IsInteractive = &interactive
	p.TokenIssuerType, p.UserType, p.HomeTenantID = "AzureAD", "Member", g.tenant
	p.ConditionalAccessStatus, p.RiskLevelDuringSignIn, p.RiskState = "success", "none", "none"
	p.AuthenticationRequirement = "multiFactorAuthentication"
	if interactive {
		rec.Category = CategoryInteractive
		p.ClientAppUsed = "Browser"
		g.interactiveSteps(&rec, su)
		return rec
	}
	rec.Category = CategoryNonInteractive
	p.ClientAppUsed = "Mobile Apps and Desktop clients"
	if su.hello != nil && g.chance(100) {
		p.AuthenticationDetails = []signInDetail{g.detail(ts, *su.hello, true, "", "Primary authentication")}
		return rec
	}
	p.AuthenticationDetails = []signInDetail{g.detail(ts, signInStep{method: "Previously satisfied"}, true,
		"First factor requirement satisfied by claim in the token", "Primary authentication")}
	return rec
}

// Categories of the user sign-ins a stream writes.
const (
	CategoryInteractive    = "SignInLogs"
	CategoryNonInteractive = "NonInteractiveUserSignInLogs"
)

// interactiveSteps fills an interactive sign-in's steps and outcome.
func (g *SignIns) interactiveSteps(rec *signInRecord, su *signInUser) {
	p := &rec.Properties
	ts := rec.Time
	later := g.at.Add(time.Duration(5+g.rng.IntN(20)) * time.Second).UTC().Format("2006-01-02T15:04:05Z")
	var factor *signInStep
	if len(su.factors) > 0 {
		// The usual method most of the time, another of the user's now and then.
		factor = &su.factors[0]
		if len(su.factors) > 1 && g.chance(200) {
			factor = &su.factors[1+g.rng.IntN(len(su.factors)-1)]
		}
	}
	fail := func(code int, reason string) {
		rec.ResultType, rec.ResultDescription = fmt.Sprint(code), reason
		p.Status = signInStatus{ErrorCode: code, FailureReason: reason}
		p.ConditionalAccessStatus = "notApplied"
	}
	if factor != nil && (factor.alone || !su.password) {
		// Passwordless: the method is the only step.
		ok := !g.chance(40)
		p.AuthenticationDetails = []signInDetail{g.detail(ts, *factor, ok, "", "Primary authentication")}
		if !ok {
			fail(resultFailedMFA, failedMFAReason)
		}
		return
	}
	if g.chance(20) {
		p.AuthenticationDetails = []signInDetail{g.detail(ts, signInStep{method: "Password", detail: "Password in the cloud"}, false, "Invalid password", "Primary authentication")}
		fail(resultWrongPassword, wrongPasswordReason)
		return
	}
	steps := []signInDetail{g.detail(ts, signInStep{method: "Password", detail: "Password in the cloud"}, true, "Correct password", "Primary authentication")}
	switch {
	case factor == nil:
		p.AuthenticationRequirement = "singleFactorAuthentication"
	case g.chance(250):
		steps = append(steps, g.detail(later, signInStep{method: "Previously satisfied"}, true, satisfiedByTokenText, "Multifactor authentication"))
	default:
		ok := !g.chance(40)
		result := "MFA successfully completed"
		if !ok {
			result = "MFA denied; user declined the authentication"
			fail(resultFailedMFA, failedMFAReason)
		}
		steps = append(steps, g.detail(later, *factor, ok, result, "Multifactor authentication"))
	}
	p.AuthenticationDetails = steps
}

func (g *SignIns) detail(at string, st signInStep, ok bool, result, requirement string) signInDetail {
	d := signInDetail{StepDateTime: strings.TrimSuffix(at, ".0000000Z"), Method: st.method, Succeeded: ok, ResultDetail: result, Requirement: requirement}
	if !strings.HasSuffix(d.StepDateTime, "Z") {
		d.StepDateTime += "Z"
	}
	if st.detail != "" {
		detail := st.detail
		d.MethodDetail = &detail
	}
	return d
}
