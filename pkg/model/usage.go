package model

import (
	"strings"
	"time"
)

// MethodUsage is what the sign-in logs say about one of a user's methods:
// when it last worked and when it last failed. Times are whole UTC days,
// since credres writes usage at most once per user, method and day.
type MethodUsage struct {
	// Kind is the method kind the sign-in logs named.
	Kind MethodKind `json:"kind"`
	// Instance identifies the method where the logs do: a key's or device's
	// name, a phone number's last digits. Empty when they did not.
	Instance   string    `json:"instance,omitempty"`
	LastUsed   time.Time `json:"lastUsed,omitzero"`
	LastFailed time.Time `json:"lastFailed,omitzero"`
}

// Day truncates t to its UTC day, the granularity of usage.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// PhoneDigits returns the visible last digits of a phone number as the
// sign-in logs show it ("+1 XXXXXXXX55" gives "55"), at most four. Entra
// masks the rest; credres keeps no more than it shows.
func PhoneDigits(s string) string {
	end := len(s)
	for end > 0 && (s[end-1] == ' ') {
		end--
	}
	start := end
	for start > 0 && s[start-1] >= '0' && s[start-1] <= '9' {
		start--
	}
	digits := s[start:end]
	if len(digits) > 4 {
		digits = digits[len(digits)-4:]
	}
	return digits
}

// UsageCovers reports whether a use logged as kind used can be a use of a
// registered method of kind registered. The logs do not always say which
// app produced a code or which passkey signed: an OATH code may come from
// Microsoft Authenticator, another app or a hardware token, and a
// device-bound passkey may be a security key or a passkey in Authenticator.
func UsageCovers(used, registered MethodKind) bool {
	if used == registered {
		return true
	}
	switch used {
	case KindSoftwareOath:
		return registered == KindAuthenticator || registered == KindHardwareOath
	case KindFIDO2:
		return registered == KindPasskeyAuthenticator
	}
	return false
}

// MatchUsage returns the usage records that speak of method m among the
// user's methods. A record whose instance names the method (its display
// name, or its phone number's last digits) belongs to it. A record that
// names no instance, or one no method carries, belongs to m only when m is
// the user's one method the record's kind can cover: with two security keys
// and a log that does not say which, neither is proven.
func MatchUsage(u *User, m *Method) []MethodUsage {
	var out []MethodUsage
	for _, us := range u.Usage {
		if !UsageCovers(us.Kind, m.Kind) {
			continue
		}
		if us.Instance != "" && instanceNames(us.Instance, m) {
			out = append(out, us)
			continue
		}
		candidates, named := 0, false
		for i := range u.Methods {
			o := &u.Methods[i]
			if !UsageCovers(us.Kind, o.Kind) {
				continue
			}
			candidates++
			if us.Instance != "" && instanceNames(us.Instance, o) {
				named = true
			}
		}
		if candidates == 1 && !named {
			out = append(out, us)
		}
	}
	return out
}

func instanceNames(instance string, m *Method) bool {
	if m.PhoneNumber != "" {
		d := PhoneDigits(instance)
		return d != "" && d == instance && strings.HasSuffix(digitsOnly(m.PhoneNumber), d)
	}
	return m.DisplayName != "" && strings.EqualFold(strings.TrimSpace(m.DisplayName), instance)
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// LastUse returns the latest lastUsed and lastFailed among usage records.
func LastUse(us []MethodUsage) (used, failed time.Time) {
	for _, u := range us {
		if u.LastUsed.After(used) {
			used = u.LastUsed
		}
		if u.LastFailed.After(failed) {
			failed = u.LastFailed
		}
	}
	return used, failed
}
