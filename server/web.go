package server

import "net/http"

// webRoutes registers the web pages (to be written).
func (s *Server) webRoutes(mux *http.ServeMux) {}
