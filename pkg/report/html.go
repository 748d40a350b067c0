package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/credres/credres/pkg/model"
)

// HTMLListLimit is how many users a list of the HTML report shows; the
// rest are counted, and the JSON report lists them all. A list of a hundred
// thousand names helps no one reading a page.
const HTMLListLimit = 500

//go:embed report.html.tmpl
var pageTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":      pct,
	"num":      num,
	"inc":      func(i int) int { return i + 1 },
	"limit":    func() int { return HTMLListLimit },
	"verifier": verifier,
	"when":     timeOrUnknown,
}).Parse(pageTemplate))

// verifier names, for a sentence, what verifies synchronised users'
// passwords in a tenant of the given mode.
func verifier(mode model.PasswordAuth) string {
	switch mode {
	case model.PasswordPHS:
		return "Microsoft Entra ID (password hash sync)"
	case model.PasswordPTA:
		return "the pass-through authentication agents"
	case model.PasswordFederated:
		return "the federation service (AD FS or another identity provider)"
	}
	return "Microsoft Entra ID (cloud-only users)"
}

// WriteHTML renders the report as one self-contained HTML page: inline
// styles, inline SVG charts, no script and no external reference, so that
// it opens offline and can be mailed or archived as it is.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := tmpl.Execute(w, newPage(r)); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}

// page is the report as the template needs it: the Report itself, with the
// chart geometry and the shortened user lists computed from it.
type page struct {
	R          *Report
	Singles    *chart
	Pairs      *chart
	SingleList []userList
	PairList   []userList
	Tiers      []tierView
	SPOFs      *chart
	SPOFList   []userList
	Risks      []userList
	OnPremises userList
	Become     userList
	Recs       *chart
	// UsageLists are the usage section's user lists (nil without usage).
	UsageLists []userList
	// Registration counts the users' registration details.
	Registration *registration
}

type tierView struct {
	T     TierDiversity
	Chart *chart
}

// userList is one <details> list: what it is about and the users shown.
type userList struct {
	Label string
	About string
	Count int
	Total int // users in the report, for the percentage
	Users []listedUser
	More  int
}

type listedUser struct{ ID, UPN string }

func (r *Report) list(label, about string, ids []string) userList {
	l := userList{Label: label, About: about, Count: len(ids), Total: r.Summary.Users}
	shown := ids
	if len(shown) > HTMLListLimit {
		shown, l.More = shown[:HTMLListLimit], len(ids)-HTMLListLimit
	}
	l.Users = make([]listedUser, len(shown))
	for i, id := range shown {
		l.Users[i] = listedUser{id, r.UserPrincipalNames[id]}
	}
	return l
}

func newPage(r *Report) *page {
	p := &page{R: r, Registration: newRegistration(r.Users)}
	p.outages()
	p.tiers()
	if len(r.SPOFs) > 0 {
		bars := make([]bar, len(r.SPOFs))
		for i, g := range r.SPOFs {
			bars[i] = bar{Label: g.Kind, Value: g.Count, Title: fmt.Sprintf("%s: %s users with a single point of failure of this kind", g.Kind, num(g.Count))}
			p.SPOFList = append(p.SPOFList, r.list(g.Kind, spofAbout(g.Kind), g.Users))
		}
		p.SPOFs = newChart("chart-spofs", "Single points of failure by kind",
			"How many users have a dependency of each kind in every sign-in path, as assessed under their tier.", "spof", bars, false)
	}
	p.Risks = []userList{
		r.list("Telephony only", "Every sign-in path uses the phone network (SMS or voice): a carrier outage or a SIM swap locks them out.", r.TelephonyOnly.Users),
		r.list("Privileged without a phishing-resistant method", "Users holding a directory role, or in a tier that requires it, without a FIDO2 key, Windows Hello for Business, a macOS platform credential or a passkey.", r.PrivilegedWithoutPhishingResistant.Users),
		r.list("Without any MFA path", "No second factor after the password and no passwordless method: they cannot complete a multifactor sign-in at all.", r.WithoutAnyPath.Users),
	}
	p.OnPremises = r.list("Depend on on-premises", "At least one sign-in path goes through pass-through authentication agents or the federation service.", r.Hybrid.OnPremises.Users)
	p.Become = r.list("Would become compliant", "Not within policy now; within policy once password hash sync is on as a fallback.", r.Hybrid.BecomeCompliant.Users)

	if len(r.Recommendations) > 0 {
		bars := make([]bar, len(r.Recommendations))
		for i, rec := range r.Recommendations {
			bars[i] = bar{Label: shorten(rec.Action, 96), Value: rec.Users,
				Title: fmt.Sprintf("%s: would bring %s users within policy (the best option for %s)", rec.Action, num(rec.Users), num(rec.FirstChoice))}
		}
		p.Recs = newChart("chart-recommendations", "Recommendations by users they would bring within policy",
			"The engine's recommendations, counted over the non-compliant users they were made to.", "recommendation", bars, true)
	}
	if u := r.Usage; u != nil {
		p.UsageLists = append(p.UsageLists,
			r.list("Within policy only through unproven paths", "They would fall below policy if the paths the sign-in logs do not prove did not count.", u.BelowWithoutUnproven.Users),
			r.list("Every MFA sign-in over the phone network", "The only methods that worked within the proof window are text messages or calls.", u.PhoneNetworkOnly.Users))
		for _, g := range u.NeverUsed {
			p.UsageLists = append(p.UsageLists, r.list("Registered, never used: "+string(g.Kind), "A registered method of this kind that the sign-in logs never showed working.", g.Users))
		}
	}
	return p
}

// outages lays out the single and pair outage charts and their lists.
func (p *page) outages() {
	r, users := p.R, p.R.Summary.Users
	var singles, pairs []bar
	for _, o := range r.Outages {
		label := strings.Join(o.Down, " + ")
		about := outageAbout(o.Down)
		b := bar{Label: label, Value: o.LockedOut, Title: fmt.Sprintf("%s: %s of %s users locked out (%s)", label, num(o.LockedOut), num(users), pct(o.LockedOut, users))}
		if len(o.Down) == 1 {
			singles = append(singles, b)
			p.SingleList = append(p.SingleList, r.list(label, about, o.Users))
		} else {
			pairs = append(pairs, b)
			p.PairList = append(p.PairList, r.list(label, about, o.Users))
		}
	}
	p.Singles = newChart("chart-single-outages", "Users locked out by a single outage",
		"For each dependency kind, how many users would have no way to sign in if every instance of it failed.", "outage", singles, false)
	if len(pairs) > 0 {
		p.Pairs = newChart("chart-pair-outages", "Users locked out by two outages together",
			"The pairs of dependency kinds that lock out more users together than either alone.", "pair", pairs, false)
	}
}

// tiers lays out one diversity chart per tier with users.
func (p *page) tiers() {
	for i, td := range p.R.Diversity {
		v := tierView{T: td}
		if td.Users > 0 {
			counts := []int{td.ByDiversity.Zero, td.ByDiversity.One, td.ByDiversity.Two, td.ByDiversity.ThreePlus}
			labels := []string{"0 (no path)", "1", "2", "3 or more"}
			bars := make([]bar, 4)
			for d, n := range counts {
				bars[d] = bar{Label: labels[d], Value: n, Title: fmt.Sprintf("diversity %s: %s of %s users of tier %s", labels[d], num(n), num(td.Users), td.Tier)}
				switch {
				case d == 0:
					bars[d].Class = "bad"
				case d < td.MinDiversity:
					bars[d].Class = "warn"
				default:
					bars[d].Class = "good"
				}
			}
			v.Chart = newChart(fmt.Sprintf("chart-diversity-%d", i), "Diversity of tier "+td.Tier,
				fmt.Sprintf("Users of tier %s by the number of independent failures it takes to lock them out (the tier requires %d).", td.Tier, td.MinDiversity), "diversity", bars, false)
		}
		p.Tiers = append(p.Tiers, v)
	}
}

// chart is a horizontal bar chart, laid out for an inline SVG.
type chart struct {
	ID, Title, Desc string
	// Kind names what the bars count; it becomes data-chart for tests and
	// styles.
	Kind          string
	Width, Height int
	LabelX        int // right edge of left labels, or left edge of labels above
	BarX, BarH    int
	LabelAnchor   string
	Bars          []bar
}

type bar struct {
	Label, Title, Class string
	Value               int
	Y, W                int // bar geometry
	LabelY, ValueX      int
	ValueY              int
}

const (
	chartWidth      = 800
	smallChartWidth = 440
	rowHeight       = 26
	barHeight       = 18
	charWidth       = 7 // px per label character at the chart's font size
)

// newChart lays out a bar chart; labelsAbove puts each label above its bar,
// for labels too long to sit beside it.
func newChart(id, title, desc, kind string, bars []bar, labelsAbove bool) *chart {
	width := chartWidth
	if kind == "diversity" {
		width = smallChartWidth // two tiers side by side
	}
	c := &chart{ID: id, Title: title, Kind: kind, Width: width, BarH: barHeight, LabelAnchor: "end", Bars: bars}
	parts := make([]string, len(bars))
	longest := 0
	for i, b := range bars {
		parts[i] = b.Label + ": " + num(b.Value)
		longest = max(longest, utf8.RuneCountInString(b.Label))
	}
	c.Desc = desc + " " + strings.Join(parts, "; ") + "."
	row, labelRow := rowHeight, 0
	if labelsAbove {
		c.LabelX, c.BarX, c.LabelAnchor = 4, 4, "start"
		row, labelRow = rowHeight+18, 18
	} else {
		c.LabelX = min(max(longest*charWidth+12, 60), 340)
		c.BarX = c.LabelX + 8
	}
	top := 0
	for _, b := range c.Bars {
		top = max(top, b.Value)
	}
	room := c.Width - c.BarX - 64 // leaves room for the value after the longest bar
	for i := range c.Bars {
		b := &c.Bars[i]
		y := 6 + i*row
		b.Y = y + labelRow
		b.LabelY = b.Y + barHeight - 5
		if labelsAbove {
			b.LabelY = y + labelRow - 5
		}
		if top > 0 {
			b.W = b.Value * room / top
		}
		if b.Value > 0 {
			b.W = max(b.W, 2) // a user or two still shows
		}
		b.ValueX = c.BarX + b.W + 6
		b.ValueY = b.Y + barHeight - 5
	}
	c.Height = 12 + len(c.Bars)*row
	return c
}

func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// num writes a count with thousands separated by commas, as figures in an
// English page are read.
func num(n int) string {
	s := strconv.Itoa(n)
	start := 0
	if n < 0 {
		start = 1
	}
	for i := len(s) - 3; i > start; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func pct(n, total int) string {
	if total == 0 {
		return "0%"
	}
	p := float64(n) * 100 / float64(total)
	if p > 0 && p < 0.1 {
		return "<0.1%"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", p), ".0") + "%"
}

// kindAbout says, for an administrator, what fails when every instance of a
// dependency kind fails.
var kindAbout = map[model.Dependency]string{
	model.DepEntraMFA:              "the Microsoft Entra multifactor authentication service, behind every second factor after a password",
	model.DepOnPremises:            "the pass-through authentication agents or the federation service (AD FS) that verify synchronised users' passwords",
	model.DepPhoneCarrier:          "the phone network: SMS and voice calls",
	model.DepPushService:           "the Apple and Google push notification services (Authenticator notifications; codes still work)",
	model.DepMobileDevice:          "users' phones: every phone with the mobile number, Microsoft Authenticator, a passkey or an authenticator app",
	model.DepAlternateMobileDevice: "the alternate mobile phones",
	model.DepOfficePhone:           "the office phone lines",
	model.DepSecurityKey:           "every FIDO2 security key",
	model.DepWindowsDevice:         "every Windows Hello for Business device",
	model.DepMacDevice:             "every Mac with a platform credential",
	model.DepHardwareToken:         "every hardware OATH token",
	model.DepExternalMFA:           "every external MFA provider (third-party second factors)",
	model.DepSmartCard:             "users' smart cards and certificates (certificate-based authentication)",
	model.DepPKI:                   "the tenant's PKI: the certificate authorities and revocation lists certificate-based authentication checks",
}

func kindName(kind model.Dependency) string {
	if s, ok := kindAbout[kind]; ok {
		return s
	}
	return kind
}

func outageAbout(down []model.Dependency) string {
	parts := make([]string, len(down))
	for i, k := range down {
		parts[i] = kindName(k)
	}
	s := strings.Join(parts, "; together with ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// kindOne names one dependency of a kind, as a single point of failure.
var kindOne = map[model.Dependency]string{
	model.DepEntraMFA:              "the Microsoft Entra MFA service",
	model.DepOnPremises:            "the on-premises pass-through agents or federation service",
	model.DepPhoneCarrier:          "the phone network",
	model.DepPushService:           "the push notification services",
	model.DepMobileDevice:          "one phone",
	model.DepAlternateMobileDevice: "the alternate mobile phone",
	model.DepOfficePhone:           "the office phone line",
	model.DepSecurityKey:           "one FIDO2 security key",
	model.DepWindowsDevice:         "one Windows Hello device",
	model.DepMacDevice:             "one Mac",
	model.DepHardwareToken:         "one hardware OATH token",
	model.DepExternalMFA:           "one external MFA provider",
	model.DepSmartCard:             "their smart card",
	model.DepPKI:                   "the tenant's PKI",
}

func spofAbout(kind model.Dependency) string {
	one, ok := kindOne[kind]
	if !ok {
		one = kind
	}
	return "Every sign-in path of these users goes through " + one + ": if it fails, they cannot sign in."
}
