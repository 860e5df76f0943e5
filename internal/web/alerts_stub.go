package web

func (s *Server) alertRoutes() {}
