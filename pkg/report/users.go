package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/credres/credres/pkg/model"
)

// UserRow is one user as the report lists every user: what Entra's "User
// registration details" shows of them (user type, admin, default and
// system-preferred method, self-service password reset), next to how the
// user stands against their tier. A nil pointer, an empty DefaultMethod or
// UserType and a nil SystemPreferredMethods mean that the snapshot does not
// say: the report shows them as unknown, never as "no".
type UserRow struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	// UserType is "member" or "guest" (Graph's userType, in lower case),
	// empty when the snapshot does not say.
	UserType       string `json:"userType"`
	AccountEnabled *bool  `json:"accountEnabled"`
	// Admin: the user holds or is eligible for a directory role
	// (model.User.Admin: active and PIM-eligible roles), which is wider
	// than the registration report's own isAdmin (active roles only).
	Admin bool `json:"admin"`
	// Tier is the user's tier, "" for none; Excluded says why a guest or
	// a disabled account is left alone (model.Assessment.Excluded).
	Tier              string `json:"tier"`
	Excluded          string `json:"excluded,omitempty"`
	Diversity         int    `json:"diversity"`
	Compliant         bool   `json:"compliant"`
	Passwordless      bool   `json:"passwordless"`
	PhishingResistant bool   `json:"phishingResistant"`
	// Methods are the kinds of the user's registered methods, each once,
	// in the order of the snapshot.
	Methods []model.MethodKind `json:"methods"`
	// DefaultMethod is the registration report's
	// userPreferredMethodForSecondaryAuthentication ("push", "sms", "none").
	DefaultMethod string `json:"defaultMethod"`
	// SystemPreferredMethods is the registration report's
	// systemPreferredAuthenticationMethods, and SystemPreferredEnabled its
	// isSystemPreferredAuthenticationMethodEnabled.
	SystemPreferredMethods []string `json:"systemPreferredMethods"`
	SystemPreferredEnabled *bool    `json:"systemPreferredEnabled"`
	SSPRRegistered         *bool    `json:"ssprRegistered"`
}

// Unknown is how the CSV export and the HTML page show a value the
// snapshot does not carry.
const Unknown = "unknown"

// CSVColumns are the columns of the CSV export, in order, named as the
// JSON report names the fields of UserRow (docs/REPORT.md).
var CSVColumns = []string{
	"id", "userPrincipalName", "displayName", "userType", "accountEnabled", "admin",
	"tier", "excluded", "diversity", "compliant", "passwordless", "phishingResistant", "methods",
	"defaultMethod", "systemPreferredMethods", "systemPreferredEnabled", "ssprRegistered",
	"exportedAt", "generatedAt",
}

// WriteCSV writes one row per user, in the order of the snapshot, under a
// header of CSVColumns, as RFC 4180 says (CRLF line ends, fields quoted when
// they hold a comma, a quote or a line break). Values the snapshot does not
// carry are "unknown"; a list is joined with ";". A cell that a spreadsheet
// would read as a formula (one starting with =, +, -, @, a tab or a carriage
// return: a display name can be anything) is written with a leading
// apostrophe, so that opening the file never runs what a user typed.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVColumns); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	exported, generated := timeOrUnknown(r.ExportedAt), timeOrUnknown(r.GeneratedAt)
	rec := make([]string, len(CSVColumns))
	for u := range r.rows {
		rec = append(rec[:0], u.ID, u.UserPrincipalName, u.DisplayName, orUnknown(u.UserType),
			boolOrUnknown(u.AccountEnabled), strconv.FormatBool(u.Admin),
			u.Tier, u.Excluded, strconv.Itoa(u.Diversity), strconv.FormatBool(u.Compliant),
			strconv.FormatBool(u.Passwordless), strconv.FormatBool(u.PhishingResistant), joinKinds(u.Methods),
			orUnknown(u.DefaultMethod), listOrUnknown(u.SystemPreferredMethods),
			boolOrUnknown(u.SystemPreferredEnabled), boolOrUnknown(u.SSPRRegistered), exported, generated)
		for j, cell := range rec {
			rec[j] = defuse(cell)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("report: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// defuse prefixes with an apostrophe a cell that a spreadsheet would take
// for a formula.
func defuse(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

func boolOrUnknown(b *bool) string {
	if b == nil {
		return Unknown
	}
	return strconv.FormatBool(*b)
}

func listOrUnknown(list []string) string {
	if list == nil {
		return Unknown
	}
	return strings.Join(list, ";")
}

func joinKinds(kinds []model.MethodKind) string {
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = string(k)
	}
	return strings.Join(parts, ";")
}

func timeOrUnknown(t time.Time) string {
	if t.IsZero() {
		return Unknown
	}
	return t.Format(time.RFC3339Nano)
}

// userRow writes one row on one line, so that a report of a hundred
// thousand users stays a line per user.
func (j *jsonWriter) userRow(u *UserRow) {
	j.elem()
	b := append(j.buf, `{"id": `...)
	b = appendString(b, u.ID)
	b = appendField(b, "userPrincipalName", u.UserPrincipalName)
	b = appendField(b, "displayName", u.DisplayName)
	b = appendField(b, "userType", u.UserType)
	b = appendBoolPtr(b, "accountEnabled", u.AccountEnabled)
	b = strconv.AppendBool(append(b, `, "admin": `...), u.Admin)
	b = appendField(b, "tier", u.Tier)
	if u.Excluded != "" {
		b = appendField(b, "excluded", u.Excluded)
	}
	b = strconv.AppendInt(append(b, `, "diversity": `...), int64(u.Diversity), 10)
	b = strconv.AppendBool(append(b, `, "compliant": `...), u.Compliant)
	b = strconv.AppendBool(append(b, `, "passwordless": `...), u.Passwordless)
	b = strconv.AppendBool(append(b, `, "phishingResistant": `...), u.PhishingResistant)
	b = appendList(append(b, `, "methods": `...), u.Methods)
	b = appendField(b, "defaultMethod", u.DefaultMethod)
	b = append(b, `, "systemPreferredMethods": `...)
	if u.SystemPreferredMethods == nil {
		b = append(b, "null"...)
	} else {
		b = appendList(b, u.SystemPreferredMethods)
	}
	b = appendBoolPtr(b, "systemPreferredEnabled", u.SystemPreferredEnabled)
	b = appendBoolPtr(b, "ssprRegistered", u.SSPRRegistered)
	j.buf = append(b, '}')
	if len(j.buf) >= jsonChunk {
		j.flush()
	}
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', ' ')
	b = appendString(b, name)
	b = append(b, ':', ' ')
	return appendString(b, v)
}

func appendBoolPtr(b []byte, name string, v *bool) []byte {
	b = append(b, ',', ' ')
	b = appendString(b, name)
	b = append(b, ':', ' ')
	if v == nil {
		return append(b, "null"...)
	}
	return strconv.AppendBool(b, *v)
}

func appendList[S ~string](b []byte, list []S) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		b = appendString(b, string(s))
	}
	return append(b, ']')
}

// Registration counts the users as the HTML page's registration details
// table shows them: each field by value, unknown apart.
type registration struct {
	Members, Guests, UnknownType int
	Admins                       int
	SSPR                         triCount
	SystemPreferredEnabled       triCount
	DefaultMethods               []valueCount
	SystemPreferredMethods       []valueCount
}

type triCount struct{ Yes, No, Unknown int }

func (c *triCount) add(b *bool) {
	switch {
	case b == nil:
		c.Unknown++
	case *b:
		c.Yes++
	default:
		c.No++
	}
}

type valueCount struct {
	Value string
	Users int
}

func newRegistration(rows []UserRow) *registration {
	g := &registration{}
	def, sys := map[string]int{}, map[string]int{}
	for i := range rows {
		u := &rows[i]
		switch u.UserType {
		case "member":
			g.Members++
		case "guest":
			g.Guests++
		default:
			g.UnknownType++
		}
		if u.Admin {
			g.Admins++
		}
		g.SSPR.add(u.SSPRRegistered)
		g.SystemPreferredEnabled.add(u.SystemPreferredEnabled)
		def[orUnknown(u.DefaultMethod)]++
		sys[listOrUnknown(u.SystemPreferredMethods)]++
	}
	g.DefaultMethods, g.SystemPreferredMethods = byUsers(def), byUsers(sys)
	return g
}

// byUsers lists the values most users first, unknown last.
func byUsers(m map[string]int) []valueCount {
	out := make([]valueCount, 0, len(m))
	for v, n := range m {
		out = append(out, valueCount{v, n})
	}
	slices.SortFunc(out, func(a, b valueCount) int {
		if (a.Value == Unknown) != (b.Value == Unknown) {
			if a.Value == Unknown {
				return 1
			}
			return -1
		}
		if a.Users != b.Users {
			return b.Users - a.Users
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out
}
