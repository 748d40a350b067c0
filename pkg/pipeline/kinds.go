package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// The kind of an error decides what becomes of the message it failed
// (model's sentinel kinds):
//
//   - invalid input can never succeed: the message goes to the stage's dead
//     letters at once, with its reason, instead of being retried until the
//     queue's redrive count moves it there; the user's later messages
//     proceed;
//   - throttling asks to be retried later than usual: the failure carries
//     RetryAfter, and the Lambda adapter extends the message's visibility
//     timeout to it;
//   - anything else (a timeout, a server error) is retried by the queue's
//     ordinary redelivery.

// ThrottledRetry is how long a throttled message waits before its next
// delivery: longer than every queue's visibility timeout (18 minutes at
// most), so that the limit has recovered rather than being hit again at
// the usual pace.
const ThrottledRetry = 30 * time.Minute

// failure builds the failure of message id for err, with RetryAfter when
// err is throttling.
func failure(id, reason string, err error) Failure {
	f := Failure{MessageID: id, Reason: reason}
	if errors.Is(err, model.ErrThrottled) {
		f.RetryAfter = ThrottledRetry
	}
	return f
}

// deadLetterNow keeps a message that can never succeed in dead, with its
// reason, and reports whether it did. Without dead letters, or when they
// fail, the message fails as before and reaches the dead-letter queue
// through the queue's redrive.
func deadLetterNow(ctx context.Context, dead DeadLetters, m Message, reason string) bool {
	if dead == nil {
		return false
	}
	if err := dead.DeadLetter(ctx, m.Body, reason); err != nil {
		zerolog.Ctx(ctx).Error().Str("messageId", m.ID).Err(err).Msg("dead-lettering failed; the message is retried until the queue's redrive")
		return false
	}
	zerolog.Ctx(ctx).Warn().Str("messageId", m.ID).Str("reason", reason).Msg("invalid message dead-lettered at once")
	return true
}
