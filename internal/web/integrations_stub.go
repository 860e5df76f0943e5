package web

func (s *Server) integrationRoutes() {}
