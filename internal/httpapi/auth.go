package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tocsin-dev/tocsin/internal/integration"
)

// apiKey finds the key wherever Opsgenie clients put it: "Authorization: GenieKey KEY" (the SDK,
// Alertmanager, Grafana), ?apiKey= (webhooks that cannot set headers), X-Api-Key, or the password of
// HTTP Basic auth.
func apiKey(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, rest, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "GenieKey") {
			return strings.TrimSpace(rest)
		}
		if _, pass, ok := r.BasicAuth(); ok {
			return pass
		}
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	return r.URL.Query().Get("apiKey")
}

// authenticate checks the call's key and that it belongs to an integration of the wanted type.
func (s *Server) authenticate(c *call, want integration.Type) error {
	key := apiKey(c.r)
	if key == "" {
		return apiErr(http.StatusUnauthorized, "missing API key: send Authorization: GenieKey KEY")
	}
	in, err := s.cfg.Integrations.Authenticate(c.r.Context(), key)
	switch {
	case errors.Is(err, integration.ErrUnknownKey):
		return apiErr(http.StatusUnauthorized, "invalid API key")
	case errors.Is(err, integration.ErrDisabled):
		return apiErr(http.StatusForbidden, "the integration of this API key is disabled")
	case err != nil:
		return err
	}
	c.in = in
	if in.Type != want {
		return apiErr(http.StatusForbidden, fmt.Sprintf("this API key belongs to the %s integration %q; this endpoint takes keys of %s integrations", in.Type, in.Name, want))
	}
	return nil
}
