package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// gen makes decision messages with every field set or not, at random.
// With awkward, its strings and times include those the hand-written
// codec leaves to encoding/json (escapes, invalid UTF-8, zones it cannot
// write back, years out of range).
type gen struct {
	r       *rand.Rand
	awkward bool
}

var plainStrings = []string{"", "u-1", "adele@contoso.example", "below-min-diversity", "single-point-of-failure:mobile-device",
	"Adele Vance", "#microsoft.graph.phoneAuthenticationMethod", "+1 2065550147", "en-US", "a b ' ~ { } [ ] : ,"}

var awkwardStrings = []string{"R&D <lab>", "Jürgen Müller", "line\nbreak", "tab\there", `quote " and \ backslash`, "\x00\x1f", "\xff\xfe bad",
	"\u2028\u2029", "日本語", "emoji 🔑", "\x7f"}

func (g gen) str() string {
	if g.awkward && g.r.IntN(40) == 0 {
		return awkwardStrings[g.r.IntN(len(awkwardStrings))]
	}
	return plainStrings[g.r.IntN(len(plainStrings))]
}

func (g gen) strs() []string {
	switch g.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []string{}
	}
	out := make([]string, 1+g.r.IntN(3))
	for i := range out {
		out[i] = g.str()
	}
	return out
}

func conv[S ~string](ss []string) []S {
	if ss == nil {
		return nil
	}
	out := make([]S, len(ss))
	for i, s := range ss {
		out[i] = S(s)
	}
	return out
}

func (g gen) int() int {
	return []int{0, 1, 2, -3, 1 << 40, -1 << 62}[g.r.IntN(6)]
}

func (g gen) bool() bool { return g.r.IntN(2) == 0 }

func (g gen) time() time.Time {
	base := time.Date(2026, 12, 7, 23, 59, 58, 0, time.UTC)
	switch g.r.IntN(6) {
	case 0:
		return time.Time{}
	case 1:
		return base
	case 2:
		return base.Add(time.Duration(g.r.Int64N(1e15)))
	case 3:
		return base.In(time.FixedZone("", 2*3600+30*60))
	case 4:
		if g.awkward {
			return []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), base.In(time.FixedZone("CET", 3600)), time.Unix(0, 0),
				base.In(time.FixedZone("", 17))}[g.r.IntN(4)]
		}
	}
	return base.Add(-time.Duration(g.r.Int64N(1e18)))
}

func some[T any](g gen, one func() T) []T {
	switch g.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return []T{}
	}
	out := make([]T, 1+g.r.IntN(3))
	for i := range out {
		out[i] = one()
	}
	return out
}

func (g gen) paths() [][]Dependency {
	return some(g, func() []Dependency { return conv[Dependency](g.strs()) })
}

func (g gen) message() DecisionMessage {
	m := DecisionMessage{ID: g.str(), Time: g.time(), Decision: g.decision(), Assessment: g.assessment(),
		User: UserSummary{ID: g.str(), UserPrincipalName: g.str(), DisplayName: g.str(), Mail: g.str(), PreferredLanguage: g.str(),
			Methods: some(g, func() MethodNote {
				return MethodNote{Kind: MethodKind(g.str()), GraphType: g.str(), DisplayName: g.str(), PhoneNumber: g.str(),
					EmailAddress: g.str(), SerialNumber: g.str(), Words: g.str()}
			})}}
	if g.r.IntN(10) == 0 {
		m.PolicyChange = &PolicyChangeState{Change: PolicyChange{AuditID: g.str(), Time: g.time()}, Recorded: g.time(), Users: g.int(),
			Violations: map[Violation]int{Violation(g.str()): g.int()}}
	}
	return m
}

func (g gen) decision() Decision {
	return Decision{Kind: DecisionKind(g.str()), UserID: g.str(), Violations: conv[Violation](g.strs()),
		Reasons: some(g, func() Reason {
			return Reason{Code: ReasonCode(g.str()), Tier: g.str(), Diversity: g.int(), MinDiversity: g.int(), PreviousDiversity: g.int(),
				Violations: conv[Violation](g.strs()), Until: g.time(), Dependencies: conv[Dependency](g.strs()), Methods: g.strs(),
				Accounts: g.int(), Nudges: g.int(), Window: time.Duration(g.int()), Cooldown: time.Duration(g.int()), Age: time.Duration(g.int())}
		}),
		First: g.bool(), Reminder: g.bool(), Escalated: g.bool(), NudgesIgnored: g.int(), AdminOnly: g.bool(), Channel: Channel(g.str()),
		Try: g.strs(), HeldUntil: g.time(), PolicyDrop: g.bool()}
}

func (g gen) assessment() Assessment {
	return Assessment{UserID: g.str(), UserPrincipalName: g.str(), Tier: g.str(), Diversity: g.int(), MinDiversity: g.int(),
		SPOFs: conv[Dependency](g.strs()), Paths: g.paths(), Passwordless: g.bool(), PhishingResistant: g.bool(), Compliant: g.bool(),
		Exempt: g.bool(), Excluded: g.str(), EmergencyAccess: g.bool(), OnViolation: DecisionKind(g.str()),
		Violations: conv[Violation](g.strs()), TenantSide: conv[Violation](g.strs()),
		Recommendations: some(g, func() Recommendation {
			return Recommendation{Add: conv[MethodKind](g.strs()), Action: g.str(), Diversity: g.int(), Cost: g.int(), Conditional: g.bool(),
				Devices: some(g, func() DeviceAdvice {
					return DeviceAdvice{Kind: MethodKind(g.str()), Device: g.str(), Second: g.bool(), Carrying: g.strs()}
				})}
		}),
		Ignored: some(g, func() IgnoredMethod {
			return IgnoredMethod{ID: g.str(), Kind: MethodKind(g.str()), GraphType: g.str(), Reason: g.str()}
		}),
		Warnings: some(g, func() MethodWarning {
			return MethodWarning{ID: g.str(), Kind: MethodKind(g.str()), SameAs: g.str(), Reason: g.str()}
		}),
		ConditionalAccess: some(g, func() CAResult {
			return CAResult{ID: g.str(), Scope: g.str(), ReportOnly: g.bool(), Satisfied: g.bool()}
		}),
		TenantRecommendations: some(g, func() TenantRecommendation {
			return TenantRecommendation{Enable: g.str(), Add: conv[MethodKind](g.strs()), Action: g.str()}
		}),
		Proof: some(g, func() MethodProof {
			return MethodProof{ID: g.str(), Kind: MethodKind(g.str()), Name: g.str(), Proof: Proof(g.str()), LastUsed: g.time(), LastFailed: g.time()}
		}),
		UnprovenPaths: g.paths(), RestsOnUnproven: g.bool(), HeldUntil: g.time()}
}

// decodeBoth decodes data with DecodeDecisionMessage and json.Unmarshal
// into copies of into, and fails unless they agree.
func decodeBoth(t *testing.T, data []byte, into DecisionMessage) {
	t.Helper()
	ours, theirs := into, into
	errOurs, errTheirs := DecodeDecisionMessage(data, &ours), json.Unmarshal(data, &theirs)
	if (errOurs == nil) != (errTheirs == nil) {
		t.Fatalf("%s\ndecode error %v, encoding/json's %v", data, errOurs, errTheirs)
	}
	if errOurs == nil && !reflect.DeepEqual(ours, theirs) {
		t.Fatalf("%s\ndecodes to\n%#v\nencoding/json to\n%#v", data, ours, theirs)
	}
}

func TestDecisionCodecAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, awkward := range []bool{false, true} {
		g := gen{r: rand.New(rand.NewPCG(1, 2)), awkward: awkward}
		fast := 0
		for i := range 3000 {
			m := g.message()
			want, wantErr := json.Marshal(m)
			got, err := AppendDecisionMessage([]byte("prefix"), &m)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("message %d: encode error %v, encoding/json's %v", i, err, wantErr)
			}
			if err != nil {
				continue
			}
			if !bytes.Equal(got, append([]byte("prefix"), want...)) {
				t.Fatalf("message %d: encodes as\n%s\nencoding/json as\n%s", i, got[6:], want)
			}
			decodeBoth(t, want, DecisionMessage{})
			d := decoder{b: want}
			var dm DecisionMessage
			if d.message(&dm); !d.bad {
				fast++
			}
			if !awkward && m.PolicyChange == nil && d.bad {
				t.Fatalf("message %d: left to encoding/json: %s", i, want)
			}
		}
		t.Logf("awkward %v: %d of 3000 decoded on the fast path", awkward, fast)
		if fast == 0 {
			t.Errorf("awkward %v: no message decoded on the fast path", awkward)
		}
	}
}

// TestDecisionDecodeOffThePath: input the encoder never writes still
// decodes as json.Unmarshal decodes it.
func TestDecisionDecodeOffThePath(t *testing.T) {
	t.Parallel()
	g := gen{r: rand.New(rand.NewPCG(3, 4))}
	m := g.message()
	m.PolicyChange = nil
	m.Decision.Reasons = []Reason{{Code: "worse", Diversity: 1}}
	m.User.Methods = []MethodNote{{Kind: "sms"}}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	prefilled := g.message()
	prefilled.PolicyChange = nil
	for name, in := range map[string]string{
		"as-written":            s,
		"white-space":           strings.ReplaceAll(strings.ReplaceAll(s, ",", " ,\n\t"), ":", " : "),
		"key-in-other-case":     strings.Replace(s, `"userId"`, `"USERID"`, 1),
		"unknown-key":           strings.Replace(s, `{"id"`, `{"other":[1,{"a":null}],"id"`, 1),
		"duplicate-key":         strings.Replace(s, `{"id":`, `{"id":"first","id":`, 1),
		"escaped-string":        strings.Replace(s, `{"id":"`, `{"id":"\u0041\n`, 1),
		"reason-as-words":       strings.Replace(s, `"reasons":[{"code":"worse","diversity":1}]`, `"reasons":["diversity fell"]`, 1),
		"method-as-words":       strings.Replace(s, `"methods":[{"kind":"sms"}]`, `"methods":["SMS to +1 206"]`, 1),
		"reason-null":           strings.Replace(s, `"reasons":[{"code":"worse","diversity":1}]`, `"reasons":[null]`, 1),
		"number-with-fraction":  strings.Replace(s, `"diversity":1`, `"diversity":1.0`, 1),
		"number-with-exponent":  strings.Replace(s, `"diversity":1`, `"diversity":1e0`, 1),
		"leading-zero":          strings.Replace(s, `"diversity":1`, `"diversity":01`, 1),
		"string-for-number":     strings.Replace(s, `"diversity":1`, `"diversity":"1"`, 1),
		"null-string":           strings.Replace(s, `{"id":"`, `{"id":null,"x":"`, 1),
		"time-in-other-zone":    strings.Replace(s, `"time":"`, `"time":"2026-12-07T10:00:00+01:00","t":"`, 1),
		"time-with-lowercase-t": strings.Replace(s, `"time":"`, `"time":"2026-12-07t10:00:00Z","t":"`, 1),
		"trailing-data":         s + " {}",
		"truncated":             s[:len(s)/2],
		"empty-object":          "{}",
		"null":                  "null",
		"empty":                 "",
		"array":                 "[]",
	} {
		t.Run(name, func(t *testing.T) {
			decodeBoth(t, []byte(in), DecisionMessage{})
			decodeBoth(t, []byte(in), prefilled)
		})
	}
}

func FuzzDecodeDecisionMessage(f *testing.F) {
	g := gen{r: rand.New(rand.NewPCG(5, 6)), awkward: true}
	for range 20 {
		m := g.message()
		if data, err := json.Marshal(m); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"id":"d","decision":{"decision":"nudge","userId":"u","reasons":["words"]},"user":{"methods":["words"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		decodeBoth(t, data, DecisionMessage{})
		var dm DecisionMessage
		if DecodeDecisionMessage(data, &dm) != nil {
			return
		}
		// What decodes encodes as encoding/json encodes it.
		want, wantErr := json.Marshal(dm)
		got, err := AppendDecisionMessage(nil, &dm)
		if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("re-encoded as\n%s (%v)\nencoding/json as\n%s (%v)", got, err, want, wantErr)
		}
	})
}

func BenchmarkDecisionMessage(b *testing.B) {
	g := gen{r: rand.New(rand.NewPCG(7, 8))}
	var ms []DecisionMessage
	for range 64 {
		m := g.message()
		m.PolicyChange = nil
		ms = append(ms, m)
	}
	for _, impl := range []string{"encoding-json", "hand-written"} {
		b.Run(fmt.Sprintf("round-trip/%s", impl), func(b *testing.B) {
			var buf []byte
			i := 0
			for b.Loop() {
				m := &ms[i%len(ms)]
				i++
				var err error
				var dm DecisionMessage
				if impl == "hand-written" {
					buf, err = AppendDecisionMessage(buf[:0], m)
					if err == nil {
						err = DecodeDecisionMessage(buf, &dm)
					}
				} else {
					buf, err = json.Marshal(m)
					if err == nil {
						err = json.Unmarshal(buf, &dm)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
