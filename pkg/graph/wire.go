package graph

// Wire: the $batch request as Graph takes it and each item's response as
// Graph writes it, read without touching shared state.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/rs/zerolog"

	"github.com/credres/credres/internal/httpretry"
	"github.com/credres/credres/pkg/model"
)

// batchResponse is one item of a $batch response; the body is kept as
// Graph wrote it, so that methods decode from the bytes Graph sent.
type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// outcome is what one item's response means for its call.
type outcome struct {
	it *item
	// failure is the item's status and Retry-After (status 0: its
	// response was lost).
	failure httpretry.Failure
	next    string // @odata.nextLink of a page
	err     error  // final failure of the call
	apply   func(*call)
}

// interpret reads one item's response without touching shared state.
func (c *Client) interpret(it *item, r *batchResponse, now time.Time) outcome {
	o := outcome{it: it}
	if r == nil {
		return o // lost: retried
	}
	o.failure.Status = r.Status
	for k, v := range r.Headers {
		if strings.EqualFold(k, "Retry-After") {
			o.failure.RetryAfter, o.failure.HasRetryAfter = httpretry.ParseRetryAfter(v, now)
		}
	}
	if r.Status == http.StatusNotFound && it.part == partRegistration {
		// A user the report does not list yet (a new user): no row, not
		// a missing user.
		o.failure = httpretry.Failure{Status: http.StatusOK}
		o.apply = func(*call) {}
		return o
	}
	if r.Status == http.StatusForbidden && it.part.devices() {
		return devicesUnknown(it, itemError(r))
	}
	if r.Status < 200 || r.Status > 299 {
		if o.failure.Retryable(true) || r.Status == http.StatusFailedDependency {
			return o
		}
		o.err = fmt.Errorf("%s: %w", it.part, itemError(r))
		if r.Status == http.StatusForbidden {
			o.err = fmt.Errorf("%w (the app needs the Graph application permission %s, docs/GRAPH.md)", o.err, it.part.permission())
		}
		return o
	}
	var err error
	o.apply, o.next, err = decodePart(it.part, r.Body)
	if errors.Is(err, errDevicesLimited) {
		return devicesUnknown(it, err)
	}
	if err == nil && o.next != "" {
		if err = c.sameService(o.next); err == nil {
			err = it.trail.check(o.next)
		}
		if err != nil {
			o.next = ""
		}
	}
	if err != nil {
		o.err = fmt.Errorf("%s: %w", it.part, err)
	}
	return o
}

// decodePart reads a successful answer to one part of a user: how it
// changes the call, and the part's next page.
func decodePart(p part, body []byte) (apply func(*call), next string, err error) {
	switch p {
	case partProfile:
		var pr profile
		if pr, err = parseProfile(body); err == nil {
			apply = func(cl *call) { pr.fill(&cl.user) }
		}
	case partMethods:
		var ms []model.Method
		if ms, next, err = parseMethods(body); err == nil {
			apply = func(cl *call) { cl.user.Methods = append(cl.user.Methods, ms...) }
		}
	case partMemberOf:
		var roles, groups []string
		if roles, groups, next, err = parseMemberships(body); err == nil {
			apply = func(cl *call) {
				cl.user.Roles = append(cl.user.Roles, roles...)
				cl.user.Groups = append(cl.user.Groups, groups...)
			}
		}
	case partRegistration:
		var d *RegistrationDetail
		if d, err = parseRegistration(body); err == nil {
			apply = func(cl *call) { cl.reg1 = d }
		}
	case partEligible:
		var roles []string
		if roles, next, err = parseEligible(body); err == nil {
			apply = func(cl *call) { cl.user.EligibleRoles = append(cl.user.EligibleRoles, roles...) }
		}
	case partRegisteredDevices, partOwnedDevices:
		var ds []model.Device
		if ds, next, err = parseDevices(body, p == partOwnedDevices); err == nil {
			apply = func(cl *call) { cl.user.Devices = mergeDevices(cl.user.Devices, ds) }
		}
	}
	return apply, next, err
}

// devicesUnknown is the outcome of a device list Graph refused, or gave
// without the devices' properties: the user is read without devices
// (unknown, so advice stays conditional), and a warning names the
// permissions to grant. Devices only shape advice; they never decide an
// assessment.
func devicesUnknown(it *item, cause error) outcome {
	zerolog.Ctx(it.call.ctx).Warn().Str("op", "read user "+it.part.String()).Err(cause).
		Msg("graph: the user's devices are left unknown: grant the app User.Read.All and Device.Read.All (docs/GRAPH.md)")
	return outcome{it: it, failure: httpretry.Failure{Status: http.StatusOK}, apply: func(cl *call) { cl.devicesUnknown = true }}
}

// itemError decodes the Graph error body of a failed $batch item.
func itemError(r *batchResponse) *apiError {
	ae := &apiError{Status: r.Status}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.Body, &body) == nil {
		ae.Code, ae.Message = body.Error.Code, body.Error.Message
	}
	return ae
}

// sameService checks that a nextLink stays on the Graph service root, so
// that neither the token nor the read goes anywhere else.
func (c *Client) sameService(next string) error {
	if !strings.HasPrefix(strings.ToLower(next), strings.ToLower(c.cfg.BaseURL)+"/") {
		return fmt.Errorf("%w: @odata.nextLink leaves the Graph service root", model.ErrInvalidInput)
	}
	return nil
}

// postBatch sends the items as one $batch, built with the SDK's request
// builders, and returns the responses by item id ("1".."20").
func (c *Client) postBatch(ctx context.Context, batch []*item) (map[string]*batchResponse, error) {
	br := msgraphcore.NewBatchRequest(c.adapter)
	for i, it := range batch {
		ri, err := c.requestInfo(ctx, it)
		if err != nil {
			return nil, fmt.Errorf("build %s request: %w", it.part, err)
		}
		bi, err := br.AddBatchRequestStep(*ri)
		if err != nil {
			return nil, fmt.Errorf("add %s request: %w", it.part, err)
		}
		id := strconv.Itoa(i + 1)
		bi.SetId(&id)
	}
	ri := abs.NewRequestInformation()
	ri.Method = abs.POST
	ri.UrlTemplate = "{+baseurl}/$batch"
	if err := ri.SetContentFromParsable(ctx, c.adapter, "application/json", br); err != nil {
		return nil, fmt.Errorf("encode $batch: %w", err)
	}
	ri.Headers.TryAdd("Accept", "application/json")
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping)
	if err != nil {
		return nil, err
	}
	body, _ := raw.([]byte)
	var env struct {
		Responses []*batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode $batch response: %w: %v", model.ErrInvalidInput, err)
	}
	out := make(map[string]*batchResponse, len(env.Responses))
	for _, r := range env.Responses {
		if r != nil {
			out[r.ID] = r
		}
	}
	return out, nil
}

// requestInfo builds an item's request with the SDK's request builders.
func (c *Client) requestInfo(ctx context.Context, it *item) (*abs.RequestInformation, error) {
	u := c.users.ByUserId(it.call.id)
	switch it.part {
	case partProfile:
		return u.ToGetRequestInformation(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: profileFields},
		})
	case partMethods:
		b := u.Authentication().Methods()
		if it.next != "" {
			b = b.WithUrl(it.next)
		}
		return b.ToGetRequestInformation(ctx, nil)
	case partMemberOf:
		b := u.TransitiveMemberOf()
		if it.next != "" {
			b = b.WithUrl(it.next)
		}
		return b.ToGetRequestInformation(ctx, nil)
	case partRegisteredDevices:
		b := u.RegisteredDevices()
		if it.next != "" {
			b = b.WithUrl(it.next)
		}
		return b.ToGetRequestInformation(ctx, nil)
	case partOwnedDevices:
		b := u.OwnedDevices()
		if it.next != "" {
			b = b.WithUrl(it.next)
		}
		return b.ToGetRequestInformation(ctx, nil)
	case partEligible:
		return c.eligibleItemRequest(ctx, it)
	}
	rows := c.reports.AuthenticationMethods().UserRegistrationDetails()
	if isObjectID(it.call.id) {
		return rows.ByUserRegistrationDetailsId(it.call.id).ToGetRequestInformation(ctx, nil)
	}
	// The report is keyed by object id; a user principal name is a filter.
	f := "userPrincipalName eq '" + strings.ReplaceAll(it.call.id, "'", "''") + "'"
	return rows.ToGetRequestInformation(ctx, &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetRequestConfiguration{
		QueryParameters: &reports.AuthenticationMethodsUserRegistrationDetailsRequestBuilderGetQueryParameters{Filter: &f},
	})
}

// isObjectID reports whether s is shaped like an Entra object id (a GUID).
func isObjectID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F'):
		default:
			return false
		}
	}
	return true
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
