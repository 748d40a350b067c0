// Package rules is credres's pure core: it turns a user's registered
// authentication methods into sign-in paths, measures how many independent
// failures it takes to lock the user out, judges that against the policy of
// the user's tier, recommends what to register, and decides what to do about
// a change. It performs no I/O, reads no clock and never logs; everything it
// needs comes in as arguments, and every result says why.
//
// # Paths and dependencies
//
// Every way of completing a multifactor sign-in is a path: a passwordless
// method alone (a FIDO2 key, Windows Hello for Business, a macOS platform
// credential, a passkey in Microsoft Authenticator, passwordless phone
// sign-in), or the password followed by one second factor (SMS or voice to a
// phone, an Authenticator push or code, an OATH code). Each path depends on
// things that can fail: the Entra MFA service for every second factor, the
// phone carrier for SMS and voice, Apple's and Google's push services for
// Authenticator notifications, the user's phone, each key and each device on
// its own, and, for synchronised users of a tenant that verifies passwords
// with pass-through agents or federation without password hash sync as a
// fallback, the on-premises infrastructure behind the password. The Entra
// authentication service is part of every path and is never counted.
//
// Graph does not say which phone runs which app, so the engine is
// conservative: the mobile number, the oldest Authenticator registration,
// passkeys in Authenticator and software OATH apps are assumed to share one
// phone; each further Authenticator registration is another device.
//
// # Diversity
//
// A user's diversity is the smallest number of dependencies whose failing
// together leaves no path: the minimum hitting set of the paths. A user with
// an SMS phone and an office phone has diversity 1 (the carrier takes both);
// a user with Windows Hello and two keys has 3. Dependencies in every path
// are single points of failure. The search is exact: paths are bit sets over
// the user's own dependencies, supersets are dropped, and a branch-and-bound
// over the smallest unmet path stops at the smallest path's size.
//
// # Policy
//
// A policy orders tiers; a user falls in the first tier whose match fits
// (directory roles by name or template id, group ids, user ids or names, or
// all). A tier sets the minimum diversity, dependencies it accepts as risks
// (not counted: only shared services, so that no path becomes unbreakable),
// whether a phishing-resistant method or a path without the phone network is
// required, whether a violation goes to the user (nudge) or the helpdesk
// (ticket), and whether the tier is exempt (break-glass accounts are
// assessed, never messaged). The default policy is embedded.
//
// Violations are named: below-min-diversity, no-mfa-path,
// single-point-of-failure:<dependency> (reported when the tier asks for two
// or more), no-phishing-resistant-method and telephony-only. A violation that
// disappears when password hash sync is assumed on is tenant-side: it goes to
// administrators, and the user is never nudged for it.
//
// # Recommendations
//
// For a non-compliant user the engine tries each method the user could add
// (and each pair, when one is not enough) against the same rules, keeps those
// that bring the user within policy, and ranks them by fewer dependencies
// (every method that avoids the phone network before another telephony
// method), then by effort: software on a phone or PC the user has, then
// another line or device, then hardware the organisation must issue. The
// user's devices decide where Windows Hello for Business and Platform SSO
// can go (devices.go; docs/POLICY.md, "Recommendations and devices"): a
// recommendation carries that as data (DeviceAdvice, Conditional), and
// explain words it.
//
// # Decisions
//
// Decide compares the stored assessment with the new one (docs/DESIGN.md, Decisions): a user
// newly below policy is nudged (or ticketed when the tier says so, or when
// they have no MFA path at all); a user who gets worse is nudged again unless
// within the cooldown; one who stays the same hears only reminders on the
// cooldown schedule until the escalation threshold turns them into a ticket;
// a user back within policy resolves the ticket and stops reminders.
package rules
