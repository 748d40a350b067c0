package graph

import (
	"fmt"
	"net/http"
	"strings"

	khttp "github.com/microsoft/kiota-http-go"

	"github.com/credres/credres/pkg/model"
)

// Two edges of Graph's answers that must not be taken at their word: a
// nextLink that leads back to a page already read, which would be followed
// until the deadline, and a redirect to another host, which is not Graph
// answering.

// maxPages bounds the pages one listing follows, whatever their links: a
// loop through pages that each look new still ends.
const maxPages = 100000

// pageTrail is the nextLinks one listing has followed.
type pageTrail map[string]bool

// check refuses next when the listing has followed it before or has grown
// past maxPages.
func (p pageTrail) check(next string) error {
	if p[next] {
		return fmt.Errorf("%w: @odata.nextLink leads back to a page already read (after %d pages)", model.ErrInvalidInput, len(p)+1)
	}
	if len(p) >= maxPages {
		return fmt.Errorf("%w: @odata.nextLink after %d pages: more than a listing can hold", model.ErrInvalidInput, maxPages)
	}
	return nil
}

// follow checks next and records it.
func (p pageTrail) follow(next string) error {
	if err := p.check(next); err != nil {
		return err
	}
	p[next] = true
	return nil
}

// with returns a copy of p that has also followed next, for the next page
// of a batched read (items are immutable once queued).
func (p pageTrail) with(next string) pageTrail {
	q := make(pageTrail, len(p)+1)
	for k := range p {
		q[k] = true
	}
	q[next] = true
	return q
}

// sameHost is the redirect handler's rule: a redirect is followed only to
// the scheme and host the request went to.
func sameHost(req *http.Request, res *http.Response) bool {
	loc, err := res.Location()
	return err == nil && strings.EqualFold(loc.Scheme, req.URL.Scheme) && strings.EqualFold(loc.Host, req.URL.Host)
}

// refuseRedirects turns a redirect that the redirect handler did not follow
// (one to another host) into an error. Without it the redirect's own body,
// usually empty, would be read as Graph's answer: an empty page.
type refuseRedirects struct{}

// Intercept implements khttp.Middleware.
func (refuseRedirects) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	res, err := p.Next(req, i)
	if err != nil || res.StatusCode < 300 || res.StatusCode >= 400 || res.StatusCode == http.StatusNotModified {
		return res, err
	}
	host := "no location"
	if loc, err := res.Location(); err == nil {
		host = loc.Scheme + "://" + loc.Host
	}
	res.Body.Close()
	return nil, fmt.Errorf("graph: %w: %s %s answered a %d redirect to %s, another host; it is not read as Graph data",
		model.ErrInvalidInput, req.Method, req.URL.Path, res.StatusCode, host)
}
