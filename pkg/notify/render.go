package notify

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/credres/credres/pkg/explain"
	"github.com/credres/credres/pkg/mask"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

//go:embed templates/*
var defaultTemplates embed.FS

// Renderer turns decisions into the words people read: nudges for users
// (plain text and HTML, in the user's language) and tickets for helpdesks.
// Templates are files: the defaults are embedded, and an organisation can
// override any of them with a folder holding files of the same names
// (nudge.<lang>.txt, nudge.<lang>.html, ticket.en.txt) or add a language.
type Renderer struct {
	nudges   map[string]*nudgeTemplates
	ticket   *template.Template
	policy   rules.NudgePolicy
	fallback string
}

type nudgeTemplates struct {
	text *template.Template
	html *htmltemplate.Template
	// fixed holds the output of each plain-text template that is text
	// alone (most phrases: the risks, the actions, "and"): it says the
	// same for every user, so it is executed once, not once per nudge.
	fixed map[string]string
}

// fixedPhrases executes once each template of t that has no actions, only
// text, and keeps what it writes by name.
func fixedPhrases(t *template.Template) map[string]string {
	fixed := map[string]string{}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil || !textOnly(tt.Tree.Root) {
			continue
		}
		var b strings.Builder
		if err := tt.Execute(&b, nil); err == nil {
			fixed[tt.Name()] = b.String()
		}
	}
	return fixed
}

// say executes the plain-text phrase name with v; ok is false when the
// templates lack it or it fails.
func (nt *nudgeTemplates) say(name string, v any) (string, bool) {
	if s, ok := nt.fixed[name]; ok {
		return s, true
	}
	t := nt.text.Lookup(name)
	if t == nil {
		return "", false
	}
	var b strings.Builder
	if err := t.Execute(&b, v); err != nil {
		return "", false
	}
	return b.String(), true
}

// textOnly reports whether a template's body is text and comments alone,
// whose output cannot depend on the data it is given.
func textOnly(list *parse.ListNode) bool {
	for _, n := range list.Nodes {
		switch n.Type() {
		case parse.NodeText, parse.NodeComment:
		default:
			return false
		}
	}
	return true
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"rest": func(s []string) []string {
		if len(s) == 0 {
			return s
		}
		return s[1:]
	},
}

// NewRenderer loads the embedded templates, then any overrides from dir
// (empty for none). It fails on a template that does not parse, naming it.
func NewRenderer(policy rules.NudgePolicy, dir string) (*Renderer, error) {
	sub, _ := fs.Sub(defaultTemplates, "templates")
	files := map[string][]byte{}
	if err := readTemplates(sub, files); err != nil {
		return nil, err
	}
	if dir != "" {
		if err := readTemplates(os.DirFS(dir), files); err != nil {
			return nil, fmt.Errorf("templates %s: %w", dir, err)
		}
	}
	r := &Renderer{nudges: map[string]*nudgeTemplates{}, policy: policy, fallback: policy.Language}
	if r.fallback == "" {
		r.fallback = rules.DefaultLanguage
	}
	for name, data := range files {
		kind, lang, ext, ok := splitName(name)
		if !ok {
			continue
		}
		switch {
		case kind == "nudge" && ext == "txt":
			t, err := template.New(name).Funcs(funcs).Parse(string(data))
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			r.lang(lang).text = t
		case kind == "nudge" && ext == "html":
			t, err := htmltemplate.New(name).Funcs(htmltemplate.FuncMap(funcs)).Parse(string(data))
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			r.lang(lang).html = t
		case kind == "ticket" && ext == "txt" && lang == "en":
			t, err := template.New(name).Funcs(funcs).Parse(string(data))
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			r.ticket = t
		}
	}
	for lang, nt := range r.nudges {
		if nt.text == nil || nt.html == nil {
			return nil, fmt.Errorf("templates: language %q needs both nudge.%s.txt and nudge.%s.html", lang, lang, lang)
		}
		nt.fixed = fixedPhrases(nt.text)
	}
	if r.nudges[r.fallback] == nil {
		return nil, fmt.Errorf("templates: no nudge templates for the policy's language %q", r.fallback)
	}
	return r, nil
}

func (r *Renderer) lang(l string) *nudgeTemplates {
	nt := r.nudges[l]
	if nt == nil {
		nt = &nudgeTemplates{}
		r.nudges[l] = nt
	}
	return nt
}

// Languages lists the languages nudges can be written in.
func (r *Renderer) Languages() []string {
	var out []string
	for l := range r.nudges {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

func readTemplates(fsys fs.FS, into map[string][]byte) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if _, _, _, ok := splitName(e.Name()); !ok {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return err
		}
		into[e.Name()] = data
	}
	return nil
}

// splitName reads "nudge.de.html" as (nudge, de, html).
func splitName(name string) (kind, lang, ext string, ok bool) {
	parts := strings.Split(filepath.Base(name), ".")
	if len(parts) != 3 || (parts[0] != "nudge" && parts[0] != "ticket") || (parts[2] != "txt" && parts[2] != "html") {
		return "", "", "", false
	}
	return parts[0], strings.ToLower(parts[1]), parts[2], true
}

// Language picks the template language for a user: their preferredLanguage
// ("de-DE" → "de") when there are templates for it, else the policy's.
func (r *Renderer) Language(preferred string) string {
	l := strings.ToLower(preferred)
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i]
	}
	if r.nudges[l] != nil {
		return l
	}
	return r.fallback
}

type nudgeData struct {
	Name         string
	Risks        []string
	RiskSentence string
	Action       string
	Alternatives []string
	Link         string
	Contact      string
	Reminder     bool
	Phishing     bool
	Subject      string
	ReminderWhy  string
	// TryLines are the sentences of a nudge to try unproven methods, one
	// per method (docs/USAGE.md).
	TryLines []string
}

// tryMethod is one unproven method as the "try-line" phrase sees it.
type tryMethod struct {
	Kind   model.MethodKind
	Name   string
	Since  time.Time // last worked; zero when never
	Failed bool      // failed after it last worked
}

// RenderNudge writes the nudge for a decision. Only the violations the user
// can fix are mentioned; tenant-side ones never reach users.
func (r *Renderer) RenderNudge(dm model.DecisionMessage) (model.RenderedNudge, error) {
	lang := r.Language(dm.User.PreferredLanguage)
	nt := r.nudges[lang]
	if len(dm.Decision.Try) > 0 {
		if nt.text.Lookup("try-text") == nil || nt.html.Lookup("try") == nil {
			// Overridden templates without the try phrases: the fallback
			// language's, which the embedded templates always have.
			lang = rules.DefaultLanguage
			nt = r.nudges[lang]
		}
		return r.renderTry(dm, lang, nt)
	}
	data := nudgeData{
		Name:     firstName(dm.User),
		Link:     r.policy.SecurityInfoURL,
		Contact:  r.policy.Contact,
		Reminder: dm.Decision.Reminder,
	}
	if data.Link == "" {
		data.Link = rules.DefaultSecurityInfoURL
	}
	say := nt.say
	phrase := func(name string) (string, bool) { return say(name, data) }
	if data.Contact == "" || data.Contact == rules.DefaultContact {
		// The policy names nobody: say "your helpdesk" in the nudge's own
		// language, not the English default in a German sentence.
		if p, ok := phrase("contact"); ok && p != "" {
			data.Contact = p
		} else {
			data.Contact = rules.DefaultContact
		}
	}
	for _, key := range riskKeys(&dm.Assessment) {
		if key == string(model.ViolationNoPhishingResist) {
			// Phishing does not lock anyone out; it gets its own sentence.
			data.Phishing = true
			continue
		}
		if p, ok := phrase("risk." + key); ok && !slices.Contains(data.Risks, p) && len(data.Risks) < 2 {
			data.Risks = append(data.Risks, p)
		}
	}
	data.Action, data.Alternatives = nudgeActions(dm.Assessment.Recommendations, func(name string, p phraseData) (string, bool) {
		p.nudgeData = data
		return say(name, p)
	})
	if data.Action == "" {
		p, _ := phrase("action.microsoft-authenticator")
		data.Action = p
	}
	var subject, text, sentence bytes.Buffer
	if err := nt.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return model.RenderedNudge{}, fmt.Errorf("render nudge subject (%s): %w", lang, err)
	}
	if err := nt.text.ExecuteTemplate(&sentence, "risk-sentence", data); err != nil {
		return model.RenderedNudge{}, fmt.Errorf("render nudge risk (%s): %w", lang, err)
	}
	data.Subject, data.RiskSentence = strings.TrimSpace(subject.String()), sentence.String()
	if why, ok := phrase("reminder-why"); ok {
		data.ReminderWhy = why
	}
	if err := nt.text.ExecuteTemplate(&text, "text", data); err != nil {
		return model.RenderedNudge{}, fmt.Errorf("render nudge text (%s): %w", lang, err)
	}
	var html bytes.Buffer
	if err := nt.html.Execute(&html, data); err != nil {
		return model.RenderedNudge{}, fmt.Errorf("render nudge html (%s): %w", lang, err)
	}
	return model.RenderedNudge{Language: lang, Subject: data.Subject, Text: text.String(), HTML: html.String()}, nil
}

// phraseData is what an action phrase sees: the nudge's data, and where
// to set the method up (docs/POLICY.md, "Recommendations and devices").
type phraseData struct {
	nudgeData
	// Device names the user's device: the one to set the method up on
	// (".device"), or the only one that already carries it (".second",
	// ".if" and "if.<kind>").
	Device string
	// Second: every such device of the user's already carries the method.
	Second bool
	// Condition and Then are the parts of the "if" phrase: what the user
	// must use, and what to do then.
	Condition, Then string
}

// nudgeActions words the recommendations in the nudge's language: the first
// is the action, the others the alternatives.
func nudgeActions(recs []model.Recommendation, say func(string, phraseData) (string, bool)) (string, []string) {
	var action string
	var alternatives []string
	for i, rec := range recs {
		text, ok := nudgeAction(rec, say)
		if !ok {
			// Templates without the phrase: the English words.
			text = explain.Recommendation(rec)
		}
		if i == 0 {
			action = text
		} else {
			alternatives = append(alternatives, text)
		}
	}
	return action, alternatives
}

// nudgeAction words one recommendation: a phrase per method, from the
// device advice ("action.<kind>.device", ".second", ".if"), joined with
// "and", behind "if you use ..." when it is conditional. Templates without
// a device phrase (overrides written before them) get the method's own
// phrase ("action.<kind>"); ok is false when they lack that too.
func nudgeAction(rec model.Recommendation, say func(string, phraseData) (string, bool)) (string, bool) {
	var conds, parts []string
	for _, kind := range rec.Add {
		name, p := devicePhrase(rec, kind)
		s, ok := say(name, p)
		if ok && strings.HasSuffix(name, ".if") {
			var c string
			c, ok = say("if."+string(kind), p)
			// Whether the templates can say "if": asked only when needed,
			// as most recommendations are not conditional.
			_, canIf := say("if", phraseData{})
			ok = ok && canIf
			if ok {
				conds = append(conds, c)
			}
		}
		if !ok {
			if s, ok = say("action."+string(kind), phraseData{}); !ok {
				return "", false
			}
		}
		parts = append(parts, s)
	}
	and, _ := say("and", phraseData{})
	text := strings.Join(parts, and)
	if len(conds) == 0 {
		return text, true
	}
	return say("if", phraseData{Condition: strings.Join(conds, and), Then: text})
}

// devicePhrase names the phrase for one method of a recommendation and
// what it sees.
func devicePhrase(rec model.Recommendation, kind model.MethodKind) (string, phraseData) {
	name := "action." + string(kind)
	var p phraseData
	var d *model.DeviceAdvice
	for i := range rec.Devices {
		if rec.Devices[i].Kind == kind {
			d = &rec.Devices[i]
		}
	}
	if d != nil && d.Second {
		p.Second = true
		if len(d.Carrying) == 1 {
			p.Device = mask.Line(d.Carrying[0])
		}
	}
	switch {
	case rec.Conditional && (kind == model.KindWindowsHello || kind == model.KindPlatformCredential):
		name += ".if"
	case d != nil && d.Device != "":
		p.Device, name = mask.Line(d.Device), name+".device"
	case d != nil && d.Second:
		name += ".second"
	}
	return name, p
}

// riskKeys orders what the user risks, most concrete first: the single
// points of failure they can fix, then the other violations.
func riskKeys(a *model.Assessment) []string {
	var keys []string
	for _, dep := range a.SPOFs {
		code := model.ViolationSPOF(dep)
		if slices.Contains(a.TenantSide, code) || !slices.Contains(a.Violations, code) {
			continue
		}
		keys = append(keys, model.KindOf(dep))
	}
	for _, v := range a.UserViolations() {
		if _, spof := v.SPOF(); spof {
			continue
		}
		// "One thing fails" says nothing a named single point does not.
		if v == model.ViolationBelowMinDiversity && len(keys) > 0 {
			continue
		}
		keys = append(keys, string(v))
	}
	return keys
}

func firstName(u model.UserSummary) string {
	dn := mask.Line(u.DisplayName)
	if f, _, ok := strings.Cut(dn, " "); ok && f != "" {
		return f
	}
	if dn != "" {
		return dn
	}
	local, _, _ := strings.Cut(u.UserPrincipalName, "@")
	return mask.Line(local)
}

type ticketData struct {
	User, UserID, UPN, Tier string
	Diversity, MinDiversity int
	Violations, Risks       []string
	Methods, Remedies       []string
	TenantSide, Reasons     []string
	Escalated, AdminOnly    bool
	Nudges                  int
	Status, TicketID        string
}

// RenderTicket writes a ticket's title and description for the helpdesk:
// who, what is at risk, the user's current methods (masked) and the remedy.
func (r *Renderer) RenderTicket(dm model.DecisionMessage, rec model.TicketRecord) (model.RenderedTicket, error) {
	if rec.PolicyChange != nil {
		return renderPolicyTicket(rec.PolicyChange), nil
	}
	if emergencySet(dm) {
		return renderEmergencyTicket(dm, rec), nil
	}
	a := dm.Assessment
	// Ticket systems are no place for addresses: the user principal name is
	// masked, and the object id names the user exactly.
	upn := mask.Email(dm.User.UserPrincipalName)
	who := upn
	if dn := mask.Line(dm.User.DisplayName); dn != "" {
		who = dn + ", " + upn
	}
	u := &model.User{ID: dm.User.ID, UserPrincipalName: dm.User.UserPrincipalName}
	data := ticketData{
		User: who, UserID: dm.User.ID, UPN: titleName(dm.User), Tier: a.Tier,
		Diversity: a.Diversity, MinDiversity: a.MinDiversity, Violations: model.ViolationStrings(rec.Violations),
		Methods: explain.MethodNotes(dm.User.Methods), TenantSide: model.ViolationStrings(a.TenantSide), Reasons: rec.Reasons,
		Escalated: rec.Escalated, AdminOnly: rec.AdminOnly, Status: rec.Status, TicketID: rec.TicketID,
		Nudges: dm.Decision.NudgesIgnored,
	}
	for _, v := range rec.Violations {
		if v == model.ViolationBelowMinDiversity && slices.Contains(rec.Violations, model.ViolationNoMFAPath) {
			continue
		}
		data.Risks = append(data.Risks, explain.Violation(u, &a, v))
	}
	for _, rc := range a.Recommendations {
		data.Remedies = append(data.Remedies, explain.Recommendation(rc))
	}
	var title, desc bytes.Buffer
	if err := r.ticket.ExecuteTemplate(&title, "title", data); err != nil {
		return model.RenderedTicket{}, fmt.Errorf("render ticket title: %w", err)
	}
	if err := r.ticket.ExecuteTemplate(&desc, "description", data); err != nil {
		return model.RenderedTicket{}, fmt.Errorf("render ticket description: %w", err)
	}
	return model.RenderedTicket{Title: strings.TrimSpace(title.String()), Description: strings.TrimSpace(desc.String())}, nil
}

// titleName names the user in a ticket's title: the display name, or the
// masked user principal name when there is none.
func titleName(u model.UserSummary) string {
	if dn := mask.Line(u.DisplayName); dn != "" {
		return dn
	}
	return mask.Email(u.UserPrincipalName)
}

// renderTry writes the nudge that asks a compliant user to check that the
// unproven methods they rely on still work.
func (r *Renderer) renderTry(dm model.DecisionMessage, lang string, nt *nudgeTemplates) (model.RenderedNudge, error) {
	data := nudgeData{Name: firstName(dm.User), Link: r.policy.SecurityInfoURL, Contact: r.policy.Contact}
	if data.Link == "" {
		data.Link = rules.DefaultSecurityInfoURL
	}
	if data.Contact == "" || data.Contact == rules.DefaultContact {
		var b bytes.Buffer
		if nt.text.Lookup("contact") != nil && nt.text.ExecuteTemplate(&b, "contact", data) == nil && b.Len() > 0 {
			data.Contact = b.String()
		} else {
			data.Contact = rules.DefaultContact
		}
	}
	for _, id := range dm.Decision.Try {
		i := slices.IndexFunc(dm.Assessment.Proof, func(p model.MethodProof) bool { return p.ID == id })
		if i < 0 {
			continue
		}
		p := dm.Assessment.Proof[i]
		m := tryMethod{Kind: p.Kind, Name: mask.Line(p.Name), Since: p.LastUsed, Failed: p.LastFailed.After(p.LastUsed)}
		var b bytes.Buffer
		if err := nt.text.ExecuteTemplate(&b, "try-line", m); err != nil {
			return model.RenderedNudge{}, fmt.Errorf("render try nudge line (%s): %w", lang, err)
		}
		data.TryLines = append(data.TryLines, strings.TrimSpace(b.String()))
	}
	if len(data.TryLines) == 0 {
		return model.RenderedNudge{}, fmt.Errorf("render try nudge: %w: none of the methods to try (%s) is in the assessment", model.ErrInvalidInput, strings.Join(dm.Decision.Try, ", "))
	}
	var subject, text, html bytes.Buffer
	if err := nt.text.ExecuteTemplate(&subject, "try-subject", data); err != nil {
		return model.RenderedNudge{}, fmt.Errorf("render try nudge subject (%s): %w", lang, err)
	}
	data.Subject = strings.TrimSpace(subject.String())
	if err := nt.text.ExecuteTemplate(&text, "try-text", data); err != nil {
		return model.RenderedNudge{}, fmt.Errorf("render try nudge text (%s): %w", lang, err)
	}
	if err := nt.html.ExecuteTemplate(&html, "try", data); err != nil {
		return model.RenderedNudge{}, fmt.Errorf("render try nudge html (%s): %w", lang, err)
	}
	return model.RenderedNudge{Language: lang, Subject: data.Subject, Text: text.String(), HTML: html.String()}, nil
}

// renderPolicyTicket words the one tenant-side ticket about a change of the
// tenant's own policy: what changed, who changed it (masked), and how many
// users it dropped below policy, by violation.
func renderPolicyTicket(pc *model.PolicyChangeTicket) model.RenderedTicket {
	name := mask.Line(pc.PolicyName)
	if name == "" {
		name = mask.Line(pc.PolicyID)
	}
	title := fmt.Sprintf("Policy change dropped %d users below policy: %s", pc.Dropped, name)
	var b strings.Builder
	fmt.Fprintf(&b, "The tenant's own policy changed: %q on %q", mask.Line(pc.Activity), name)
	if pc.PolicyID != "" && pc.PolicyID != pc.PolicyName {
		fmt.Fprintf(&b, " (%s)", mask.Line(pc.PolicyID))
	}
	fmt.Fprintf(&b, " at %s", pc.Time.UTC().Format("2006-01-02 15:04 UTC"))
	if pc.By != "" {
		fmt.Fprintf(&b, " by %s", mask.Line(pc.By))
	}
	fmt.Fprintf(&b, " (audit record %s).\n\n", mask.Line(pc.AuditID))
	b.WriteString("Re-evaluating the tenant")
	if pc.Evaluated > 0 {
		fmt.Fprintf(&b, " (%d users)", pc.Evaluated)
	}
	fmt.Fprintf(&b, " found %d users within policy before the change and below policy after it.\n", pc.Dropped)
	if len(pc.Violations) > 0 {
		b.WriteString("\nBy violation (a user may have several):\n")
		keys := make([]string, 0, len(pc.Violations))
		for v := range pc.Violations {
			keys = append(keys, string(v))
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "- %s: %d\n", k, pc.Violations[model.Violation(k)])
		}
	}
	if pc.Held > 0 {
		fmt.Fprintf(&b, "\nThe first nudges of %d of them wait until %s, the end of the grace period: if the change is a rollout in progress, finish it (or undo the change) by then, and users within policy again hear nothing.", pc.Held, pc.GraceUntil.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if n := pc.Dropped - pc.Held; n > 0 {
		fmt.Fprintf(&b, "\n%d of them have tickets of their own already (locked out, without an MFA path, or in a tier whose violations go to the helpdesk): they are not held.", n)
	}
	b.WriteString("\nThe counts are those when this ticket was opened; a re-evaluation still under way may add users.")
	return model.RenderedTicket{Title: title, Description: b.String()}
}
