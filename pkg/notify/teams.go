package notify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/zerolog"

	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/rules"
)

// DefaultGraphURL is the Graph service root of the global cloud.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0"

// maxPreview is what Teams shows of an activity's preview text.
const maxPreview = 150

// TeamsConfig configures a TeamsSender.
type TeamsConfig struct {
	// GraphURL is the Graph service root, e.g.
	// https://graph.microsoft.us/v1.0 for US Government L4;
	// DefaultGraphURL when empty.
	GraphURL string
	// Tokens gives Graph tokens of an app granted TeamsActivity.Send.
	Tokens TokenSource
	// WebURL is where the notification leads when selected: the
	// security-info page (rules.DefaultSecurityInfoURL) when empty. Teams
	// clients may only open Teams deep links from the activity feed; set a
	// deep link to a tab of the credres Teams app if the default is refused.
	WebURL     string
	HTTPClient *http.Client
	// Clock is the time source of retry waits; the wall clock when nil.
	Clock Clock
}

// TeamsSender posts nudges to the user's Teams activity feed with Graph's
// sendActivityNotification (application permission TeamsActivity.Send; a
// Teams app whose webApplicationInfo.id is credres's app must be installed
// for the user). It uses the reserved activityType systemDefault, so the
// Teams app needs no activity declarations: the subject is the
// notification's line, the nudge's first paragraph after the greeting its
// preview, and the security-info page its link.
//
// Each decision has its own chainId: a redelivered send replaces the
// earlier notification of that decision instead of adding a second one.
// Within one delivery it retries as sendMail does: 429 and 503 only.
type TeamsSender struct {
	ep     *endpoint
	webURL string
	topic  string
}

// NewTeamsSender checks cfg and returns a sender.
func NewTeamsSender(cfg TeamsConfig) (*TeamsSender, error) {
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	base, err := parseBase("teams", cfg.GraphURL, false)
	if err != nil {
		return nil, err
	}
	if cfg.Tokens == nil {
		return nil, fmt.Errorf("teams: %w: no Graph token source", model.ErrInvalidInput)
	}
	if cfg.WebURL == "" {
		cfg.WebURL = rules.DefaultSecurityInfoURL
	}
	web, err := url.Parse(cfg.WebURL)
	if err != nil || web.Scheme != "https" || web.Host == "" {
		return nil, fmt.Errorf("teams: %w: web URL %q is not an https URL", model.ErrInvalidInput, cfg.WebURL)
	}
	ep := newEndpoint("teams", base, cfg.HTTPClient, cfg.Clock)
	ep.message = graphMessage
	tokens := cfg.Tokens
	ep.auth = func(ctx context.Context, h http.Header) error {
		tok, err := tokens.Token(ctx)
		if err != nil {
			return fmt.Errorf("graph token: %w", err)
		}
		h.Set("Authorization", "Bearer "+tok)
		return nil
	}
	return &TeamsSender{ep: ep, webURL: cfg.WebURL, topic: web.Host}, nil
}

// activityNotification is the body of sendActivityNotification.
type activityNotification struct {
	Topic              activityTopic  `json:"topic"`
	ActivityType       string         `json:"activityType"`
	ChainID            int64          `json:"chainId"`
	PreviewText        itemBody       `json:"previewText"`
	TemplateParameters []keyValuePair `json:"templateParameters"`
}

type activityTopic struct {
	Source string `json:"source"`
	Value  string `json:"value"`
	WebURL string `json:"webUrl"`
}

type itemBody struct {
	Content string `json:"content"`
}

type keyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SendNudge posts the nudge to the activity feed of the decision's user.
func (t *TeamsSender) SendNudge(ctx context.Context, dm model.DecisionMessage, rec model.NudgeRecord) error {
	userID := dm.Decision.UserID
	if userID == "" {
		return fmt.Errorf("teams: send nudge %s: %w: no user id", rec.DecisionID, model.ErrInvalidInput)
	}
	if rec.Subject == "" || rec.Text == "" {
		return fmt.Errorf("teams: send nudge %s: %w: the nudge has no rendered subject and text", rec.DecisionID, model.ErrInvalidInput)
	}
	body := jsonBody(activityNotification{
		Topic:              activityTopic{Source: "text", Value: t.topic, WebURL: t.webURL},
		ActivityType:       "systemDefault",
		ChainID:            chainID(rec.DecisionID),
		PreviewText:        itemBody{Content: preview(rec.Text)},
		TemplateParameters: []keyValuePair{{Name: "systemDefaultText", Value: rec.Subject}},
	})
	req := request{
		method: http.MethodPost,
		path:   []string{"users", userID, "teamwork", "sendActivityNotification"},
		body:   body,
	}
	// The same rule as sendMail: 429 and 503 say Graph did not act and are
	// retried here; a lost answer or another 5xx may hide a notification
	// already shown, so the queue's redelivery repeats it (and the chain
	// replaces it) instead of a quick second send.
	err := t.ep.retry(ctx, "send activity notification", func(ctx context.Context) error {
		_, err := t.ep.send(ctx, req)
		if ambiguous(err) {
			return final(err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("teams: send nudge %s to user %s: %w", rec.DecisionID, userID, err)
	}
	zerolog.Ctx(ctx).Info().Str("channel", "teams").Str("decisionId", rec.DecisionID).Msg("notify: nudge posted to the Teams activity feed")
	return nil
}

// chainID derives a notification chain from the decision id, so that every
// send of one decision lands in one chain.
func chainID(decisionID string) int64 {
	sum := sha256.Sum256([]byte(decisionID))
	return int64(binary.BigEndian.Uint64(sum[:8]) & math.MaxInt64)
}

// preview picks the paragraph that says what is at risk: the first after
// the greeting, on one line and cut to what Teams shows.
func preview(text string) string {
	paras := strings.Split(strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")), "\n\n")
	p := paras[0]
	if len(paras) > 1 {
		p = paras[1]
	}
	return truncate(strings.Join(strings.Fields(p), " "), maxPreview)
}

// graphMessage reads Graph's error body: {"error":{"code","message"}}.
func graphMessage(body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if decodeJSON(body, &e) != nil || (e.Error.Code == "" && e.Error.Message == "") {
		return plainMessage(body)
	}
	if e.Error.Code == "" {
		return e.Error.Message
	}
	return e.Error.Code + ": " + e.Error.Message
}
