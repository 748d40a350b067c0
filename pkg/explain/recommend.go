package explain

import (
	"fmt"
	"strings"

	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// Recommendation words a recommendation for people, as an imperative
// sentence without the final period: the methods to register and, from the
// engine's device advice, on which of the user's devices ("on your Windows
// PC "LAPTOP-7"", "on a second Windows PC"), or, the user's devices not
// known, on the condition that they use such a computer ("If you use a
// Windows PC: ...").
func Recommendation(r model.Recommendation) string {
	if len(r.Devices) == 0 && !r.Conditional {
		return r.Action
	}
	var conds, parts []string
	for _, k := range r.Add {
		var d *model.DeviceAdvice
		for i := range r.Devices {
			if r.Devices[i].Kind == k {
				d = &r.Devices[i]
			}
		}
		if c := condition(k, d, r.Conditional); c != "" {
			conds = append(conds, c)
		}
		parts = append(parts, action(k, d, r.Conditional))
	}
	s := strings.Join(parts, ", and ")
	if len(conds) > 0 {
		s = "if you use " + strings.Join(conds, " and ") + ": " + s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// computer names the computer a method of this kind is set up on.
func computer(k model.MethodKind) (string, bool) {
	switch k {
	case model.KindWindowsHello:
		return "Windows PC", true
	case model.KindPlatformCredential:
		return "Mac", true
	}
	return "", false
}

// condition is what the user must have for a conditional recommendation of
// this kind: "a Windows PC", or another than the ones already carrying it.
func condition(k model.MethodKind, d *model.DeviceAdvice, conditional bool) string {
	pc, ok := computer(k)
	if !conditional || !ok {
		return ""
	}
	if d != nil && d.Second && len(d.Carrying) > 0 {
		return fmt.Sprintf("a %s besides %s", pc, names(d.Carrying))
	}
	return "a " + pc
}

// action words one method of a recommendation.
func action(k model.MethodKind, d *model.DeviceAdvice, conditional bool) string {
	pc, ok := computer(k)
	switch {
	case ok && conditional:
		return setUp(k, "that "+strings.TrimPrefix(pc, "Windows "))
	case ok && d != nil && d.Device != "":
		return setUp(k, fmt.Sprintf("your %s %q", pc, mask.Line(d.Device)))
	case ok && d != nil && d.Second && len(d.Carrying) == 1:
		return setUp(k, "a second "+pc) + fmt.Sprintf(", as your only one, %s, already has it", names(d.Carrying))
	case ok && d != nil && d.Second:
		return setUp(k, "another "+pc) + fmt.Sprintf(", as %s already have it", names(d.Carrying))
	case k == model.KindAuthenticator && d != nil && d.Second && len(d.Carrying) > 0:
		return "add Microsoft Authenticator on a phone or tablet other than " + names(d.Carrying)
	case k == model.KindAuthenticator && d != nil && d.Second:
		return "add Microsoft Authenticator on a second phone or tablet"
	}
	return rules.Action(k)
}

// setUp words setting a computer's method up on the computer named.
func setUp(k model.MethodKind, on string) string {
	if k == model.KindPlatformCredential {
		return "register " + on + " with Platform SSO"
	}
	return "set up Windows Hello for Business on " + on
}

// names lists device names, quoted: "A", "A" and "B", "A", "B" and "C".
func names(ns []string) string {
	q := make([]string, len(ns))
	for i, n := range ns {
		q[i] = fmt.Sprintf("%q", mask.Line(n))
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
