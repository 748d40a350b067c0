package entralog

import (
	"regexp"
	"sort"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// stepMethod is how one logged authenticationMethod value maps to a method.
type stepMethod struct {
	kind model.MethodKind
	// skip marks values that prove no method: an earlier sign-in or a token
	// satisfied the step.
	skip bool
	// detail says what authenticationMethodDetail holds for this value.
	detail detailKind
}

type detailKind int

const (
	detailNone   detailKind = iota // nothing that identifies an instance
	detailName                     // a key's or device's name
	detailDigits                   // a masked phone number
)

// signInMethods maps lower-cased authenticationMethod values to methods.
// docs/USAGE.md has the table with the source of every value: Microsoft's
// authenticationDetail documentation lists Password, SMS, Voice,
// Authenticator App, Software OATH token, Satisfied by token and Previously
// satisfied; the other values are those the Entra sign-in log shows and
// public captures contain.
var signInMethods = map[string]stepMethod{
	"password":                    {kind: model.KindPassword},
	"password hash sync":          {kind: model.KindPassword},
	"pass-through authentication": {kind: model.KindPassword},
	"federated":                   {kind: model.KindPassword},

	"sms":          {kind: model.KindMobilePhone, detail: detailDigits},
	"text message": {kind: model.KindMobilePhone, detail: detailDigits},
	"sms sign-in":  {kind: model.KindMobilePhone, detail: detailDigits},
	"voice":        {kind: model.KindMobilePhone, detail: detailDigits},
	"phone call":   {kind: model.KindMobilePhone, detail: detailDigits},
	"phone call approval (authentication phone)":           {kind: model.KindMobilePhone, detail: detailDigits},
	"phone call approval (alternate authentication phone)": {kind: model.KindAlternateMobilePhone, detail: detailDigits},
	"phone call approval (office phone)":                   {kind: model.KindOfficePhone, detail: detailDigits},

	"authenticator app":                      {kind: model.KindAuthenticator, detail: detailName},
	"microsoft authenticator":                {kind: model.KindAuthenticator, detail: detailName},
	"mobile app notification":                {kind: model.KindAuthenticator, detail: detailName},
	"push notification":                      {kind: model.KindAuthenticator, detail: detailName},
	"mobile app verification code":           {kind: model.KindAuthenticator, detail: detailName},
	"passwordless phone sign-in":             {kind: model.KindAuthenticator, detail: detailName},
	"microsoft authenticator (passwordless)": {kind: model.KindAuthenticator, detail: detailName},

	// An OATH code may come from the Authenticator app, another app or a
	// hardware token: see model.UsageCovers.
	"software oath token":    {kind: model.KindSoftwareOath},
	"oath verification code": {kind: model.KindSoftwareOath},
	"hardware oath token":    {kind: model.KindHardwareOath, detail: detailName},

	"fido2 security key":                {kind: model.KindFIDO2, detail: detailName},
	"passkey (device-bound)":            {kind: model.KindFIDO2, detail: detailName},
	"passkey (microsoft authenticator)": {kind: model.KindPasskeyAuthenticator, detail: detailName},
	"windows hello for business":        {kind: model.KindWindowsHello, detail: detailName},
	"macos platform credential":         {kind: model.KindPlatformCredential, detail: detailName},
	"platform credential for macos":     {kind: model.KindPlatformCredential, detail: detailName},
	"temporary access pass":             {kind: model.KindTemporaryAccessPass},
	"email verification code":           {kind: model.KindEmail},
	"email one-time passcode":           {kind: model.KindEmail},

	"previously satisfied":    {skip: true},
	"satisfied by token":      {skip: true},
	"claim in access token":   {skip: true},
	"claim in the token":      {skip: true},
	"primary refresh token":   {skip: true},
	"other":                   {skip: true},
	"mfa requirement skipped": {skip: true},
}

// lookupMethod finds a logged value in the table, case-insensitively.
func lookupMethod(name string) (stepMethod, bool) {
	m, ok := signInMethods[strings.ToLower(strings.TrimSpace(name))]
	return m, ok
}

// genericDetails are details that name no instance.
var genericDetails = map[string]bool{
	"":                            true,
	"microsoft authenticator app": true,
	"microsoft authenticator":     true,
	"authenticator app":           true,
	"notification approved":       true,
	"security key verified":       true,
	"code verified":               true,
	"password in the cloud":       true,
}

var trailingGUID = regexp.MustCompile(`(?i)\s*-\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// instance extracts what identifies the method instance from a step's
// detail: a name without the AAGUID Entra appends to security keys
// ("My Security Key - ee882879-…"), or a phone number's visible last digits.
func (m stepMethod) instance(detail string) string {
	detail = strings.TrimSpace(detail)
	switch m.detail {
	case detailName:
		name := strings.TrimSpace(trailingGUID.ReplaceAllString(detail, ""))
		if genericDetails[strings.ToLower(name)] {
			return ""
		}
		return name
	case detailDigits:
		return model.PhoneDigits(detail)
	}
	return ""
}

// MappedMethods lists the authenticationMethod values credres maps, lower
// case and sorted, with their kind ("" for values that prove nothing): the
// table docs/USAGE.md documents, kept honest by a test.
func MappedMethods() [][2]string {
	out := make([][2]string, 0, len(signInMethods))
	for name, m := range signInMethods {
		out = append(out, [2]string{name, string(m.kind)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
