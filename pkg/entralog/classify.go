package entralog

import (
	"strings"

	"github.com/credres/credres/pkg/model"
)

// Skip reasons: why ParseAudit set aside a well-formed record. They are the
// keys of AuditBatch.Skipped, stable strings meant for counters and logs, so
// that an operator can tell "nothing relevant happened" from "the feed is
// broken".
const (
	// SkipIrrelevantActivity is any activity that cannot change a user's
	// authentication methods: group changes, policy changes credres does
	// not model (named locations, security defaults; Parse returns the
	// changes of the tenant's own policy it reads as PolicyChanges, and
	// ParseAudit skips them here), password resets,
	// passkey creation options, or an "Update user" that touches no
	// authentication property.
	SkipIrrelevantActivity = "irrelevant-activity"
	// SkipFailedOperation is a record whose result is failure or timeout:
	// the change it describes did not happen.
	SkipFailedOperation = "failed-operation"
	// SkipNoChangeReviewed is "User reviewed security info": the user
	// confirmed their methods without changing them.
	SkipNoChangeReviewed = "no-change-reviewed"
	// SkipNoChangeCanceled is a canceled registration ("User canceled
	// security info registration", also spelled "cancelled").
	SkipNoChangeCanceled = "no-change-canceled"
	// SkipLegacySchema is a 2018-era Event Hubs record (category "Audit")
	// whose properties use a layout the current service no longer emits.
	SkipLegacySchema = "legacy-schema"
	// SkipNoTargetUser is a relevant activity aimed at no user, such as a
	// hardware OATH token created in the tenant's inventory.
	SkipNoTargetUser = "no-target-user"
)

// activityKind is how an activity name decides a record's fate.
type activityKind int

const (
	actIrrelevant activityKind = iota
	actAuthMethods
	actHardwareOath
	actUpdateUser
	actReviewed
	actCanceled
)

// activities maps lower-cased activity names to their kind. The name alone
// decides, whatever loggedByService says: the same registration activities
// are also logged by the MFA service, and a spurious re-evaluation costs one
// Graph read while a missed one leaves a user unassessed.
var activities = map[string]activityKind{
	"user registered security info":              actAuthMethods,
	"user deleted security info":                 actAuthMethods,
	"user changed default security info":         actAuthMethods,
	"user updated security info":                 actAuthMethods,
	"admin registered security info":             actAuthMethods,
	"admin updated security info":                actAuthMethods,
	"admin deleted security info":                actAuthMethods,
	"user registered all required security info": actAuthMethods,
	"assign hardware oath token":                 actHardwareOath,
	"create hardware oath token":                 actHardwareOath,
	"update hardware oath token":                 actHardwareOath,
	"delete hardware oath token":                 actHardwareOath,
	"update user":                                actUpdateUser,
	"user reviewed security info":                actReviewed,
}

// hardwareOathOps is what each hardware OATH activity does to the target
// user's token.
var hardwareOathOps = map[string]model.ChangeOp{
	"assign hardware oath token": model.ChangeAdded,
	"create hardware oath token": model.ChangeAdded,
	"update hardware oath token": model.ChangeUpdated,
	"delete hardware oath token": model.ChangeRemoved,
}

func classifyActivity(activity string) activityKind {
	if canceled(activity) {
		return actCanceled
	}
	return lookupLower(activities, activity)
}

// canceled reports whether a text, lower-cased, starts "user canceled" or
// "user cancelled".
func canceled(s string) bool {
	return lowerHasPrefix(s, "user canceled") || lowerHasPrefix(s, "user cancelled")
}

// lookupLower is m[strings.ToLower(key)], without the copy for an ASCII key
// (every record's activity is looked up).
func lookupLower[V any](m map[string]V, key string) V {
	var buf [64]byte
	if len(key) > len(buf) || !isASCII(key) {
		return m[strings.ToLower(key)]
	}
	b := buf[:len(key)]
	for i := range len(key) {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return m[string(b)]
}

// lowerHasPrefix is strings.HasPrefix(strings.ToLower(s), prefix) for a
// lower-case ASCII prefix, without the copy when s is ASCII.
func lowerHasPrefix(s, prefix string) bool {
	if !isASCII(s) {
		return strings.HasPrefix(strings.ToLower(s), prefix)
	}
	return len(s) >= len(prefix) && asciiEqualFold(s[:len(prefix)], prefix)
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// reasonPrefixes turn an Authentication Methods result reason into a change.
// The reason is free text ("User registered Fido2 Authentication Method",
// "Admin registered temporary access pass method for user"); its remainder
// names the method. The longer "User changed the default…" comes first.
var reasonPrefixes = []struct {
	prefix string
	op     model.ChangeOp
}{
	{"User changed the default security info for ", model.ChangeDefault},
	{"User registered ", model.ChangeRegistered},
	{"User deleted ", model.ChangeDeleted},
	{"User updated ", model.ChangeUpdated},
	{"Admin registered ", model.ChangeRegistered},
	{"Admin deleted ", model.ChangeDeleted},
	{"Admin changed ", model.ChangeUpdated},
	{"Admin updated ", model.ChangeUpdated},
}

func reasonChange(reason string) model.MethodChange {
	for _, rp := range reasonPrefixes {
		if len(reason) <= len(rp.prefix) || !strings.EqualFold(reason[:len(rp.prefix)], rp.prefix) {
			continue
		}
		label := strings.TrimSpace(reason[len(rp.prefix):])
		label = strings.TrimSpace(strings.TrimRight(label, "."))
		if n := len(" for user"); len(label) >= n && strings.EqualFold(label[len(label)-n:], " for user") {
			label = strings.TrimSpace(label[:len(label)-n])
		}
		// "User registered all required security info." names no method.
		if strings.EqualFold(label, "all required security info") {
			label = ""
		}
		return model.MethodChange{Op: rp.op, Method: label}
	}
	return model.MethodChange{Op: model.ChangeUpdated}
}
