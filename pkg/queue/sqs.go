package queue

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/credres/credres/pkg/model"
)

// MaxMessageSize is the largest message credres sends: SQS's classic
// limit, counting the body and every message attribute's name, type and
// value. Queues may be configured for more; credres's messages are far
// smaller, and a message that is not is refused before any request.
const MaxMessageSize = 256 * 1024

// maxBatchEntries is the most messages one SendMessageBatch may carry; a
// batch's total size is bounded by MaxMessageSize too.
const maxBatchEntries = 10

// Message attributes credres sets.
const (
	// AttrReason carries why a dead letter could not be processed.
	AttrReason = "reason"
	// AttrEncoding is "base64" when a dead letter's body was not text SQS
	// accepts and was encoded, "empty" when there was no body (SQS needs
	// one, so the message body is then EmptyBody).
	AttrEncoding = "encoding"
	// AttrLetter and AttrPart mark the parts of a dead letter too large for
	// one message: the dead letter's id, and "i/n".
	AttrLetter = "letter"
	AttrPart   = "part"
)

// EmptyBody stands for the missing body of an empty dead letter.
const EmptyBody = "-"

// maxReasonBytes bounds a dead letter's reason; the rest of a long reason
// says nothing an operator needs.
const maxReasonBytes = 4096

// minReasonBytes is the least a reason is cut to.
const minReasonBytes = 64

// deadLetterGroup is the FIFO message group of all dead letters: they are
// kept for people, in the order they came.
const deadLetterGroup = "dead-letters"

// throttleCodes are the error codes SQS answers when a request exceeds a
// rate (the AWS JSON protocol may prefix them with AWS.SimpleQueueService.).
var throttleCodes = []string{"RequestThrottled", "ThrottlingException", "KmsThrottled"}

// SQS sends credres's messages to one Amazon SQS queue. A queue whose URL
// ends in .fifo gets a message group (the user id, so that one user's
// messages are handled in order and different users' in parallel) and a
// deduplication id per message (docs/STATE.md); a standard queue gets
// neither.
type SQS struct {
	client *sqs.Client
	url    string
	name   string // the queue's name, for errors
	fifo   bool
}

// NewSQS returns a sender to the queue at queueURL.
func NewSQS(client *sqs.Client, queueURL string) *SQS {
	name := queueURL[strings.LastIndex(queueURL, "/")+1:]
	return &SQS{client: client, url: queueURL, name: name, fifo: strings.HasSuffix(queueURL, ".fifo")}
}

// FIFO reports whether the queue is a FIFO queue.
func (q *SQS) FIFO() bool { return q.fifo }

// outgoing is one message to send. label names it in errors: ids only,
// never personal data.
type outgoing struct {
	body  string
	group string
	dedup string
	attrs map[string]types.MessageAttributeValue
	label string
}

func (m *outgoing) size() int {
	n := len(m.body)
	for name, v := range m.attrs {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// check validates a message before anything is sent.
func (q *SQS) check(m *outgoing) error {
	if size := m.size(); size > MaxMessageSize {
		return fmt.Errorf("%w: %s is %d bytes, more than the %d bytes (256 KiB) an SQS message may carry",
			model.ErrInvalidInput, m.label, size, MaxMessageSize)
	}
	if q.fifo {
		if err := fifoID("message group", m.group); err != nil {
			return fmt.Errorf("%w: %s: %w", model.ErrInvalidInput, m.label, err)
		}
		if err := fifoID("deduplication id", m.dedup); err != nil {
			return fmt.Errorf("%w: %s: %w", model.ErrInvalidInput, m.label, err)
		}
	}
	return nil
}

// fifoID checks a message group or deduplication id as SQS does: 1 to 128
// characters, letters, digits and punctuation (printable ASCII without the
// space). The SQS test server does not check this; SQS refuses the whole
// batch.
func fifoID(what, id string) error {
	if id == "" {
		return fmt.Errorf("no %s (for a FIFO queue)", what)
	}
	if len(id) > 128 {
		return fmt.Errorf("%s of %d characters, more than SQS's 128", what, len(id))
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%s with a character (byte %d) outside letters, digits and punctuation", what, i)
		}
	}
	return nil
}

func (q *SQS) fail(op string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && throttled(apiErr.ErrorCode()) {
		return fmt.Errorf("queue: %s to %s: %w: %w", op, q.name, model.ErrThrottled, err)
	}
	return fmt.Errorf("queue: %s to %s: %w", op, q.name, err)
}

func throttled(code string) bool {
	for _, c := range throttleCodes {
		if code == c || strings.HasSuffix(code, "."+c) {
			return true
		}
	}
	return false
}

func jsonMessage(v any, group, dedup, label string) (outgoing, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return outgoing{}, fmt.Errorf("encode %s: %w", label, err)
	}
	return outgoing{body: sqsJSON(data), group: group, dedup: dedup, label: label}, nil
}

// sqsJSON escapes, as \uXXXX, the characters of JSON text that SQS refuses
// (U+FFFE, U+FFFF) and those beyond the Basic Multilingual Plane, which SQS
// accepts but some emulators (fauxqs) refuse. The JSON means the same;
// json.Marshal has already escaped control characters, and outside strings
// JSON text is ASCII, so every escape lands inside a string.
func sqsJSON(data []byte) string {
	s := string(data)
	clean := true
	for _, r := range s {
		if r >= 0xFFFE {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch {
		case r < 0xFFFE:
			b.WriteRune(r)
		case r >= 0x10000:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// SendRequests enqueues evaluation requests: group = user id,
// deduplication id = EvaluationRequest.DeduplicationID, so that an audit
// record delivered twice within SQS's five-minute window is one message.
// Every request is checked before the first is sent; a partial failure
// returns an error naming the requests that were not taken, and sending
// the whole batch again is safe.
func (q *SQS) SendRequests(ctx context.Context, reqs []model.EvaluationRequest) error {
	op := fmt.Sprintf("send %d evaluation requests", len(reqs))
	msgs := make([]outgoing, 0, len(reqs))
	for _, r := range reqs {
		m, err := jsonMessage(r, r.UserID, r.DeduplicationID(), "evaluation request "+r.DeduplicationID()+" for user "+r.UserID)
		if err != nil {
			return q.fail(op, err)
		}
		msgs = append(msgs, m)
	}
	return q.sendAll(ctx, op, msgs)
}

// SendDecisions enqueues decisions: group = user id, deduplication id = the
// decision id.
func (q *SQS) SendDecisions(ctx context.Context, ds []model.DecisionMessage) error {
	op := fmt.Sprintf("send %d decisions", len(ds))
	msgs := make([]outgoing, 0, len(ds))
	for _, d := range ds {
		m, err := jsonMessage(d, d.Decision.UserID, d.ID, "decision "+d.ID)
		if err != nil {
			return q.fail(op, err)
		}
		msgs = append(msgs, m)
	}
	return q.sendAll(ctx, op, msgs)
}

// DeadLetter keeps body with why it could not be processed, in the message
// attribute "reason" (truncated to fit the message). A body that is not
// text SQS accepts (invalid UTF-8 or control characters) is sent in base64
// with the attribute "encoding" = "base64". On a FIFO queue all dead
// letters share one group, and the same body with the same reason is one
// message within the deduplication window.
//
// A body too large for one message (an Event Hubs event may hold 1 MB) is
// split: every part is a message of its own with the same reason, the
// attribute "letter" (the dead letter's id, the same on every part) and
// "part" ("2/5"); each part is encoded on its own, and the parts' bodies,
// decoded and joined in order, are the whole body. Nothing that could not
// be processed is refused for its size.
func (q *SQS) DeadLetter(ctx context.Context, body []byte, reason string) error {
	sum := sha256.Sum256(append(append(append([]byte(nil), body...), 0), reason...))
	id := hex.EncodeToString(sum[:16])
	op := "dead-letter " + id
	reason = sqsClean(reason)
	parts := splitBody(body, maxPartBytes)
	msgs := make([]outgoing, 0, len(parts))
	for i, part := range parts {
		m := outgoing{body: string(part), label: "dead letter " + id, attrs: map[string]types.MessageAttributeValue{}}
		switch {
		case len(part) == 0:
			m.body = EmptyBody
			m.attrs[AttrEncoding] = stringAttr("empty")
		case !sqsText(m.body):
			m.body = base64.StdEncoding.EncodeToString(part)
			m.attrs[AttrEncoding] = stringAttr("base64")
		}
		if q.fifo {
			m.group, m.dedup = deadLetterGroup, id
		}
		if len(parts) > 1 {
			m.label = fmt.Sprintf("dead letter %s part %d of %d", id, i+1, len(parts))
			m.attrs[AttrLetter] = stringAttr(id)
			m.attrs[AttrPart] = stringAttr(fmt.Sprintf("%d/%d", i+1, len(parts)))
			if q.fifo {
				m.dedup = fmt.Sprintf("%s-%d", id, i+1)
			}
		}
		room := MaxMessageSize - m.size() - len(AttrReason) - len("String")
		m.attrs[AttrReason] = stringAttr(truncate(reason, min(room, maxReasonBytes)))
		msgs = append(msgs, m)
	}
	return q.sendAll(ctx, op, msgs)
}

// maxPartBytes is the most bytes of a dead letter's body one message
// carries: in base64 (4/3 as long) it still leaves room for the reason and
// the other attributes.
const maxPartBytes = (MaxMessageSize - maxReasonBytes - 1024) / 4 * 3

// splitBody cuts body into parts of at most n bytes, on UTF-8 rune
// boundaries where the body is text, so that text parts stay text. An
// empty body is one empty part.
func splitBody(body []byte, n int) [][]byte {
	if len(body) <= n {
		return [][]byte{body}
	}
	var parts [][]byte
	for len(body) > n {
		cut := n
		for back := 0; back < utf8.UTFMax && cut > 0 && !utf8.RuneStart(body[cut]); back++ {
			cut--
		}
		if cut == 0 || !utf8.RuneStart(body[cut]) {
			cut = n // not text here: any cut will do, the part goes in base64
		}
		parts = append(parts, body[:cut])
		body = body[cut:]
	}
	return append(parts, body)
}

func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// sqsAllowed reports whether SQS accepts r in a message: #x9, #xA, #xD,
// #x20 to #xD7FF, #xE000 to #xFFFD, #x10000 to #x10FFFF.
func sqsAllowed(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

func sqsText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !sqsAllowed(r) {
			return false
		}
	}
	return true
}

// sqsClean replaces what SQS refuses with U+FFFD; an empty reason, which
// SQS refuses too, becomes "unspecified".
func sqsClean(s string) string {
	if s == "" {
		return "unspecified"
	}
	if sqsText(s) {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if !sqsAllowed(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut;
// n is at least minReasonBytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// sendAll checks every message, then sends them in batches of up to ten
// and 256 KiB. Entries a batch reports failed are sent once more unless
// SQS blamed the message itself; what still fails is returned, named.
func (q *SQS) sendAll(ctx context.Context, op string, msgs []outgoing) error {
	for i := range msgs {
		if err := q.check(&msgs[i]); err != nil {
			return q.fail(op, err)
		}
	}
	var failed []string
	invalidOnly := true
	for start := 0; start < len(msgs); {
		end, size := start, 0
		for end < len(msgs) && end-start < maxBatchEntries && size+msgs[end].size() <= MaxMessageSize {
			size += msgs[end].size()
			end++
		}
		f, inv, err := q.sendBatch(ctx, msgs[start:end])
		if err != nil {
			return q.fail(op, err)
		}
		failed = append(failed, f...)
		invalidOnly = invalidOnly && inv
		start = end
	}
	if len(failed) == 0 {
		return nil
	}
	shown := failed
	if len(shown) > 10 {
		shown = shown[:10]
	}
	detail := strings.Join(shown, "; ")
	if len(failed) > len(shown) {
		detail += fmt.Sprintf("; and %d more", len(failed)-len(shown))
	}
	err := fmt.Errorf("%d of %d messages not sent: %s", len(failed), len(msgs), detail)
	if invalidOnly {
		err = fmt.Errorf("%w: %w", model.ErrInvalidInput, err)
	}
	return q.fail(op, err)
}

// sendBatch sends one batch and retries its failed entries once. It
// returns the entries that still failed, described, and whether SQS
// blamed every one of them on the message itself.
func (q *SQS) sendBatch(ctx context.Context, batch []outgoing) ([]string, bool, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(batch))
	for i, m := range batch {
		e := types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(m.body),
			MessageAttributes: m.attrs,
		}
		if q.fifo {
			e.MessageGroupId = aws.String(m.group)
			e.MessageDeduplicationId = aws.String(m.dedup)
		}
		entries[i] = e
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return nil, false, err
	}
	var failures []types.BatchResultErrorEntry
	var retry []types.SendMessageBatchRequestEntry
	for _, f := range out.Failed {
		e, ok := entryByID(entries, aws.ToString(f.Id))
		if f.SenderFault || !ok {
			failures = append(failures, f) // SQS blamed the message: sending it again cannot help
			continue
		}
		retry = append(retry, e)
	}
	if len(retry) > 0 {
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: retry})
		if err != nil {
			return nil, false, err
		}
		failures = append(failures, out.Failed...)
	}
	var described []string
	invalidOnly := true
	for _, f := range failures {
		label := "entry " + aws.ToString(f.Id)
		if i, err := strconv.Atoi(aws.ToString(f.Id)); err == nil && i >= 0 && i < len(batch) {
			label = batch[i].label
		}
		described = append(described, fmt.Sprintf("%s (%s: %s)", label, aws.ToString(f.Code), aws.ToString(f.Message)))
		invalidOnly = invalidOnly && f.SenderFault
	}
	return described, invalidOnly, nil
}

func entryByID(entries []types.SendMessageBatchRequestEntry, id string) (types.SendMessageBatchRequestEntry, bool) {
	for _, e := range entries {
		if aws.ToString(e.Id) == id {
			return e, true
		}
	}
	return types.SendMessageBatchRequestEntry{}, false
}

// maxVisibility is the longest visibility timeout SQS accepts: 12 hours.
const maxVisibility = 12 * time.Hour

// Delay makes the received messages with these receipt handles visible
// again only after d (at most 12 hours), with ChangeMessageVisibilityBatch,
// ten at a time. It is how a throttled message waits longer than the
// queue's visibility timeout before its next delivery.
func (q *SQS) Delay(ctx context.Context, receipts []string, d time.Duration) error {
	secs := int32(min(d, maxVisibility) / time.Second)
	var failed []string
	for start := 0; start < len(receipts); start += maxBatchEntries {
		end := min(start+maxBatchEntries, len(receipts))
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, 0, end-start)
		for i, r := range receipts[start:end] {
			entries = append(entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(start + i)), ReceiptHandle: aws.String(r), VisibilityTimeout: secs,
			})
		}
		out, err := q.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return q.fail(fmt.Sprintf("delay %d messages", len(receipts)), err)
		}
		for _, f := range out.Failed {
			failed = append(failed, fmt.Sprintf("entry %s (%s)", aws.ToString(f.Id), aws.ToString(f.Code)))
		}
	}
	if len(failed) > 0 {
		return q.fail(fmt.Sprintf("delay %d messages", len(receipts)), fmt.Errorf("%d not delayed: %s", len(failed), strings.Join(failed, "; ")))
	}
	return nil
}

// HelpdeskQueue sends ticket events to a helpdesk's queue as
// model.TicketRecord JSON (docs/STATE.md shows an example). It
// implements pipeline.TicketSender.
type HelpdeskQueue struct{ q *SQS }

// NewHelpdeskQueue returns a ticket sender to the queue at queueURL.
func NewHelpdeskQueue(client *sqs.Client, queueURL string) *HelpdeskQueue {
	return &HelpdeskQueue{q: NewSQS(client, queueURL)}
}

// SendTicket sends rec: group = user id, deduplication id = decision id
// "/" action.
func (h *HelpdeskQueue) SendTicket(ctx context.Context, _ model.DecisionMessage, rec model.TicketRecord) error {
	dedup := rec.DecisionID + "/" + rec.Action
	op := "send ticket " + rec.TicketID + " " + rec.Action
	m, err := jsonMessage(rec, rec.UserID, dedup, "ticket "+rec.TicketID+" "+rec.Action)
	if err != nil {
		return h.q.fail(op, err)
	}
	return h.q.sendAll(ctx, op, []outgoing{m})
}

// NudgeOutboxQueue sends delivered nudges to a queue as model.NudgeRecord
// JSON, for whatever mails or messages the user. It implements
// pipeline.NudgeSender.
type NudgeOutboxQueue struct{ q *SQS }

// NewNudgeOutboxQueue returns a nudge sender to the queue at queueURL.
func NewNudgeOutboxQueue(client *sqs.Client, queueURL string) *NudgeOutboxQueue {
	return &NudgeOutboxQueue{q: NewSQS(client, queueURL)}
}

// SendNudge sends rec: group = user id, deduplication id = decision id.
func (n *NudgeOutboxQueue) SendNudge(ctx context.Context, _ model.DecisionMessage, rec model.NudgeRecord) error {
	op := "send nudge " + rec.DecisionID
	m, err := jsonMessage(rec, rec.UserID, rec.DecisionID, "nudge "+rec.DecisionID)
	if err != nil {
		return n.q.fail(op, err)
	}
	return n.q.sendAll(ctx, op, []outgoing{m})
}
