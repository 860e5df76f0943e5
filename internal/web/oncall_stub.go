package web

func (s *Server) oncallRoutes() {}
