package httpapi

import (
	"net/http"
)

// receive is POST /v1/json/amazonsecurityhub: an SNS message or an EventBridge event from Security
// Hub. A 2xx answer means every finding in it is committed; anything else makes SNS deliver again.
func (s *Server) receive(c *call) error {
	body, err := c.body()
	if err != nil {
		return err
	}
	if s.cfg.SecurityHub == nil {
		return apiErr(http.StatusNotFound, "the Security Hub intake is not configured")
	}
	receipt, err := s.cfg.SecurityHub.Receive(c.r.Context(), c.in, c.r.Header, body)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"result": "Request processed", "data": receipt, "took": c.took(), "requestId": c.id})
	return nil
}
