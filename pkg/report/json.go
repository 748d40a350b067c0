package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/internal/jsonstr"
	"github.com/credres/credres/pkg/model"
)

// WriteJSON writes the report as indented JSON, the document encoding/json
// would produce for Report, except that every array of plain values (user
// ids, dependency kinds, method kinds) is on one line. The document stays
// readable and diffs well, and a report over a hundred thousand users is
// streamed out in chunks rather than built whole in memory and re-indented.
func (r *Report) WriteJSON(w io.Writer) error {
	j := &jsonWriter{w: w, buf: make([]byte, 0, 2*jsonChunk), t: r.t}
	j.report(r)
	j.buf = append(j.buf, '\n')
	j.flush()
	if j.err != nil {
		return fmt.Errorf("report: write json: %w", j.err)
	}
	return nil
}

const jsonChunk = 1 << 16

// jsonWriter writes one document, two spaces per level, and keeps the first
// write error.
type jsonWriter struct {
	w     io.Writer
	buf   []byte
	depth int
	first bool // no member written yet in the current object or array
	err   error
	// t, when set, holds the users of the report's lists (Report.t).
	t *table
}

func (j *jsonWriter) flush() {
	if j.err == nil && len(j.buf) > 0 {
		_, j.err = j.w.Write(j.buf)
	}
	j.buf = j.buf[:0]
}

func (j *jsonWriter) newline() {
	j.buf = append(j.buf, '\n')
	for range j.depth {
		j.buf = append(j.buf, ' ', ' ')
	}
	if len(j.buf) >= jsonChunk {
		j.flush()
	}
}

func (j *jsonWriter) open(c byte) {
	j.buf = append(j.buf, c)
	j.depth++
	j.first = true
}

func (j *jsonWriter) close(c byte) {
	j.depth--
	if !j.first {
		j.newline()
	}
	j.buf = append(j.buf, c)
	j.first = false
}

// elem starts a member of an array.
func (j *jsonWriter) elem() {
	if !j.first {
		j.buf = append(j.buf, ',')
	}
	j.first = false
	j.newline()
}

// key starts a member of an object.
func (j *jsonWriter) key(name string) {
	j.elem()
	j.buf = appendString(j.buf, name)
	j.buf = append(j.buf, ':', ' ')
}

func (j *jsonWriter) str(name, v string) {
	j.key(name)
	j.buf = appendString(j.buf, v)
}

func (j *jsonWriter) int(name string, v int) {
	j.key(name)
	j.buf = strconv.AppendInt(j.buf, int64(v), 10)
}

func (j *jsonWriter) bool(name string, v bool) {
	j.key(name)
	j.buf = strconv.AppendBool(j.buf, v)
}

// strs writes a list of strings on one line.
func strs[S ~string](j *jsonWriter, name string, list []S) {
	j.list(name, len(list), func(i int) string { return string(list[i]) })
}

// users writes a list of users: their ids, or those of the users kept in
// the table when the report has one.
func (j *jsonWriter) users(ids []string, kept places) {
	if j.t == nil {
		strs(j, "users", ids)
		return
	}
	j.list("users", kept.len(), func(i int) string { return j.t.id(*kept.at(i)) })
}

// list writes n strings on one line.
func (j *jsonWriter) list(name string, n int, at func(int) string) {
	j.key(name)
	j.buf = append(j.buf, '[')
	for i := range n {
		if i > 0 {
			j.buf = append(j.buf, ',', ' ')
		}
		j.buf = appendString(j.buf, at(i))
		if len(j.buf) >= jsonChunk {
			j.flush()
		}
	}
	j.buf = append(j.buf, ']')
}

// appendString appends s as a JSON string, without HTML escaping, as the
// rest of the CLI writes JSON.
func appendString(buf []byte, s string) []byte { return jsonstr.Append(buf, s, false) }

// The members follow the fields of the types in report.go, in order, with
// their JSON names; TestWriteJSONIsEncodingJSON holds the two together.

func (j *jsonWriter) report(r *Report) {
	j.open('{')
	j.time("generatedAt", r.GeneratedAt)
	j.time("exportedAt", r.ExportedAt)
	j.key("tenant")
	j.tenant(r.Tenant)
	j.key("summary")
	j.summary(&r.Summary)
	objects(j, "diversity", r.Diversity, j.tierDiversity)
	objects(j, "outages", r.Outages, func(o *Outage) {
		strs(j, "down", o.Down)
		j.int("lockedOut", o.LockedOut)
		j.users(o.Users, o.kept)
	})
	j.key("withoutAnyPath")
	j.group(r.WithoutAnyPath)
	objects(j, "spofs", r.SPOFs, func(g *KindGroup) { j.kindGroup(g.Kind, g.Count, g.Users, g.kept) })
	j.key("telephonyOnly")
	j.group(r.TelephonyOnly)
	j.key("privilegedWithoutPhishingResistant")
	j.group(r.PrivilegedWithoutPhishingResistant)
	j.key("hybrid")
	j.hybrid(&r.Hybrid)
	objects(j, "recommendations", r.Recommendations, func(rec *Recommendation) {
		strs(j, "add", rec.Add)
		j.str("action", rec.Action)
		j.int("cost", rec.Cost)
		j.int("users", rec.Users)
		j.int("firstChoice", rec.FirstChoice)
	})
	j.key("tenantPolicy")
	j.tenantPolicy(&r.TenantPolicy)
	if r.Usage != nil {
		j.key("usage")
		j.usage(r.Usage)
	}
	j.key("users")
	j.open('[')
	for u := range r.rows {
		j.userRow(u)
	}
	j.close(']')
	if r.t != nil {
		j.keptNames()
	} else {
		j.names(r.UserPrincipalNames)
	}
	j.close('}')
}

// objects writes a list of objects, each member written by each.
func objects[T any](j *jsonWriter, name string, list []T, each func(*T)) {
	j.key(name)
	j.open('[')
	for i := range list {
		j.elem()
		j.open('{')
		each(&list[i])
		j.close('}')
	}
	j.close(']')
}

func (j *jsonWriter) kindGroup(kind string, count int, users []string, kept places) {
	j.str("kind", kind)
	j.int("count", count)
	j.users(users, kept)
}

// time writes t in RFC 3339, as encoding/json does, and nothing when it is
// zero (omitzero).
func (j *jsonWriter) time(name string, t time.Time) {
	if !t.IsZero() {
		j.str(name, t.Format(time.RFC3339Nano))
	}
}

func (j *jsonWriter) names(upns map[string]string) {
	j.key("userPrincipalNames")
	j.open('{')
	// The pairs, not the ids alone: no second look-up per id.
	type name struct{ id, upn string }
	names := make([]name, 0, len(upns))
	for id, upn := range upns {
		names = append(names, name{id, upn})
	}
	slices.SortFunc(names, func(a, b name) int { return strings.Compare(a.id, b.id) }) // as encoding/json orders map keys
	for _, n := range names {
		j.str(n.id, n.upn)
	}
	j.close('}')
}

// keptNames writes the names of the users listed as names writes
// UserPrincipalNames, from the table.
func (j *jsonWriter) keptNames() {
	j.key("userPrincipalNames")
	j.open('{')
	for _, n := range j.t.named() {
		j.str(n.id, j.t.upn(n.at))
	}
	j.close('}')
}

func (j *jsonWriter) tenant(t model.Tenant) {
	j.open('{')
	j.str("id", t.ID)
	j.str("passwordAuth", string(t.PasswordAuth))
	j.bool("phsFallback", t.PHSFallback)
	j.close('}')
}

func (j *jsonWriter) summary(s *Summary) {
	j.open('{')
	j.int("users", s.Users)
	j.int("compliant", s.Compliant)
	j.int("nonCompliant", s.NonCompliant)
	j.int("exempt", s.Exempt)
	j.int("passwordless", s.Passwordless)
	j.int("phishingResistant", s.PhishingResistant)
	j.int("withoutAnyPath", s.WithoutAnyPath)
	j.int("oneOutageAway", s.OneOutageAway)
	j.key("worstOutage")
	j.open('{')
	j.str("down", s.WorstOutage.Down)
	j.int("lockedOut", s.WorstOutage.LockedOut)
	j.close('}')
	j.key("byDiversity")
	j.diversityCounts(s.ByDiversity)
	j.close('}')
}

func (j *jsonWriter) diversityCounts(c DiversityCounts) {
	j.open('{')
	j.int("0", c.Zero)
	j.int("1", c.One)
	j.int("2", c.Two)
	j.int("3+", c.ThreePlus)
	j.close('}')
}

func (j *jsonWriter) tierDiversity(td *TierDiversity) {
	j.str("tier", td.Tier)
	j.int("minDiversity", td.MinDiversity)
	if td.Exempt {
		j.bool("exempt", true)
	}
	j.int("users", td.Users)
	j.int("compliant", td.Compliant)
	j.key("byDiversity")
	j.diversityCounts(td.ByDiversity)
}

func (j *jsonWriter) group(g Group) {
	j.open('{')
	j.int("count", g.Count)
	j.users(g.Users, g.kept)
	j.close('}')
}

func (j *jsonWriter) hybrid(h *Hybrid) {
	j.open('{')
	j.str("passwordAuth", string(h.PasswordAuth))
	j.bool("phsFallback", h.PHSFallback)
	j.bool("applicable", h.Applicable)
	j.int("syncedUsers", h.SyncedUsers)
	j.key("onPremises")
	j.group(h.OnPremises)
	for _, f := range []struct {
		name string
		v    HybridFigures
	}{{"current", h.Current}, {"withPHSFallback", h.WithPHSFallback}} {
		j.key(f.name)
		j.open('{')
		j.int("compliant", f.v.Compliant)
		j.int("lockedOutByOnPremises", f.v.LockedOutByOnPremises)
		j.close('}')
	}
	j.key("becomeCompliant")
	j.group(h.BecomeCompliant)
	j.close('}')
}

func (j *jsonWriter) usage(u *Usage) {
	j.open('{')
	j.str("proofWindow", u.ProofWindow)
	j.str("now", u.Now)
	j.int("usersSeen", u.UsersSeen)
	j.int("usersNotSeen", u.UsersNotSeen)
	j.int("signIns", u.SignIns)
	j.int("mfaSignIns", u.MFASignIns)
	objects(j, "methods", u.Methods, func(m *MethodShare) {
		j.str("kind", string(m.Kind))
		j.int("signIns", m.SignIns)
		j.key("share")
		j.buf = strconv.AppendFloat(j.buf, m.Share, 'f', -1, 64)
	})
	j.key("phoneNetworkOnly")
	j.group(u.PhoneNetworkOnly)
	objects(j, "neverUsed", u.NeverUsed, func(g *MethodKindGroup) { j.kindGroup(string(g.Kind), g.Count, g.Users, g.kept) })
	j.key("belowWithoutUnproven")
	j.group(u.BelowWithoutUnproven)
	j.close('}')
}
