package graph

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
)

// Mail is a message to send. Graph's JSON sendMail carries one body: HTML
// when set, Text otherwise.
type Mail = model.Mail

// SendMail sends msg from the mailbox from (Config.Sender when empty) with
// Graph's sendMail; Graph's 202 Accepted is success. 429 and 503 are retried
// (Graph did not take the message); 504 is not, as the message may have been
// accepted and a retry could send it twice. Addresses are never logged.
func (c *Client) SendMail(ctx context.Context, from string, msg Mail) error {
	if from == "" {
		from = c.cfg.Sender
	}
	if from == "" {
		return fmt.Errorf("graph: send mail: %w: no sender mailbox", model.ErrInvalidInput)
	}
	if len(msg.To) == 0 {
		return fmt.Errorf("graph: send mail: %w: no recipient", model.ErrInvalidInput)
	}
	if msg.Text == "" && msg.HTML == "" {
		return fmt.Errorf("graph: send mail: %w: empty body", model.ErrInvalidInput)
	}
	m := models.NewMessage()
	subject := msg.Subject
	m.SetSubject(&subject)
	body := models.NewItemBody()
	content, kind := msg.Text, models.TEXT_BODYTYPE
	if msg.HTML != "" {
		content, kind = msg.HTML, models.HTML_BODYTYPE
	}
	body.SetContent(&content)
	body.SetContentType(&kind)
	m.SetBody(body)
	to := make([]models.Recipientable, 0, len(msg.To))
	for _, a := range msg.To {
		a = strings.TrimSpace(a)
		if a == "" {
			return fmt.Errorf("graph: send mail: %w: empty recipient address", model.ErrInvalidInput)
		}
		ea := models.NewEmailAddress()
		ea.SetAddress(&a)
		r := models.NewRecipient()
		r.SetEmailAddress(ea)
		to = append(to, r)
	}
	m.SetToRecipients(to)
	req := users.NewItemSendMailPostRequestBody()
	req.SetMessage(m)
	// Nudges are not correspondence: keeping a copy of each in the sender
	// mailbox would pile up personal data for no one to read.
	keep := false
	req.SetSaveToSentItems(&keep)
	sender := c.users.ByUserId(from).SendMail()
	err := c.do(ctx, ClassMail, "send mail", false, func(ctx context.Context) error {
		err := sender.Post(ctx, req, nil)
		// A transport error quotes the request URL, which names the sender
		// mailbox: keep the service root only.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = c.cfg.BaseURL + "/users/{sender}/sendMail"
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("graph: send mail: %w", err)
	}
	zerolog.Ctx(ctx).Debug().Int("recipients", len(to)).Msg("graph: mail accepted")
	return nil
}
