package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tocsin-dev/tocsin/internal/access"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

func TestTheNativeAPIManagesTheOnCallConfigurationAndAnswersWhoIsOnCall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		env := servertest.Start(t, dsn)
		keys := access.NewService(env.App.DB.APIKeys())
		_, admin, err := keys.Create(context.Background(), "ops", access.Admin)
		if err != nil {
			t.Fatal(err)
		}
		_, reader, _ := keys.Create(context.Background(), "dashboard", access.ReadOnly)
		asAdmin, asReader := "Bearer "+admin, "Bearer "+reader

		steps := []struct {
			name, method, path, auth, body string
			status                         int
			contains                       string
		}{
			{"no key", "GET", "/api/users", "", "", 401, "missing API key"},
			{"a readonly key cannot write", "PUT", "/api/users/alice@example.com", asReader, `{"username":"alice@example.com"}`, 403, "may not change"},
			{"create alice", "PUT", "/api/users/alice@example.com", asAdmin, `{"username":"alice@example.com","fullName":"Alice"}`, 201, "saved"},
			{"create bob", "PUT", "/api/users/bob@example.com", asAdmin, `{"username":"bob@example.com"}`, 201, "saved"},
			{"replace alice", "PUT", "/api/users/alice@example.com", asAdmin, `{"username":"alice@example.com","fullName":"Alice Doe"}`, 200, "saved"},
			{"a schedule naming an unknown user is refused with its path", "PUT", "/api/schedules/primary", asAdmin,
				`{"name":"primary","timezone":"Europe/Berlin","rotations":[{"name":"w","type":"weekly","start":"2026-01-05T09:00:00+01:00","participants":["alice@example.com","bbo@example.com"]}]}`,
				422, `rotations[0].participants[1]`},
			{"a schedule", "PUT", "/api/schedules/primary", asAdmin,
				`{"name":"primary","timezone":"Europe/Berlin","rotations":[{"name":"w","type":"weekly","start":"2026-01-05T09:00:00+01:00","participants":["alice@example.com","bob@example.com"]}]}`,
				201, "saved"},
			{"a body naming another object", "PUT", "/api/teams/secops", asAdmin, `{"name":"other"}`, 422, "the URL names"},
			{"a team", "PUT", "/api/teams/secops", asAdmin, `{"name":"secops","members":["alice@example.com"]}`, 201, "saved"},
			{"unknown fields are refused", "PUT", "/api/teams/secops", asAdmin, `{"name":"secops","colour":"red"}`, 422, "unknown field"},
			{"a user in a team cannot be deleted", "DELETE", "/api/users/alice@example.com", asAdmin, ``, 422, "unknown user"},
			{"read alice", "GET", "/api/users/alice@example.com", asReader, ``, 200, "Alice Doe"},
			{"list users", "GET", "/api/users", asReader, ``, 200, "bob@example.com"},
			{"who is on call in week 1", "GET", "/api/schedules/primary/oncall?at=2026-01-06T10:00:00Z", asReader, ``, 200, `"onCall":["alice@example.com"]`},
			{"who is on call in week 2", "GET", "/api/schedules/primary/oncall?at=2026-01-13T10:00:00Z", asReader, ``, 200, `"onCall":["bob@example.com"]`},
			{"a timeline", "GET", "/api/schedules/primary/timeline?from=2026-01-05T09:00:00%2B01:00&days=14", asReader, ``, 200, `"end":"2026-01-19T09:00:00+01:00"`},
			{"an unknown schedule", "GET", "/api/schedules/nope/oncall", asReader, ``, 404, "does not exist"},
			{"a time out of range", "GET", "/api/schedules/primary/oncall?at=0000-06-01T00:00:00Z", asReader, ``, 422, "between 1970 and 9000"},
			{"an unknown kind", "GET", "/api/widgets", asReader, ``, 404, "no such API endpoint"},
			{"Opsgenie's on-calls with an integration key", "GET", "/v2/schedules/primary/on-calls?date=2026-01-13T10:00:00Z", "GenieKey " + env.Key, ``, 200, `"onCallParticipants":[{"id":"bob@example.com","name":"bob@example.com","type":"user"}]`},
			{"delete bob", "DELETE", "/api/users/bob@example.com", asAdmin, ``, 422, "unknown user"},
		}
		for _, s := range steps {
			res := rawDo(t, s.method, env.URL+s.path, s.auth, s.body)
			if res.status != s.status || !strings.Contains(res.body, s.contains) {
				t.Errorf("%s: %d %s, want %d containing %q", s.name, res.status, res.body, s.status, s.contains)
			}
		}
	})
}
