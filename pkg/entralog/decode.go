package entralog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/credres/credres/internal/graphtime"
	"github.com/credres/credres/internal/jsonkeys"
	"github.com/credres/credres/pkg/model"
)

// AuditBatch is the result of normalising one input document: the relevant
// records as events, and a count of everything set aside.
type AuditBatch struct {
	// Events are the relevant records, in input order.
	Events []model.MethodChangeEvent
	// Skipped counts well-formed records that were set aside, by skip reason
	// (the Skip… constants). It is never nil.
	Skipped map[string]int
	// Records is how many records were seen: events, skipped and malformed.
	Records int
}

// ParseAudit normalises one document of Entra audit records into
// method-change events.
//
// It accepts, and tells apart by shape:
//   - an Event Hubs message body {"records":[…]} as the diagnostic setting
//     delivers it, the directory-audit fields under "properties";
//   - a single diagnostic record (an object with "properties");
//   - a Graph directoryAudit object, without any envelope;
//   - a Graph list {"value":[…]}, with or without "@odata.context" and
//     "@odata.nextLink";
//   - a bare JSON array of any of these records;
//   - several of the above one after another (JSON Lines, or documents
//     simply concatenated), because archived feeds are often kept that way.
//
// Keys are matched case-insensitively ("Type" and "type"), "result" may be a
// string or the Graph enum number (0 success, 1 failure, 2 timeout), and
// modifiedProperties values may be double-encoded JSON strings or plain JSON.
// Envelope fields the event does not need (level, durationMs, …) are never
// read, so their varying types cannot spoil a record.
//
// A record is relevant when its activity (matched case-insensitively) can
// change a user's methods (docs/DESIGN.md, Audit events): the Authentication Methods registration
// activities ("User registered security info", "Admin deleted security
// info", …), the hardware OATH token activities when they target a user, and
// "Update user" records whose modifiedProperties include
// StrongAuthenticationMethod, StrongAuthenticationPhoneAppDetail,
// SearchableDeviceKey or StrongAuthenticationUserDetails. Everything else is
// counted in AuditBatch.Skipped under one of the Skip… reasons. An event's
// Changes come from the result reason ("User registered Fido2 Authentication
// Method" is registered "Fido2 Authentication Method"), from the old and new
// StrongAuthenticationMethod types (added, removed, default), or from the
// Authenticator entries of StrongAuthenticationPhoneAppDetail (added,
// removed, updated "AuthenticatorApp"); they only explain the trigger, since
// the methods themselves are always read live.
//
// ParseAudit never stops at a bad record: err joins one error per malformed
// record, each wrapping model.ErrInvalidInput and naming the record's position
// (from 0, counted across the whole input) as "record 3: …", and everything
// valid is still in the batch. A record is malformed when it is not a JSON
// object, or when it is relevant but lacks its id, its time or a user target
// with an id; irrelevant records are skipped whatever they lack. Invalid JSON
// ends the input at that point ("document 1: …"): nothing after a syntax
// error can be trusted to line up.
func ParseAudit(data []byte) (AuditBatch, error) {
	return parseAudit(data, &reader{})
}

// parseAudit is ParseAudit with s reading the records.
func parseAudit(data []byte, s *reader) (AuditBatch, error) {
	batch := AuditBatch{Skipped: map[string]int{}}
	var errs []error
	dec := json.NewDecoder(bytes.NewReader(data))
	docs := 0
	for ; ; docs++ {
		var doc json.RawMessage
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				err = fmt.Errorf("%v at byte %d", err, syn.Offset)
			}
			errs = append(errs, fmt.Errorf("document %d: %w: %v", docs, model.ErrInvalidInput, err))
			break
		}
		records, ok := s.split(doc)
		if !ok {
			records, err = splitDocument(doc)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", docs, err))
			continue
		}
		for _, rec := range records {
			pos := batch.Records
			batch.Records++
			ev, skip, err := s.normaliseRecord(rec)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("record %d: %w", pos, err))
			case skip != "":
				batch.Skipped[skip]++
			default:
				batch.Events = append(batch.Events, ev)
			}
		}
	}
	if docs == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%w: no JSON document", model.ErrInvalidInput))
	}
	return batch, errors.Join(errs...)
}

// splitDocument returns the records of one top-level JSON value. Anything
// that is not a recognised container is one record, so that a stray scalar
// is reported as a malformed record rather than silently ignored.
func splitDocument(doc json.RawMessage) ([]json.RawMessage, error) {
	doc = bytes.TrimSpace(doc)
	switch {
	case len(doc) > 0 && doc[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(doc, &items); err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		return items, nil
	case len(doc) > 0 && doc[0] == '{':
		if err := jsonkeys.Check(doc, false); err != nil {
			return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		// One pass for the common case; a container of the wrong type is
		// looked at again only to say what it is.
		var page struct {
			Records *[]json.RawMessage `json:"records"`
			Value   *[]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(doc, &page); err != nil {
			var raw struct {
				Records json.RawMessage `json:"records"`
				Value   json.RawMessage `json:"value"`
			}
			if json.Unmarshal(doc, &raw) == nil {
				for _, c := range []struct {
					name string
					v    json.RawMessage
				}{{"records", raw.Records}, {"value", raw.Value}} {
					if isSet(c.v) && bytes.TrimSpace(c.v)[0] != '[' {
						return nil, fmt.Errorf("%w: %q is %s, not an array", model.ErrInvalidInput, c.name, jsonKind(bytes.TrimSpace(c.v)))
					}
				}
			}
			return nil, fmt.Errorf("%w: %v", model.ErrInvalidInput, err)
		}
		switch {
		case page.Records != nil:
			return *page.Records, nil
		case page.Value != nil:
			return *page.Value, nil
		}
	}
	return []json.RawMessage{doc}, nil
}

// directoryAudit holds the fields read from a Graph directoryAudit object,
// which is also what an Event Hubs record carries under "properties".
// encoding/json matches keys case-insensitively, which absorbs the
// "Type"/"type" spellings. Fields whose type varies between sources stay raw
// and are decoded only once the record is known to matter.
type directoryAudit struct {
	ID                  text            `json:"id"`
	ActivityDisplayName text            `json:"activityDisplayName"`
	ActivityDateTime    text            `json:"activityDateTime"`
	Result              json.RawMessage `json:"result"`
	ResultReason        text            `json:"resultReason"`
	InitiatedBy         json.RawMessage `json:"initiatedBy"`
	TargetResources     json.RawMessage `json:"targetResources"`
	// TenantID is repeated inside properties by newer Event Hubs records; at
	// the top level it is the envelope's.
	TenantID text `json:"tenantId"`
	// TargetResourceType appears, instead of activityDisplayName, in the
	// legacy 2018 layout.
	TargetResourceType text `json:"targetResourceType"`

	// The one-pass reader decodes the targets and the initiator as it
	// goes, when they have their usual shape; otherwise they are decoded
	// from TargetResources and InitiatedBy when needed.
	targets       []targetResource
	targetsRead   bool
	initiator     model.Initiator
	initiatorRead bool
}

// targetList returns the record's targets.
func (p *directoryAudit) targetList() ([]targetResource, error) {
	if p.targetsRead {
		return p.targets, nil
	}
	return decodeTargets(p.TargetResources)
}

// initiatedBy returns who initiated the record's activity.
func (p *directoryAudit) initiatedBy() model.Initiator {
	if p.initiatorRead {
		return p.initiator
	}
	return initiatorOf(p.InitiatedBy)
}

// diagnosticRecord is one record as it arrives: an Event Hubs diagnostic
// record (envelope plus properties) or, when Properties is nil, a bare Graph
// directoryAudit whose fields land in the embedded struct. Both layers decode
// in one pass.
type diagnosticRecord struct {
	directoryAudit
	Time              text            `json:"time"`
	OperationName     text            `json:"operationName"`
	Category          text            `json:"category"`
	ResourceID        text            `json:"resourceId"`
	ResultDescription text            `json:"resultDescription"`
	Properties        *directoryAudit `json:"properties"`
}

type targetResource struct {
	ID                 text            `json:"id"`
	Type               text            `json:"type"`
	UserPrincipalName  text            `json:"userPrincipalName"`
	ModifiedProperties json.RawMessage `json:"modifiedProperties"`

	// The one-pass reader decodes the modified properties as it goes when
	// they are an array of objects.
	props     []modifiedProperty
	propsRead bool
}

// modified returns the modified properties of target number i.
func (t *targetResource) modified(i int) ([]modifiedProperty, error) {
	if t.propsRead {
		return t.props, nil
	}
	raw := bytes.TrimSpace(t.ModifiedProperties)
	if !isSet(raw) {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, fmt.Errorf("target %d: modifiedProperties is %s, not an array", i, jsonKind(raw))
	}
	var props []modifiedProperty
	if err := json.Unmarshal(raw, &props); err != nil {
		return nil, fmt.Errorf("target %d: modifiedProperties: %v", i, err)
	}
	return props, nil
}

type modifiedProperty struct {
	DisplayName text            `json:"displayName"`
	OldValue    json.RawMessage `json:"oldValue"`
	NewValue    json.RawMessage `json:"newValue"`
}

type initiatedBy struct {
	User *struct {
		ID                text `json:"id"`
		UserPrincipalName text `json:"userPrincipalName"`
	} `json:"user"`
	App *struct {
		AppID       text `json:"appId"`
		DisplayName text `json:"displayName"`
	} `json:"app"`
}

// text is a string field that tolerates null and other scalar types: a
// number or boolean keeps its literal text, an object or array reads as
// empty. Records pass through several pipelines, and a type surprise in one
// field must not cost the whole record; a required field that reads as empty
// is still reported.
type text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		*t = ""
	case len(b) >= 2 && b[0] == '"':
		// Most values need no unescaping; the decoder has already checked
		// the JSON, so the bytes between the quotes are the string.
		if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			*t = text(inner)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case b[0] == '{' || b[0] == '[' || b[0] == 'n':
		*t = ""
	default:
		*t = text(b)
	}
	return nil
}

func (t text) String() string { return strings.TrimSpace(string(t)) }

// normaliseRecord turns one record into an event, a skip reason, or an error
// wrapping model.ErrInvalidInput. Skips are decided before anything is required, so
// that an irrelevant record is never reported as malformed.
func (s *reader) normaliseRecord(raw json.RawMessage) (model.MethodChangeEvent, string, error) {
	_, r, skip, err := s.readAny(raw, false)
	if r == nil {
		return model.MethodChangeEvent{}, skip, err
	}
	ev, _, skip, err := r.normaliseAny()
	if err == nil && skip == "" && ev.AuditID == "" {
		// A policy change, which names no user: ParseAudit's callers
		// want user events only.
		return ev, SkipIrrelevantActivity, nil
	}
	return ev, skip, err
}

// normaliseAny turns a record into a user's method-change event, a change
// of the tenant's own policy, a skip reason, or an error wrapping
// model.ErrInvalidInput.
func (r *record) normaliseAny() (model.MethodChangeEvent, *model.PolicyChange, string, error) {
	if pk := policyKind(r.activity); pk != "" {
		pc, skip, err := r.policyChange(pk)
		return model.MethodChangeEvent{}, pc, skip, err
	}
	ev, skip, err := r.normalise()
	return ev, nil, skip, err
}

func (r *record) normalise() (model.MethodChangeEvent, string, error) {
	kind := classifyActivity(r.activity)
	switch kind {
	case actIrrelevant:
		return model.MethodChangeEvent{}, SkipIrrelevantActivity, nil
	case actReviewed:
		return model.MethodChangeEvent{}, SkipNoChangeReviewed, nil
	case actCanceled:
		return model.MethodChangeEvent{}, SkipNoChangeCanceled, nil
	}
	targets, targetsErr := r.p.targetList()
	changes, result, skip, err := r.changes(kind, targets, targetsErr)
	if skip != "" || err != nil {
		return model.MethodChangeEvent{}, skip, err
	}
	if targetsErr != nil {
		return r.invalid("%v", targetsErr)
	}
	return r.event(targets, changes, result)
}

// record is one record decoded far enough to be judged: its envelope, the
// directoryAudit fields (under properties when enveloped) and its activity.
type record struct {
	env       diagnosticRecord
	p         *directoryAudit
	enveloped bool
	activity  string
	// props is where the one-pass reader puts properties.
	props directoryAudit
}

// readAny reads one record: its kind (always recordAudit unless signIns)
// and, for an audit record, the record, or the skip reason or error that
// ends it. It reads in one pass when it can (onepass.go), and otherwise as
// before: the duplicate-key check, classify, then readRecord.
func (s *reader) readAny(raw json.RawMessage, signIns bool) (recordKind, *record, string, error) {
	if !s.general {
		// The record is the reader's own: nothing keeps it past the
		// normalisation, whose results hold strings only.
		r := &s.rec
		*r = record{}
		var probe recordProbe
		if s.record(raw, r, &probe); s.ok {
			if kind := probe.kind(); signIns && kind != recordAudit {
				return kind, nil, "", nil
			}
			r, skip, err := r.layers()
			return recordAudit, r, skip, err
		}
	}
	if err := checkKeys(raw); err != nil {
		return recordAudit, nil, "", err
	}
	if signIns {
		if kind := classify(raw); kind != recordAudit {
			return kind, nil, "", nil
		}
	}
	r, skip, err := readRecord(raw)
	return recordAudit, r, skip, err
}

// readRecord decodes a record's layers with encoding/json; a nil record
// comes with the skip reason or the error that ends it.
func readRecord(raw json.RawMessage) (*record, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, "", fmt.Errorf("%w: %s, not a JSON object", model.ErrInvalidInput, jsonKind(raw))
	}
	r := &record{}
	// Every field but properties accepts any JSON type, so a decoding error
	// can only mean properties is not an object; the rest is still decoded.
	decodeErr := json.Unmarshal(raw, &r.env)
	if decodeErr != nil {
		if strings.EqualFold(r.env.Category.String(), "Audit") {
			return nil, SkipLegacySchema, nil
		}
		var probe struct {
			Properties json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(raw, &probe) == nil && isSet(probe.Properties) {
			return nil, "", fmt.Errorf("%w: properties is %s, not an object", model.ErrInvalidInput, jsonKind(bytes.TrimSpace(probe.Properties)))
		}
		return nil, "", fmt.Errorf("%w: %v", model.ErrInvalidInput, decodeErr)
	}
	return r.layers()
}

// layers settles a decoded record's layers: which holds the directoryAudit
// fields, and its activity; a nil record comes with the skip reason that
// ends it.
func (r *record) layers() (*record, string, error) {
	if strings.EqualFold(r.env.Category.String(), "Audit") && r.env.Properties != nil {
		return nil, SkipLegacySchema, nil
	}
	r.p, r.enveloped = &r.env.directoryAudit, r.env.Properties != nil
	if r.enveloped {
		r.p = r.env.Properties
	}
	r.activity = r.p.ActivityDisplayName.String()
	if r.activity == "" && r.p.TargetResourceType.String() != "" {
		return nil, SkipLegacySchema, nil
	}
	if r.activity == "" && r.enveloped {
		r.activity = r.env.OperationName.String()
	}
	return r, "", nil
}

// invalid reports the record as malformed, naming its activity.
func (r *record) invalid(format string, args ...any) (model.MethodChangeEvent, string, error) {
	return model.MethodChangeEvent{}, "", fmt.Errorf("%w: %q record: %s", model.ErrInvalidInput, r.activity, fmt.Sprintf(format, args...))
}

// changes reads what a relevant record changed and its result, or the skip
// reason or error that sets it aside, in this order: an "Update user" that
// touches no authentication property, an unreadable result, a failed
// operation, a canceled registration.
func (r *record) changes(kind activityKind, targets []targetResource, targetsErr error) ([]model.MethodChange, string, string, error) {
	fail := func(err error) ([]model.MethodChange, string, string, error) {
		_, _, err = r.invalid("%v", err)
		return nil, "", "", err
	}
	var changes []model.MethodChange
	if kind == actUpdateUser {
		// Relevance of "Update user" lies in its modified properties, so they
		// must be readable before the record can be judged at all.
		if targetsErr != nil {
			return fail(targetsErr)
		}
		var err error
		if changes, err = strongAuthChanges(targets); err != nil {
			return fail(err)
		}
		if len(changes) == 0 {
			return nil, "", SkipIrrelevantActivity, nil
		}
	}
	result, failed, err := parseResult(r.p.Result)
	if err != nil {
		return fail(err)
	}
	if failed {
		return nil, "", SkipFailedOperation, nil
	}
	switch kind {
	case actAuthMethods:
		reason := r.p.ResultReason.String()
		if reason == "" && r.enveloped {
			reason = r.env.ResultDescription.String()
		}
		if canceled(reason) {
			return nil, "", SkipNoChangeCanceled, nil
		}
		changes = []model.MethodChange{reasonChange(reason)}
	case actHardwareOath:
		changes = []model.MethodChange{{Op: lookupLower(hardwareOathOps, r.activity), Method: methodHardwareOathToken}}
	}
	return changes, result, "", nil
}

// event builds the event of a relevant record once its target user, id and
// time are known to be there.
func (r *record) event(targets []targetResource, changes []model.MethodChange, result string) (model.MethodChangeEvent, string, error) {
	user := userTarget(targets)
	if user == nil {
		return model.MethodChangeEvent{}, SkipNoTargetUser, nil
	}
	if user.ID.String() == "" {
		return r.invalid("user target has no id")
	}
	id := r.p.ID.String()
	if id == "" {
		return r.invalid("no id")
	}
	when := r.p.ActivityDateTime.String()
	if when == "" && r.enveloped {
		when = r.env.Time.String()
	}
	if when == "" {
		return r.invalid("no activityDateTime or time")
	}
	t, err := graphtime.Parse(when)
	if err != nil {
		return r.invalid("time %q is not RFC 3339", when)
	}
	ev := model.MethodChangeEvent{
		AuditID:           id,
		Activity:          r.activity,
		Time:              t.UTC(),
		TenantID:          tenantOf(&r.env, r.p, r.enveloped),
		UserID:            user.ID.String(),
		UserPrincipalName: user.UserPrincipalName.String(),
		InitiatedBy:       r.p.initiatedBy(),
		Changes:           sortChanges(changes),
		Result:            result,
	}
	ev.SelfService = selfService(&ev)
	return ev, "", nil
}

// selfService decides whether the user changed their own methods. The
// "Admin ..." activities are admin-initiated whoever they name. Otherwise
// object ids decide: a user principal name can be reused or, as in a public
// sample, copied from the target onto an administrator's record. Only when
// the initiator has no id does its user principal name decide.
func selfService(ev *model.MethodChangeEvent) bool {
	ini := ev.InitiatedBy
	switch {
	case strings.HasPrefix(ev.Activity, "Admin "):
		return false
	case ini.UserID != "":
		return strings.EqualFold(ini.UserID, ev.UserID)
	}
	return ini.UserPrincipalName != "" && strings.EqualFold(ini.UserPrincipalName, ev.UserPrincipalName)
}

// parseResult reads "result" as a string or as the Graph operationResult
// enum number. Only failure and timeout are failures: a missing result, or
// an unknown future value, still triggers re-evaluation, which is harmless,
// whereas dropping a real change is not.
func parseResult(raw json.RawMessage) (result string, failed bool, err error) {
	raw = bytes.TrimSpace(raw)
	if !isSet(raw) {
		return "success", false, nil
	}
	var s string
	switch c := raw[0]; {
	case c == '"' && isPlain(raw, "success"):
		return "success", false, nil
	case c == '"':
		var err error
		if s, err = unquote(raw); err != nil {
			return "", false, fmt.Errorf("result: %v", err)
		}
		s = strings.TrimSpace(s)
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return "", false, fmt.Errorf("result %s: %v", raw, err)
		}
		switch n {
		case 0:
			s = "success"
		case 1:
			s = "failure"
		case 2:
			s = "timeout"
		case 3:
			s = "unknownFutureValue"
		default:
			s = string(raw)
		}
	default:
		return "", false, fmt.Errorf("result is %s, neither a string nor a number", jsonKind(raw))
	}
	switch strings.ToLower(s) {
	case "", "success":
		return "success", false, nil
	case "failure", "timeout":
		return strings.ToLower(s), true, nil
	}
	return s, false, nil
}

func decodeTargets(raw json.RawMessage) ([]targetResource, error) {
	raw = bytes.TrimSpace(raw)
	if !isSet(raw) {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, fmt.Errorf("targetResources is %s, not an array", jsonKind(raw))
	}
	var targets []targetResource
	if err := json.Unmarshal(raw, &targets); err != nil {
		return nil, fmt.Errorf("targetResources: %v", err)
	}
	return targets, nil
}

func userTarget(targets []targetResource) *targetResource {
	for i := range targets {
		if strings.EqualFold(targets[i].Type.String(), "User") {
			return &targets[i]
		}
	}
	return nil
}

func initiatorOf(raw json.RawMessage) model.Initiator {
	var by initiatedBy
	// The initiator is informative only; an unreadable one leaves it empty
	// rather than losing the record.
	_ = json.Unmarshal(raw, &by)
	var ini model.Initiator
	if by.User != nil {
		ini.UserID = by.User.ID.String()
		ini.UserPrincipalName = by.User.UserPrincipalName.String()
	}
	if by.App != nil {
		ini.AppID = by.App.AppID.String()
		ini.AppDisplayName = by.App.DisplayName.String()
	}
	return ini
}

// tenantOf takes the tenant from the Event Hubs envelope, from properties
// (newer records repeat it there) or from the envelope's resourceId
// "/tenants/<id>/providers/Microsoft.aadiam". A Graph object names no tenant:
// the caller knows which tenant it asked.
func tenantOf(env *diagnosticRecord, p *directoryAudit, enveloped bool) string {
	if !enveloped {
		return p.TenantID.String()
	}
	if id := env.TenantID.String(); id != "" {
		return id
	}
	if id := p.TenantID.String(); id != "" {
		return id
	}
	// Matched byte by byte rather than on a lower-cased copy, whose offsets
	// can differ from the original's when it holds non-ASCII text.
	rid := env.ResourceID.String()
	const marker = "/tenants/"
	for i := 0; i+len(marker) <= len(rid); i++ {
		if strings.EqualFold(rid[i:i+len(marker)], marker) {
			rest, _, _ := strings.Cut(rid[i+len(marker):], "/")
			return rest
		}
	}
	return ""
}

// sortChanges orders changes by method, then operation, without repeats, so
// that events compare and print the same whatever order the record used.
func sortChanges(changes []model.MethodChange) []model.MethodChange {
	slices.SortFunc(changes, func(a, b model.MethodChange) int {
		return cmp.Or(cmp.Compare(a.Method, b.Method), cmp.Compare(a.Op, b.Op))
	})
	return slices.Compact(changes)
}

// unquote decodes a JSON string. It is a function of its own so that the
// string escapes to the heap when one is decoded, not on every call of
// parseResult.
func unquote(raw json.RawMessage) (string, error) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// isPlain reports whether the JSON string quoted reads as word, without
// regard to case or surrounding spaces, and has no escapes to decode.
func isPlain(quoted json.RawMessage, word string) bool {
	inner := bytes.TrimSpace(quoted[1 : len(quoted)-1])
	return len(inner) == len(word) && asciiEqualFold(inner, word)
}

func isSet(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}

// jsonKind names the JSON type of a value for error messages, without
// quoting the value itself (it may hold personal data).
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "empty"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
