package entralog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// Sign-in skip reasons: why a well-formed sign-in record gave nothing. They
// are keys of Batch.Skipped, next to the audit skip reasons.
const (
	// SkipSignInNoUser is a sign-in without a user: a service principal or
	// a managed identity (their own diagnostic categories), or a user
	// sign-in record whose userId is empty.
	SkipSignInNoUser = "signin-no-user"
	// SkipSignInNoProof is a user sign-in none of whose steps proves a
	// method: every step was "Previously satisfied", a claim in the token,
	// or the record lists no steps at all.
	SkipSignInNoProof = "signin-no-proof"
)

// Diagnostic categories of the Entra sign-in logs (Azure Monitor).
const (
	CategorySignIn               = "SignInLogs"
	CategoryNonInteractiveSignIn = "NonInteractiveUserSignInLogs"
	categoryServicePrincipal     = "ServicePrincipalSignInLogs"
	categoryManagedIdentity      = "ManagedIdentitySignInLogs"
)

// MethodUse is one authentication step of a sign-in, mapped to a method.
type MethodUse struct {
	// Kind is the method kind the step used (the snapshot's kinds), or
	// "unknown" when the logged method has no mapping.
	Kind model.MethodKind `json:"kind"`
	// Instance identifies the method where the step's detail does: a
	// security key's or device's name, a phone number's last digits.
	Instance string `json:"instance,omitempty"`
	// Succeeded is the step's outcome. Failed steps are evidence too.
	Succeeded bool `json:"succeeded"`
	// Method is authenticationMethod as logged, kept for unknown kinds.
	Method string `json:"method,omitempty"`
	// Time is the step's time (the sign-in's when the step has none).
	Time time.Time `json:"-"`
}

// SignIn is one user sign-in record, normalised to the methods it proves.
type SignIn struct {
	ID                string      `json:"id,omitempty"`
	UserID            string      `json:"userId"`
	UserPrincipalName string      `json:"userPrincipalName,omitempty"`
	TenantID          string      `json:"tenantId,omitempty"`
	Time              time.Time   `json:"time"`
	Interactive       bool        `json:"interactive"`
	Methods           []MethodUse `json:"methods"`
}

// signInProps holds the Graph signIn fields credres reads; an Event Hubs
// sign-in record carries the same under "properties".
type signInProps struct {
	ID                    text            `json:"id"`
	CreatedDateTime       text            `json:"createdDateTime"`
	UserID                text            `json:"userId"`
	UserPrincipalName     text            `json:"userPrincipalName"`
	TenantID              text            `json:"tenantId"`
	IsInteractive         json.RawMessage `json:"isInteractive"`
	AuthenticationDetails json.RawMessage `json:"authenticationDetails"`
	MFADetail             *mfaDetail      `json:"mfaDetail"`
	// SignInEventTypes is Graph beta's list (interactiveUser,
	// nonInteractiveUser, servicePrincipal, managedIdentity).
	SignInEventTypes []text `json:"signInEventTypes"`
	ServicePrincipal text   `json:"servicePrincipalId"`
	// Fields that tell a Graph signIn apart from a directoryAudit.
	AppID               text `json:"appId"`
	ActivityDisplayName text `json:"activityDisplayName"`

	// The one-pass reader decodes the steps as it goes when they are an
	// array of objects; otherwise they are decoded from
	// AuthenticationDetails.
	steps     []authDetail
	stepsRead bool
}

// stepList returns the record's authentication steps.
func (p *signInProps) stepList() ([]authDetail, error) {
	if p.stepsRead {
		return p.steps, nil
	}
	return decodeSteps(p.AuthenticationDetails)
}

// mfaDetail is the second factor older sign-in records name.
type mfaDetail struct {
	AuthMethod text `json:"authMethod"`
	AuthDetail text `json:"authDetail"`
}

type signInRecord struct {
	signInProps
	Time       text         `json:"time"`
	Category   text         `json:"category"`
	Operation  text         `json:"operationName"`
	Properties *signInProps `json:"properties"`
}

type authDetail struct {
	Method      text            `json:"authenticationMethod"`
	Detail      text            `json:"authenticationMethodDetail"`
	Succeeded   json.RawMessage `json:"succeeded"`
	StepTime    text            `json:"authenticationStepDateTime"`
	ResultText  text            `json:"authenticationStepResultDetail"`
	Requirement text            `json:"authenticationStepRequirement"`
}

// signInKind tells what a record is, from its envelope or its fields alone.
type recordKind int

const (
	recordAudit recordKind = iota
	recordSignIn
	recordNoUserSignIn
)

// given is what classify keeps of a field: whether the record has it
// (null included), and whether it is set (not null), without copying it.
type given struct{ present, set bool }

// UnmarshalJSON implements json.Unmarshaler; it is called for null too.
func (g *given) UnmarshalJSON(b []byte) error {
	g.present, g.set = true, isSet(b)
	return nil
}

// classify looks at a record's category (Event Hubs) or at its fields (a
// Graph object) without decoding more than a few keys. Anything that is not
// recognisably a sign-in is left to the audit parser, which reports or skips
// it as it always has.
func classify(raw json.RawMessage) recordKind {
	var probe recordProbe
	if json.Unmarshal(raw, &probe) != nil {
		// Not an object, or a field of an unexpected type: let the audit
		// parser name the problem unless the category says sign-in.
		var cat struct {
			Category text `json:"category"`
		}
		_ = json.Unmarshal(raw, &cat)
		probe.Category = cat.Category
	}
	return probe.kind()
}

// recordProbe is what classify reads of a record.
type recordProbe struct {
	Category            text  `json:"category"`
	Properties          given `json:"properties"`
	CreatedDateTime     given `json:"createdDateTime"`
	AuthDetails         given `json:"authenticationDetails"`
	AppID               given `json:"appId"`
	ActivityDisplayName given `json:"activityDisplayName"`
}

// kind tells what a record is from what classify read of it.
func (probe *recordProbe) kind() recordKind {
	switch c := probe.Category.String(); {
	case strings.EqualFold(c, CategorySignIn), strings.EqualFold(c, CategoryNonInteractiveSignIn):
		return recordSignIn
	case strings.EqualFold(c, categoryServicePrincipal), strings.EqualFold(c, categoryManagedIdentity):
		return recordNoUserSignIn
	case c != "":
		return recordAudit
	}
	if probe.Properties.present || probe.ActivityDisplayName.set {
		return recordAudit
	}
	// A Graph signIn has createdDateTime and appId, and either
	// authenticationDetails or nothing an audit record would have.
	if probe.CreatedDateTime.set && (probe.AuthDetails.set || probe.AppID.set) {
		return recordSignIn
	}
	return recordAudit
}

// normaliseSignIn turns one sign-in record into a SignIn, a skip reason, or
// an error wrapping model.ErrInvalidInput.
func normaliseSignIn(raw json.RawMessage, unknown map[string]int) (SignIn, string, error) {
	var rec signInRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		var probe struct {
			Properties json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(raw, &probe) == nil && isSet(probe.Properties) {
			return SignIn{}, "", fmt.Errorf("%w: sign-in record: properties is %s, not an object", model.ErrInvalidInput, jsonKind(probe.Properties))
		}
		return SignIn{}, "", fmt.Errorf("%w: sign-in record: %v", model.ErrInvalidInput, err)
	}
	return rec.normalise(unknown)
}

// normalise is normaliseSignIn for a record already read.
func (rec *signInRecord) normalise(unknown map[string]int) (SignIn, string, error) {
	var si SignIn
	p, enveloped := &rec.signInProps, rec.Properties != nil
	if enveloped {
		p = rec.Properties
	}
	for _, t := range p.SignInEventTypes {
		if s := strings.ToLower(t.String()); s == "serviceprincipal" || s == "managedidentity" {
			return si, SkipSignInNoUser, nil
		}
	}
	invalid := func(format string, args ...any) (SignIn, string, error) {
		return SignIn{}, "", fmt.Errorf("%w: sign-in record: %s", model.ErrInvalidInput, fmt.Sprintf(format, args...))
	}
	user := p.UserID.String()
	if user == "" || strings.Trim(user, "0-") == "" {
		return si, SkipSignInNoUser, nil
	}
	when := p.CreatedDateTime.String()
	if when == "" && enveloped {
		when = rec.Time.String()
	}
	if when == "" {
		return invalid("no createdDateTime or time")
	}
	t, err := parseTime(when)
	if err != nil {
		return invalid("time %q is not RFC 3339", when)
	}
	steps, err := p.stepList()
	if err != nil {
		return invalid("%v", err)
	}
	si = SignIn{
		ID:                p.ID.String(),
		UserID:            user,
		UserPrincipalName: p.UserPrincipalName.String(),
		Time:              t.UTC(),
		Interactive:       interactive(rec, p, enveloped),
	}
	if enveloped {
		si.TenantID = rec.TenantID.String()
	}
	if si.TenantID == "" {
		si.TenantID = p.TenantID.String()
	}
	if len(steps) == 0 && p.MFADetail != nil && p.MFADetail.AuthMethod.String() != "" {
		// Older records carry only mfaDetail, for the second factor that
		// succeeded.
		steps = []authDetail{{Method: p.MFADetail.AuthMethod, Detail: p.MFADetail.AuthDetail, Succeeded: json.RawMessage("true")}}
	}
	for _, s := range steps {
		use, ok := mapStep(s, si.Time)
		if !ok {
			continue
		}
		if use.Kind == model.KindUnknown {
			unknown[use.Method]++
		}
		si.Methods = append(si.Methods, use)
	}
	if len(si.Methods) == 0 {
		return SignIn{}, SkipSignInNoProof, nil
	}
	return si, "", nil
}

// interactive reads isInteractive, or the category when it is absent.
func interactive(rec *signInRecord, p *signInProps, enveloped bool) bool {
	if b := bytes.TrimSpace(p.IsInteractive); len(b) > 0 {
		return string(b) == "true" || strings.EqualFold(strings.Trim(string(b), `"`), "true")
	}
	if enveloped {
		return strings.EqualFold(rec.Category.String(), CategorySignIn)
	}
	for _, t := range p.SignInEventTypes {
		if strings.EqualFold(t.String(), "interactiveUser") {
			return true
		}
	}
	return len(p.SignInEventTypes) == 0
}

// decodeSteps reads authenticationDetails: an array, or (Log Analytics
// exports) a string holding the array.
func decodeSteps(raw json.RawMessage) ([]authDetail, error) {
	raw = bytes.TrimSpace(raw)
	if !isSet(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("authenticationDetails: %v", err)
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 {
			return nil, nil
		}
	}
	if raw[0] != '[' {
		return nil, fmt.Errorf("authenticationDetails is %s, not an array", jsonKind(raw))
	}
	var steps []authDetail
	if err := json.Unmarshal(raw, &steps); err != nil {
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil {
			for i, it := range items {
				if it = bytes.TrimSpace(it); len(it) == 0 || it[0] != '{' {
					return nil, fmt.Errorf("authenticationDetails[%d] is %s, not an object", i, jsonKind(it))
				}
			}
		}
		return nil, fmt.Errorf("authenticationDetails: %v", err)
	}
	return steps, nil
}

// mapStep maps one step to a method use; false when the step proves
// nothing (a token or an earlier sign-in satisfied it).
func mapStep(s authDetail, signInTime time.Time) (MethodUse, bool) {
	name := s.Method.String()
	result := strings.ToLower(s.ResultText.String())
	if strings.Contains(result, "satisfied by claim") || strings.Contains(result, "previously satisfied") ||
		strings.Contains(result, "satisfied by token") {
		return MethodUse{}, false
	}
	m, known := lookupMethod(name)
	if known && m.skip {
		return MethodUse{}, false
	}
	if name == "" {
		return MethodUse{}, false
	}
	use := MethodUse{Kind: model.KindUnknown, Method: name, Succeeded: succeeded(s.Succeeded), Time: signInTime}
	if st := s.StepTime.String(); st != "" {
		if t, err := parseTime(st); err == nil {
			use.Time = t.UTC()
		}
	}
	if !known {
		return use, true
	}
	use.Kind = m.kind
	use.Instance = m.instance(s.Detail.String())
	return use, true
}

func succeeded(raw json.RawMessage) bool {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	return strings.EqualFold(s, "true")
}

// parseTime reads Graph and Event Hubs times: RFC 3339 with or without a
// zone (Graph omits it in a few samples; such times are UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not RFC 3339")
}
