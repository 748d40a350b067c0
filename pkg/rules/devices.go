package rules

import (
	"slices"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// Recommendations and the user's devices (docs/POLICY.md, "Recommendations
// and devices"): Windows Hello for Business is set up on a Windows PC and a
// platform credential (Platform SSO) on a Mac. With the user's devices
// known, neither is recommended to a user without such a computer, and the
// recommendation names the computer to set it up on, or says that it takes
// another one when every such computer of theirs already carries it. With
// the devices unknown, the recommendation is conditional, and a
// device-independent option is kept next to it.

// needsComputer reports whether a method of this kind is set up on a
// Windows PC or a Mac of the user's.
func needsComputer(k model.MethodKind) bool {
	return k == model.KindWindowsHello || k == model.KindPlatformCredential
}

// runsOn reports whether a device's operating system, as Graph's
// operatingSystem names it, carries methods of this kind: "Windows" for
// Windows Hello for Business; "MacMDM" (a Mac enrolled in Intune),
// "macOS" or "Mac OS X" for a platform credential. Case is ignored.
func runsOn(k model.MethodKind, os string) bool {
	os = strings.TrimSpace(os)
	switch k {
	case model.KindWindowsHello:
		return strings.EqualFold(os, "Windows")
	case model.KindPlatformCredential:
		return strings.EqualFold(os, "MacMDM") || strings.EqualFold(os, "macOS") || strings.EqualFold(os, "Mac OS X")
	}
	return false
}

// hasComputerFor reports whether the user's known devices include a
// computer that methods of this kind run on.
func hasComputerFor(u *model.User, k model.MethodKind) bool {
	for i := range u.Devices {
		if runsOn(k, u.Devices[i].OperatingSystem) {
			return true
		}
	}
	return false
}

// independent reports whether an option is a device-independent one to
// keep next to a conditional recommendation: a passkey in Microsoft
// Authenticator or a FIDO2 security key, with nothing that needs a computer.
func independent(o option, cands []candidate) bool {
	found := false
	for _, p := range o.picks {
		if p < 0 {
			continue
		}
		switch k := cands[p].kind; {
		case needsComputer(k):
			return false
		case k == model.KindPasskeyAuthenticator || k == model.KindFIDO2:
			found = true
		}
	}
	return found
}

// conditionalOption reports whether an option needs a computer that the
// user, their devices unknown, may not have.
func conditionalOption(o option, cands []candidate, devicesKnown bool) bool {
	if devicesKnown {
		return false
	}
	for _, p := range o.picks {
		if p >= 0 && needsComputer(cands[p].kind) {
			return true
		}
	}
	return false
}

// wantIndependent reports whether the search must go on for a
// device-independent option: some option found is conditional and none is
// device-independent.
func wantIndependent(opts []option, cands []candidate, devicesKnown bool) bool {
	if devicesKnown {
		return false
	}
	cond := false
	for _, o := range opts {
		if independent(o, cands) {
			return false
		}
		cond = cond || conditionalOption(o, cands, devicesKnown)
	}
	return cond
}

// keepIndependent cuts the ranked options to model.MaxRecommendations,
// keeping the best device-independent option when the ones kept include a
// conditional one and no device-independent one: it takes the place of the
// last option kept, or of the one before when the last is the first
// conditional one, and the order by rank holds, since it ranked after
// every option kept.
func keepIndependent(opts []option, cands []candidate, devicesKnown bool) []option {
	n := model.MaxRecommendations
	if len(opts) <= n {
		return opts
	}
	top := opts[:n]
	if !wantIndependent(top, cands, devicesKnown) {
		return top
	}
	for _, o := range opts[n:] {
		if !independent(o, cands) {
			continue
		}
		k := n - 1
		if slices.IndexFunc(top, func(o option) bool { return conditionalOption(o, cands, devicesKnown) }) == k {
			k-- // the only conditional option stays
		}
		top[k] = o
		slices.SortStableFunc(top, byRank)
		return top
	}
	return top
}

// byRank orders options by rank, then by the diversity they reach.
func byRank(a, b option) int {
	if a.rank != b.rank {
		return int(a.rank) - int(b.rank)
	}
	return int(b.diversity) - int(a.diversity)
}

// advise says where the recommended candidate is to be set up, and whether
// the advice is conditional; ok is false when there is nothing to say.
func advise(u *model.User, c candidate) (a model.DeviceAdvice, ok, conditional bool) {
	a.Kind = c.kind
	switch {
	case c == secondAuthenticator:
		a.Second, a.Carrying = true, methodNames(u, c.kind)
		return a, true, false
	case !needsComputer(c.kind):
		return a, false, false
	case !u.DevicesKnown():
		// Devices unknown: "if you use a Windows PC", or a second one
		// when the user has the method on some already.
		a.Carrying = methodNames(u, c.kind)
		a.Second = len(a.Carrying) > 0
		return a, a.Second, true
	}
	free, carrying := computers(u, c.kind)
	switch {
	case free != nil && free.DisplayName != "":
		a.Device = free.DisplayName
		return a, true, false
	case free == nil && len(carrying) > 0:
		a.Second, a.Carrying = true, carrying
		return a, true, false
	}
	return a, false, false
}

// computers returns the user's computer to set a method of this kind up on
// (nil when every one already carries it) and the names of those that carry
// it. A computer carries the method when one of the user's registrations of
// that kind has its display name (Graph names a Windows Hello or platform
// credential registration after its device), case and surrounding spaces
// ignored. A registration without a name is taken to be on one of the
// computers no other registration names, so that credres never advises
// setting the method up where it may already be. Computers the user
// registered (registeredDevices) and joined ones (trust type AzureAd or
// ServerAd) are offered before those they only own or registered as
// personal devices (Workplace).
func computers(u *model.User, k model.MethodKind) (free *model.Device, carrying []string) {
	named := map[string]bool{}
	unnamed := 0
	for i := range u.Methods {
		if u.Methods[i].Kind != k {
			continue
		}
		if n := strings.ToLower(strings.TrimSpace(u.Methods[i].DisplayName)); n != "" {
			named[n] = true
		} else {
			unnamed++
		}
	}
	var fits []*model.Device
	for i := range u.Devices {
		d := &u.Devices[i]
		if !runsOn(k, d.OperatingSystem) {
			continue
		}
		if named[strings.ToLower(strings.TrimSpace(d.DisplayName))] {
			carrying = append(carrying, d.DisplayName)
			continue
		}
		fits = append(fits, d)
	}
	slices.SortStableFunc(fits, func(a, b *model.Device) int { return preference(a) - preference(b) })
	for _, d := range fits {
		if unnamed > 0 {
			unnamed--
			carrying = append(carrying, d.DisplayName)
			continue
		}
		if free == nil {
			free = d
		}
	}
	return free, carrying
}

// preference orders computers to offer: registered and joined first.
func preference(d *model.Device) int {
	p := 0
	if !d.Registered {
		p += 2
	}
	if !strings.EqualFold(d.TrustType, "AzureAd") && !strings.EqualFold(d.TrustType, "ServerAd") {
		p++
	}
	return p
}

// methodNames returns the distinct display names of the user's methods of
// a kind (the device names of the devices carrying them), in order.
func methodNames(u *model.User, k model.MethodKind) []string {
	var out []string
	for i := range u.Methods {
		m := &u.Methods[i]
		n := strings.TrimSpace(m.DisplayName)
		if m.Kind != k || n == "" || slices.ContainsFunc(out, func(s string) bool { return strings.EqualFold(s, n) }) {
			continue
		}
		out = append(out, n)
	}
	return out
}
