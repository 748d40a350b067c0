package graphtest

import "net/http"

// Handler serves the fake Graph in process, for a client whose transport
// calls it directly instead of through the loopback socket: in a
// testing/synctest bubble, a request held by Hold then counts as blocked,
// where network I/O would not.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }
