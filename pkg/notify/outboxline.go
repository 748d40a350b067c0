package notify

import (
	"github.com/credres/credres/internal/jsonstr"
	"github.com/credres/credres/pkg/model"
)

// appendNudgeLine appends rec as json.Marshal writes it; ok is false when
// its time is outside RFC 3339's years, which json.Marshal refuses. A
// nudge line is mostly its text and HTML, which encoding/json would scan
// once to escape and once more through reflection.
func appendNudgeLine(b []byte, rec *model.NudgeRecord) ([]byte, bool) {
	str := func(key, s string, omitEmpty bool) {
		if !omitEmpty || s != "" {
			b = jsonstr.Append(append(b, key...), s, true)
		}
	}
	str(`{"decisionId":`, rec.DecisionID, false)
	str(`,"userId":`, rec.UserID, false)
	str(`,"decision":`, rec.Decision, false)
	if rec.Reminder {
		b = append(b, `,"reminder":true`...)
	}
	b = jsonstr.AppendStrings(append(b, `,"violations":`...), rec.Violations, true)
	b = jsonstr.AppendStrings(append(b, `,"reasons":`...), rec.Reasons, true)
	b = append(b, `,"time":"`...)
	var err error
	if b, err = rec.Time.AppendText(b); err != nil {
		return b, false
	}
	b = append(b, '"')
	str(`,"channel":`, string(rec.Channel), false)
	str(`,"to":`, rec.To, true)
	str(`,"language":`, rec.Language, true)
	str(`,"subject":`, rec.Subject, true)
	str(`,"text":`, rec.Text, true)
	str(`,"html":`, rec.HTML, true)
	if rec.DryRun {
		b = append(b, `,"dryRun":true`...)
	}
	return append(b, '}'), true
}
