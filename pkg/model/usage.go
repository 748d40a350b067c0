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

// Proof is a method's state of proof: what its usage says about whether it
// still works. Ingest starts an evaluation only when a sign-in moves a
// method from one state to another.
type Proof string

// The states of proof, from the usage of one method.
const (
	// ProofNone: the sign-in logs never showed the method.
	ProofNone Proof = "never-used"
	// ProofWorking: its last use succeeded, within the proof window.
	ProofWorking Proof = "working"
	// ProofFailing: it failed after it last worked (or failed and never
	// worked). A method that keeps failing is not a working fallback.
	ProofFailing Proof = "failing"
	// ProofStale: it last worked before the proof window.
	ProofStale Proof = "stale"
)

// Proof returns the state of proof of u at now. A window of zero means no
// window: any successful last use is working. Days are compared, so a
// failure and a success on the same day leave the method working.
func (u MethodUsage) Proof(now time.Time, window time.Duration) Proof {
	switch {
	case u.LastUsed.IsZero() && u.LastFailed.IsZero():
		return ProofNone
	case u.LastFailed.After(u.LastUsed):
		return ProofFailing
	case window > 0 && u.LastUsed.Before(Day(now).Add(-window)):
		return ProofStale
	}
	return ProofWorking
}

// Advance returns u moved forward by the uses in v (same method): each of
// lastUsed and lastFailed becomes the later of the two, by day. changed is
// false when v says nothing newer, which is what makes a second write of
// the same day unnecessary.
func (u MethodUsage) Advance(v MethodUsage) (next MethodUsage, changed bool) {
	next = u
	if d := Day(v.LastUsed); !v.LastUsed.IsZero() && d.After(u.LastUsed) {
		next.LastUsed, changed = d, true
	}
	if d := Day(v.LastFailed); !v.LastFailed.IsZero() && d.After(u.LastFailed) {
		next.LastFailed, changed = d, true
	}
	return next, changed
}

// Key identifies the method a usage record speaks of: kind and instance.
func (u MethodUsage) Key() string { return string(u.Kind) + "/" + u.Instance }

// UsageChange is one method's usage as a store held it before a write and
// holds it after.
type UsageChange struct {
	Before MethodUsage `json:"before"`
	After  MethodUsage `json:"after"`
}

// ProofChanged reports whether the write moved the method to another state
// of proof, judged at the day of its latest use with the given window.
func (c UsageChange) ProofChanged(window time.Duration) bool {
	now := c.After.LastUsed
	if c.After.LastFailed.After(now) {
		now = c.After.LastFailed
	}
	return c.Before.Proof(now, window) != c.After.Proof(now, window)
}

// MethodProof is what the sign-in logs prove about one registered method
// that gives sign-in paths, as an assessment reports it when the user's
// tier has a proof window.
type MethodProof struct {
	ID   string     `json:"id"`
	Kind MethodKind `json:"kind"`
	// Name is the method's display name (a key's, a device's), empty for
	// phones, whose numbers assessments never carry.
	Name       string    `json:"name,omitempty"`
	Proof      Proof     `json:"proof"`
	LastUsed   time.Time `json:"lastUsed,omitzero"`
	LastFailed time.Time `json:"lastFailed,omitzero"`
}

// Proven reports whether the method worked within the window.
func (p MethodProof) Proven() bool { return p.Proof == ProofWorking }
