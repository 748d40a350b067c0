package graphtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// groupUsersLocked answers GET /groups/{id}/transitiveMembers/
// microsoft.graph.user: the users of the snapshot whose groups (direct or
// nested, as the snapshot lists them) include id, in the snapshot's order,
// with only the fields $select names (id always), paged by the list page
// size. A group no user of the snapshot is in does not exist: 404, as
// Graph answers for an unknown group id. Other casts and relations are
// not served.
func (s *Server) groupUsersLocked(method string, segs []string, path string, query url.Values) response {
	if method != http.MethodGet || len(segs) != 4 || segs[2] != "transitiveMembers" || segs[3] != "microsoft.graph.user" {
		return errorResponse(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[len(segs)-1]+"'.")
	}
	id := segs[1]
	var members []map[string]any
	for i := range s.users {
		u := &s.users[i]
		if !slices.ContainsFunc(u.Groups, func(g string) bool { return strings.EqualFold(g, id) }) {
			continue
		}
		all := map[string]any{"id": u.ID, "userPrincipalName": u.UserPrincipalName, "displayName": nullIfEmpty(u.DisplayName)}
		m := map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.ID}
		for _, f := range strings.Split(query.Get("$select"), ",") {
			if v, ok := all[strings.TrimSpace(f)]; ok {
				m[strings.TrimSpace(f)] = v
			}
		}
		if query.Get("$select") == "" {
			m = all
		}
		members = append(members, m)
	}
	if members == nil {
		return notFound(id)
	}
	from, to, next := s.page(len(members), s.listPage, path, query)
	out := map[string]any{"@odata.context": s.URL() + "/$metadata#users", "value": members[from:to]}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	b, _ := json.Marshal(out)
	return jsonResponse(http.StatusOK, b)
}
