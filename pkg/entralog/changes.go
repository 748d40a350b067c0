package entralog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// Method labels for changes that do not come from a StrongAuthenticationMethod
// type or a result-reason text.
const (
	methodAuthenticatorApp   = "AuthenticatorApp"
	methodSearchableKey      = "SearchableDeviceKey"
	methodHardwareOathToken  = "HardwareOathToken"
	propStrongAuthMethod     = "StrongAuthenticationMethod"
	propStrongAuthPhoneApp   = "StrongAuthenticationPhoneAppDetail"
	propStrongAuthUserDetail = "StrongAuthenticationUserDetails"
	propIncludedUpdated      = "Included Updated Properties"
)

// strongAuthMethodTypes names StrongAuthenticationMethod's MethodType numbers,
// in the order Microsoft's own hunting queries use.
var strongAuthMethodTypes = [...]string{
	"TwoWayVoiceMobile", "TwoWaySms", "TwoWayVoiceOffice", "TwoWayVoiceOtherMobile",
	"TwoWaySmsOtherMobile", "OneWaySms", "PhoneAppNotification", "PhoneAppOTP",
}

// strongAuthProperty returns the canonical spelling of a user property that
// records authentication methods, and whether name is one.
// StrongAuthenticationUserDetails (phone numbers and email) is included
// because an administrator changing a user's phone through older tools
// leaves only this trace; its values are never diffed, as they are personal
// data and their layout is undocumented.
func strongAuthProperty(name string) (string, bool) {
	for _, p := range []string{propStrongAuthMethod, propStrongAuthPhoneApp, methodSearchableKey, propStrongAuthUserDetail} {
		if strings.EqualFold(name, p) {
			return p, true
		}
	}
	return "", false
}

// strongAuthChanges reads the method changes of an "Update user" record from
// the modified properties of its targets. No changes means the record touched
// no authentication property. A property named only in "Included Updated
// Properties" still counts, as an update of unknown detail.
func strongAuthChanges(targets []targetResource) ([]model.MethodChange, error) {
	var changes []model.MethodChange
	var included []string
	seen := map[string]bool{}
	for i := range targets {
		props, err := targets[i].modified(i)
		if err != nil {
			return nil, err
		}
		for _, mp := range props {
			name := mp.DisplayName.String()
			if strings.EqualFold(name, propIncludedUpdated) {
				included = append(included, includedNames(mp.NewValue)...)
				continue
			}
			canon, ok := strongAuthProperty(name)
			if !ok {
				continue
			}
			seen[canon] = true
			changes = append(changes, propertyChanges(canon, mp.OldValue, mp.NewValue)...)
		}
	}
	for _, name := range included {
		if canon, ok := strongAuthProperty(name); ok && !seen[canon] {
			seen[canon] = true
			changes = append(changes, model.MethodChange{Op: model.ChangeUpdated, Method: propertyLabel(canon)})
		}
	}
	return changes, nil
}

// propertyLabel is the method name a property's changes carry when its
// values say nothing more precise.
func propertyLabel(prop string) string {
	if prop == propStrongAuthPhoneApp {
		return methodAuthenticatorApp
	}
	return prop
}

// propertyChanges compares a property's old and new values. A value that
// cannot be read still yields one "updated" change: which user to re-evaluate
// matters more than how their methods changed, and the methods are read live
// anyway.
func propertyChanges(prop string, oldRaw, newRaw json.RawMessage) []model.MethodChange {
	fallback := []model.MethodChange{{Op: model.ChangeUpdated, Method: propertyLabel(prop)}}
	if prop == propStrongAuthUserDetail {
		return fallback
	}
	oldItems, okOld := propertyItems(oldRaw)
	newItems, okNew := propertyItems(newRaw)
	if !okOld || !okNew {
		return fallback
	}
	var changes []model.MethodChange
	switch prop {
	case propStrongAuthMethod:
		var ok bool
		if changes, ok = methodTypeChanges(oldItems, newItems); !ok {
			return fallback
		}
	case propStrongAuthPhoneApp:
		changes = keyedChanges(oldItems, newItems, phoneAppKey, methodAuthenticatorApp)
	default:
		changes = keyedChanges(oldItems, newItems, contentKey, propertyLabel(prop))
	}
	if len(changes) == 0 {
		return fallback
	}
	return changes
}

// propertyItems decodes a modifiedProperties value into array items. Entra
// double-encodes values (a JSON string holding JSON); plain JSON is accepted
// too. Null, "" and an encoded "" are an empty list: oldValue is null when
// the property had no value before.
func propertyItems(raw json.RawMessage) ([]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if !isSet(raw) {
		return nil, true
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 || string(raw) == `""` || string(raw) == "null" {
			return nil, true
		}
		if !json.Valid(raw) {
			return nil, false
		}
	}
	switch raw[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, false
		}
		return items, true
	case '{':
		return []json.RawMessage{raw}, true
	}
	return nil, false
}

// methodTypeChanges compares StrongAuthenticationMethod entries
// ({"MethodType":6,"Default":true}) as sets of method types: a type is added
// or removed, and "default" marks the type the Default flag moved to.
func methodTypeChanges(oldItems, newItems []json.RawMessage) ([]model.MethodChange, bool) {
	oldTypes, ok := methodTypes(oldItems)
	if !ok {
		return nil, false
	}
	newTypes, ok := methodTypes(newItems)
	if !ok {
		return nil, false
	}
	var changes []model.MethodChange
	for mt, isDefault := range newTypes {
		wasDefault, had := oldTypes[mt]
		if !had {
			changes = append(changes, model.MethodChange{Op: model.ChangeAdded, Method: methodTypeName(mt)})
		}
		if isDefault && !wasDefault {
			changes = append(changes, model.MethodChange{Op: model.ChangeDefault, Method: methodTypeName(mt)})
		}
	}
	for mt := range oldTypes {
		if _, has := newTypes[mt]; !has {
			changes = append(changes, model.MethodChange{Op: model.ChangeRemoved, Method: methodTypeName(mt)})
		}
	}
	return changes, true
}

// methodTypes maps each MethodType to whether it is the default.
func methodTypes(items []json.RawMessage) (map[int]bool, bool) {
	types := make(map[int]bool, len(items))
	for _, it := range items {
		var e struct {
			MethodType *int `json:"methodType"`
			Default    bool `json:"default"`
		}
		if err := json.Unmarshal(it, &e); err != nil || e.MethodType == nil {
			return nil, false
		}
		types[*e.MethodType] = types[*e.MethodType] || e.Default
	}
	return types, true
}

func methodTypeName(mt int) string {
	if mt >= 0 && mt < len(strongAuthMethodTypes) {
		return strongAuthMethodTypes[mt]
	}
	return "MethodType" + strconv.Itoa(mt)
}

// keyedChanges compares two lists of entries by key: a key only in the new
// list is added, only in the old one removed, in both with different content
// updated. Each operation is reported once per method label.
func keyedChanges(oldItems, newItems []json.RawMessage, key func(json.RawMessage) string, label string) []model.MethodChange {
	index := func(items []json.RawMessage) map[string]string {
		m := make(map[string]string, len(items))
		for _, it := range items {
			m[key(it)] = compactJSON(it)
		}
		return m
	}
	oldByKey, newByKey := index(oldItems), index(newItems)
	ops := map[model.ChangeOp]bool{}
	for k, content := range newByKey {
		prev, had := oldByKey[k]
		switch {
		case !had:
			ops[model.ChangeAdded] = true
		case prev != content:
			ops[model.ChangeUpdated] = true
		}
	}
	for k := range oldByKey {
		if _, has := newByKey[k]; !has {
			ops[model.ChangeRemoved] = true
		}
	}
	changes := make([]model.MethodChange, 0, len(ops))
	for op := range ops {
		changes = append(changes, model.MethodChange{Op: op, Method: label})
	}
	return changes
}

// phoneAppKey identifies a StrongAuthenticationPhoneAppDetail entry by its
// Id, or by DeviceToken or DeviceName when it has none.
func phoneAppKey(item json.RawMessage) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(item, &fields) == nil {
		for _, name := range []string{"id", "devicetoken", "devicename"} {
			for k, v := range fields {
				if strings.ToLower(k) != name {
					continue
				}
				var s text
				if json.Unmarshal(v, &s) == nil && !zeroID(s.String()) {
					return name + ":" + s.String()
				}
			}
		}
	}
	return contentKey(item)
}

func contentKey(item json.RawMessage) string { return "json:" + compactJSON(item) }

// zeroID reports an id that identifies nothing: empty, or a GUID of zeros.
func zeroID(s string) bool {
	return strings.Trim(s, "0-") == ""
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// includedNames reads the property names listed in "Included Updated
// Properties" (an encoded string such as "\"StrongAuthenticationMethod\"",
// comma-separated when several changed).
func includedNames(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	// The value is encoded twice; a plain string is taken as it is.
	var inner string
	if json.Unmarshal([]byte(s), &inner) == nil {
		s = inner
	}
	var names []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.Trim(strings.TrimSpace(n), `"`); n != "" {
			names = append(names, n)
		}
	}
	return names
}
