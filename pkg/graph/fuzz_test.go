package graph

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/credres/credres/internal/httpretry"
)

// FuzzGraphResponses feeds arbitrary bytes to every parser of what Graph
// sends back: item bodies of each part, a $batch item, and Retry-After. No
// input may panic; a malformed one is an error.
func FuzzGraphResponses(f *testing.F) {
	seeds := []string{
		`{"@odata.context":"x","value":[{"@odata.type":"#microsoft.graph.directoryRole","id":"1","displayName":"Global Administrator","roleTemplateId":"62e90394-69f5-4237-9190-012177145e10"},{"@odata.type":"#microsoft.graph.group","id":"g"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/next"}`,
		`{"id":"u","userPrincipalName":"a@b","onPremisesSyncEnabled":null,"accountEnabled":true}`,
		`{"value":[{"id":"r","methodsRegistered":["mobilePhone"],"lastUpdatedDateTime":"2023-03-13T19:15:41.6195833Z","userType":"future"}]}`,
		`{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`,
		`{"value":[{"odata.type":"#microsoft.graph.fido2AuthenticationMethod","id":"k"}]}`,
		`[]`, `null`, `{"value":null}`, `{"value":[null]}`, `2.128`,
	}
	if b, err := os.ReadFile("testdata/directory.json"); err == nil {
		seeds = append(seeds, string(b))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	c := &Client{cfg: Config{BaseURL: DefaultBaseURL}}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = parseProfile(body)
		_, _, _ = parseMethods(body)
		_, _, _, _ = parseMemberships(body)
		_, _ = parseRegistration(body)
		_, _, _ = parseEligible(body)
		_, _, _ = parseDevices(body, true)
		_, _ = httpretry.ParseRetryAfter(string(body), now)
		for _, p := range append(slices.Clone(userParts), partRegistration) {
			for _, status := range []int{200, 403, 404, 429, 503} {
				cl := &call{id: "u", ctx: context.Background()}
				o := c.interpret(&item{call: cl, part: p}, &batchResponse{ID: "1", Status: status, Body: body,
					Headers: map[string]string{"Retry-After": string(body)}}, now)
				if o.apply != nil {
					o.apply(cl)
				}
			}
		}
	})
}
