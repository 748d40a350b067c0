package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/credres/credres/pkg/graphjson"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// summary is the tenant-wide view of an assessment run.
type summary struct {
	Users        int            `json:"users"`
	Compliant    int            `json:"compliant"`
	NonCompliant int            `json:"nonCompliant"`
	Exempt       int            `json:"exempt"`
	WithoutPath  int            `json:"withoutAnyPath"`
	Passwordless int            `json:"passwordless"`
	PhishingRes  int            `json:"phishingResistant"`
	ByDiversity  map[string]int `json:"byDiversity"`
	ByTier       map[string]int `json:"byTier"`
	Violations   map[string]int `json:"violations"`
	TenantSide   int            `json:"tenantSideUsers"`
	// Guests and DisabledAccounts are the users the policy leaves alone
	// (counted in ByTier under "(guests)" and "(disabled accounts)", not
	// their tier); MethodWarnings counts the users with a method counted
	// as another (a duplicate id, a re-registration).
	Guests           int `json:"guests,omitempty"`
	DisabledAccounts int `json:"disabledAccounts,omitempty"`
	MethodWarnings   int `json:"methodWarnings,omitempty"`
	// TenantPolicy says whether the snapshot carries the tenant's own
	// policy and what credres assumed where it carries or models less.
	TenantPolicy tenantPolicyNotes `json:"tenantPolicy"`
}

// tenantPolicyNotes is the tenant's policy as an assessment run used it.
type tenantPolicyNotes struct {
	Included bool     `json:"included"`
	Notes    []string `json:"notes"`
	// DisabledMethods counts registered methods the policy leaves unusable.
	DisabledMethods int `json:"disabledMethods"`
}

type assessOutput struct {
	Users   []model.Assessment `json:"users"`
	Summary summary            `json:"summary"`
	// EmergencyAccess is the emergency access accounts judged as a set,
	// when the policy has such a tier and some user is in it.
	EmergencyAccess *rules.EmergencyAccessSet `json:"emergencyAccess,omitempty"`
}

func runAssess(e env, args []string) int {
	fs := flags(e, "assess")
	directory := fs.String("directory", "", "directory snapshot `file` (see docs/SNAPSHOT.md)")
	policyFile := fs.String("policy", "", "policy `file` (YAML); the embedded default policy when empty")
	format := fs.String("format", "table", "output `format`: table or json")
	nowFlag := fs.String("now", "", "judge method usage at this RFC 3339 `time` instead of the clock")
	var g graphFlags
	g.register(fs, true)
	if code := parse(e, fs, args); code >= 0 {
		return code
	}
	if *format != "table" && *format != "json" {
		return usageError(e, fs, "--format must be table or json, not %q", *format)
	}
	now := time.Now().UTC()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return usageError(e, fs, "--now %q is not an RFC 3339 time", *nowFlag)
		}
		now = t.UTC()
	}
	if *format == "json" && !g.enabled && len(g.users) == 0 {
		return assessStreamed(e, fs, *directory, *policyFile, now)
	}
	dir, code := loadSource(e, fs, *directory, &g)
	if code >= 0 {
		return code
	}
	engine, err := loadEngine(*policyFile)
	if err != nil {
		return inputError(e, err)
	}
	// The policy's own proofWindow and countUnproven apply, as in report.
	engine = engine.At(now)
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	defer w.Flush()
	if *format == "json" {
		if err := streamAssessJSON(w, engine, dir); err != nil {
			return inputError(e, err)
		}
		return exitOK
	}
	out := assessOutput{Users: engine.EvaluateAll(dir)}
	out.Summary = summarise(out.Users)
	out.Summary.tenantPolicy(dir.Tenant)
	out.EmergencyAccess = emergencyAccess(engine, dir, out.Users)
	writeAssessTable(w, out)
	return exitOK
}

// assessChunk is how many users streamAssessJSON evaluates at a time.
const assessChunk = 8192

// streamAssessJSON writes the assessOutput of a directory held whole (read
// from Graph), evaluating a chunk of users at a time (on every core) and
// writing it before the next, so that a large tenant's assessments are
// never all in memory together.
func streamAssessJSON(w io.Writer, engine *rules.Engine, dir *model.Directory) error {
	as := &assessStream{w: w, engine: engine}
	if err := as.head(dir); err != nil {
		return err
	}
	for lo := 0; lo < len(dir.Users); lo += assessChunk {
		if err := as.users(dir.Users[lo:min(lo+assessChunk, len(dir.Users))]); err != nil {
			return err
		}
	}
	return as.close()
}

// assessStreamed writes assess --format json while the snapshot is read:
// each batch of users is evaluated and written as it comes, and the
// directory is never held (docs/PERFORMANCE.md). A snapshot found invalid
// past its first users leaves the output unfinished (not a JSON document)
// and exits 1; users left out are named on standard error at the end.
func assessStreamed(e env, fs interface{ Name() string }, file, policyFile string, now time.Time) int {
	if file == "" {
		_, code := loadDirectory(e, fs, file)
		return code
	}
	engine, err := loadEngine(policyFile)
	if err != nil {
		return inputError(e, err)
	}
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	defer w.Flush()
	as := &assessStream{w: w, engine: engine.At(now)}
	invalid, err := streamFile(file, graphjson.Stream{Head: as.head, Users: as.users})
	if err == nil {
		err = as.close()
	}
	if err != nil {
		return inputError(e, err)
	}
	if invalid != nil {
		partialInput(e, invalid)
	}
	return exitOK
}

// streamGCPercent is the garbage collector's target (GOGC) while an
// offline command streams a snapshot: what stays live is a batch of users,
// so a higher target costs little memory and saves collections.
const streamGCPercent = 200

// streamFile reads the snapshot in file a batch of users at a time,
// without the methods' Graph objects.
func streamFile(file string, s graphjson.Stream) (invalid, err error) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(streamGCPercent))
	}
	return graphjson.StreamFile(file, graphjson.DirectoryOptions{}, s)
}

// assessStream evaluates and writes users a batch at a time.
type assessStream struct {
	w         io.Writer
	aw        *assessJSONWriter
	engine    *rules.Engine
	tenant    model.Tenant
	sum       summary
	emergency []*model.User
}

// head starts the output once the tenant is known.
func (as *assessStream) head(d *model.Directory) error {
	as.tenant, as.sum = d.Tenant, newSummary()
	var err error
	as.aw, err = newAssessJSONWriter(as.w)
	return err
}

// users evaluates a batch (on every core) and writes it; the emergency
// access accounts are kept for the set's assessment at the end.
func (as *assessStream) users(us []model.User) error {
	res := as.engine.EvaluateAll(&model.Directory{Tenant: as.tenant, Users: us})
	for i := range res {
		as.sum.add(&res[i])
		if res[i].EmergencyAccess {
			u := us[i]
			u.Methods = slices.Clone(u.Methods)
			as.emergency = append(as.emergency, &u)
		}
		if err := as.aw.user(&res[i]); err != nil {
			return err
		}
	}
	return nil
}

func (as *assessStream) close() error {
	as.sum.tenantPolicy(as.tenant)
	return as.aw.close(as.sum, emergencySet(as.engine, as.tenant, as.emergency))
}

// tenantPolicy notes whether the tenant's own policy was included.
func (s *summary) tenantPolicy(t model.Tenant) {
	s.TenantPolicy.Included = t.HasTenantPolicy()
	s.TenantPolicy.Notes = rules.TenantPolicyNotes(t)
}

// loadSource reads the snapshot named by --directory or, with --graph, the
// live tenant.
func loadSource(e env, fs interface{ Name() string }, file string, g *graphFlags) (*model.Directory, int) {
	switch {
	case g.enabled && file != "":
		fmt.Fprintf(e.stderr, "%s: give --directory or --graph, not both\n", fs.Name())
		return nil, exitUsage
	case !g.enabled && len(g.users) > 0:
		fmt.Fprintf(e.stderr, "%s: --user goes with --graph\n", fs.Name())
		return nil, exitUsage
	case g.enabled:
		dir, err := g.directory(e)
		if err != nil {
			return nil, inputError(e, err)
		}
		return dir, -1
	}
	return loadDirectory(e, fs, file)
}

// offlineGCPercent is the garbage collector's target (GOGC) while the
// offline commands run.
const offlineGCPercent = 25

// loadDirectory reads the snapshot named by --directory.
func loadDirectory(e env, fs interface{ Name() string }, file string) (*model.Directory, int) {
	if file == "" {
		if g, ok := fs.(interface{ Lookup(string) *flag.Flag }); ok && g.Lookup("graph") != nil {
			fmt.Fprintf(e.stderr, "%s: --directory FILE is required (or --graph for the live tenant)\n", fs.Name())
		} else {
			fmt.Fprintf(e.stderr, "%s: --directory FILE is required (a snapshot: credres export --graph writes one)\n", fs.Name())
		}
		return nil, exitUsage
	}
	// The offline commands hold a whole tenant, and almost all they
	// allocate stays live until they exit: a low collection target keeps
	// peak memory near what is live for little work (docs/PERFORMANCE.md).
	// GOGC, when set, still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(offlineGCPercent)
	}
	// They only evaluate: the methods' Graph objects are not kept (they
	// would be most of the memory).
	dir, err := graphjson.LoadDirectoryWith(file, graphjson.DirectoryOptions{})
	return readDirectory(e, dir, err)
}

// readDirectory goes on with a snapshot read whole or in part: the users
// it could not read are named on standard error and left out, the others
// are assessed, and the command exits 1. A snapshot not read at all stops
// the command.
func readDirectory(e env, dir *model.Directory, err error) (*model.Directory, int) {
	if dir == nil {
		return nil, inputError(e, err)
	}
	if err != nil {
		partialInput(e, err)
	}
	return dir, -1
}

// emergencyAccess judges the emergency access accounts as a set.
func emergencyAccess(e *rules.Engine, dir *model.Directory, as []model.Assessment) *rules.EmergencyAccessSet {
	var users []*model.User
	for i := range as {
		if as[i].EmergencyAccess {
			users = append(users, &dir.Users[i])
		}
	}
	return emergencySet(e, dir.Tenant, users)
}

func emergencySet(e *rules.Engine, t model.Tenant, users []*model.User) *rules.EmergencyAccessSet {
	set, ok := e.EmergencyAccess(t, users)
	if !ok {
		return nil
	}
	return &set
}

func loadEngine(policyFile string) (*rules.Engine, error) {
	if policyFile == "" {
		return rules.New(nil), nil
	}
	p, err := rules.LoadPolicy(policyFile)
	if err != nil {
		return nil, err
	}
	return rules.New(p), nil
}

func newSummary() summary {
	return summary{ByDiversity: map[string]int{}, ByTier: map[string]int{}, Violations: map[string]int{}}
}

func summarise(as []model.Assessment) summary {
	s := newSummary()
	for i := range as {
		s.add(&as[i])
	}
	return s
}

// add counts one user's assessment.
func (s *summary) add(a *model.Assessment) {
	s.Users++
	switch {
	case a.Compliant:
		s.Compliant++
	default:
		s.NonCompliant++
	}
	if a.Exempt {
		s.Exempt++
	}
	if len(a.Paths) == 0 {
		s.WithoutPath++
	}
	if a.Passwordless {
		s.Passwordless++
	}
	if a.PhishingResistant {
		s.PhishingRes++
	}
	s.ByDiversity[diversityBucket(a.Diversity)]++
	tier := a.Tier
	if tier == "" {
		tier = "(no tier)"
	}
	switch a.Excluded {
	case model.ExcludedGuest:
		s.Guests++
		tier = "(guests)"
	case model.ExcludedDisabled:
		s.DisabledAccounts++
		tier = "(disabled accounts)"
	}
	if len(a.Warnings) > 0 {
		s.MethodWarnings++
	}
	s.ByTier[tier]++
	for _, v := range a.Violations {
		s.Violations[string(v)]++
	}
	if len(a.TenantSide) > 0 {
		s.TenantSide++
	}
	for _, ig := range a.Ignored {
		if ig.Reason == model.IgnoredDisabledByTenant {
			s.TenantPolicy.DisabledMethods++
		}
	}
}

// diversityBucket groups diversity as the report does: 0, 1, 2, 3+.
func diversityBucket(d int) string {
	if d >= 3 {
		return "3+"
	}
	return fmt.Sprint(d)
}

// assessJSONWriter writes assessOutput one user at a time, one user per
// line: the document stays one JSON value, large tenants stay greppable,
// and compact encoding keeps output cheap next to reading the snapshot.
type assessJSONWriter struct {
	w     io.Writer
	buf   bytes.Buffer
	enc   *json.Encoder
	users int
}

func newAssessJSONWriter(w io.Writer) (*assessJSONWriter, error) {
	aw := &assessJSONWriter{w: w}
	aw.enc = json.NewEncoder(&aw.buf)
	aw.enc.SetEscapeHTML(false)
	_, err := io.WriteString(w, "{\"users\":[\n")
	return aw, err
}

func (aw *assessJSONWriter) user(a *model.Assessment) error {
	aw.buf.Reset()
	if aw.users > 0 {
		aw.buf.WriteString(",\n")
	}
	aw.users++
	if err := aw.enc.Encode(a); err != nil {
		return err
	}
	_, err := aw.w.Write(bytes.TrimSuffix(aw.buf.Bytes(), []byte("\n")))
	return err
}

func (aw *assessJSONWriter) close(s summary, ea *rules.EmergencyAccessSet) error {
	aw.buf.Reset()
	aw.buf.WriteString("\n],\"summary\":")
	if err := aw.enc.Encode(s); err != nil {
		return err
	}
	aw.buf.Truncate(aw.buf.Len() - 1)
	if ea != nil {
		aw.buf.WriteString(",\"emergencyAccess\":")
		if err := aw.enc.Encode(ea); err != nil {
			return err
		}
		aw.buf.Truncate(aw.buf.Len() - 1)
	}
	aw.buf.WriteString("}\n")
	_, err := aw.w.Write(aw.buf.Bytes())
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func writeAssessTable(w io.Writer, out assessOutput) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tTIER\tDIVERSITY\tCOMPLIANT\tSINGLE POINTS OF FAILURE\tVIOLATIONS")
	for _, a := range out.Users {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", a.UserPrincipalName, orDash(a.Tier), a.Diversity,
			yesNo(a), orDash(strings.Join(a.SPOFs, ", ")), orDash(shortViolations(a.Violations)))
	}
	tw.Flush()
	s := out.Summary
	fmt.Fprintf(w, "\n%d users: %d compliant, %d not", s.Users, s.Compliant, s.NonCompliant)
	if s.Exempt > 0 {
		fmt.Fprintf(w, " (%d exempt)", s.Exempt)
	}
	fmt.Fprintf(w, "; %d without any MFA path; %d passwordless; %d phishing-resistant.\n", s.WithoutPath, s.Passwordless, s.PhishingRes)
	fmt.Fprintf(w, "Diversity: 0: %d, 1: %d, 2: %d, 3+: %d.\n", s.ByDiversity["0"], s.ByDiversity["1"], s.ByDiversity["2"], s.ByDiversity["3+"])
	if len(s.Violations) > 0 {
		codes := make([]string, 0, len(s.Violations))
		for c := range s.Violations {
			codes = append(codes, c)
		}
		sort.Slice(codes, func(i, j int) bool {
			if s.Violations[codes[i]] != s.Violations[codes[j]] {
				return s.Violations[codes[i]] > s.Violations[codes[j]]
			}
			return codes[i] < codes[j]
		})
		fmt.Fprintln(w, "Violations:")
		for _, c := range codes {
			fmt.Fprintf(w, "  %4d  %s\n", s.Violations[c], c)
		}
	}
	if s.TenantSide > 0 {
		fmt.Fprintf(w, "%d users have violations only the tenant can fix (password hash sync fallback); see 'credres explain'.\n", s.TenantSide)
	}
	if ea := out.EmergencyAccess; ea != nil {
		verdict := "within policy"
		if !ea.Compliant {
			verdict = "below policy: a ticket for the security team"
		}
		fmt.Fprintf(w, "Emergency access accounts (%d, tier %q) as a set: diversity %d (minimum %d), %s", len(ea.Users), ea.Tier, ea.Diversity, ea.MinDiversity, verdict)
		if len(ea.SPOFs) > 0 {
			fmt.Fprintf(w, "; every path of every account depends on %s", strings.Join(ea.SPOFs, ", "))
		}
		fmt.Fprintln(w, ".")
	}
	if s.Guests+s.DisabledAccounts > 0 {
		fmt.Fprintf(w, "%d guests and %d disabled accounts are reported but never nudged or ticketed (the policy's guests and disabledAccounts keys).\n", s.Guests, s.DisabledAccounts)
	}
	if s.MethodWarnings > 0 {
		fmt.Fprintf(w, "Warning: %d users have a method counted together with another (the same id listed twice, or Microsoft Authenticator registered again on the same phone); see 'credres explain'.\n", s.MethodWarnings)
	}
	tp := s.TenantPolicy
	fmt.Fprintln(w, "Tenant policy:")
	if tp.Included {
		fmt.Fprintf(w, "  %d registered methods are not counted because the tenant's authentication methods policy leaves them unusable.\n", tp.DisabledMethods)
	}
	for _, n := range tp.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// shortViolations drops the "single-point-of-failure:" codes, which the SPOF
// column already shows.
func shortViolations(vs []model.Violation) string {
	var out []string
	for _, v := range vs {
		if _, spof := v.SPOF(); !spof {
			out = append(out, string(v))
		}
	}
	return strings.Join(out, ", ")
}

func yesNo(a model.Assessment) string {
	switch {
	case a.Compliant:
		return "yes"
	case a.Excluded == model.ExcludedGuest:
		return "no (guest)"
	case a.Excluded == model.ExcludedDisabled:
		return "no (disabled)"
	case a.Exempt:
		return "no (exempt)"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
