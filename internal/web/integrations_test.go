package web_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/server"
	"github.com/tocsin-dev/tocsin/internal/server/servertest"
	"github.com/tocsin-dev/tocsin/internal/store/storetest"
)

// people is the on-call configuration the integrations, on-call and profile tests share: an admin
// outside every team, two team members with the default role, a read-only member and a user of
// another team.
const people = `
users:
  - username: admin@example.com
    role: admin
  - username: alice@example.com
    fullName: Alice Doe
  - username: bob@example.com
    fullName: Bob Roe
  - username: carol@example.com
    role: readonly
  - username: dave@example.com
teams:
  - name: secops
    members: [alice@example.com, bob@example.com, carol@example.com]
    escalation: secops-escalation
  - name: platform
    members: [dave@example.com]
schedules:
  - name: secops-primary
    team: secops
    timezone: Europe/Berlin
    rotations:
      - {name: always, type: weekly, start: "2020-01-06T09:00:00+01:00", participants: [alice@example.com]}
escalations:
  - name: secops-escalation
    rules:
      - {delay: 0s, notify: {schedule: secops-primary}}
      - {delay: 10m, notify: {team: secops}}
`

const publicURL = "https://tocsin.example.com"

// startWithPeople runs tocsin with the https public URL and the shared configuration.
func startWithPeople(t *testing.T) *servertest.Env {
	t.Helper()
	env := servertest.StartWith(t, server.Config{Database: storetest.SQLite(t), BaseURL: publicURL})
	env.Apply(t, people)
	return env
}

// keepAllCookies is a cookie jar that also sends Secure cookies over http: the public URL is https,
// so the session cookie is Secure, but the test talks to the listener in plain http.
type keepAllCookies struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *keepAllCookies) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cs {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
	}
}

func (j *keepAllCookies) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

var _ http.CookieJar = (*keepAllCookies)(nil)

// signedInClient signs username in (setting a password first) and returns the client and the
// session's CSRF token.
func signedInClient(t *testing.T, env *servertest.Env, username string) (*http.Client, string) {
	t.Helper()
	const password = "correct horse battery staple"
	if err := env.App.SignIn.SetPassword(context.Background(), username, password); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{
		Jar:           &keepAllCookies{cookies: map[string]*http.Cookie{}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, _ := fetch(t, c, "POST", env.URL+"/login", url.Values{"username": {username}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", username, res.StatusCode)
	}
	res, body := fetch(t, c, "GET", env.URL+"/integrations", nil)
	m := csrfRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("a page after signing in as %s: %d, CSRF token found: %v", username, res.StatusCode, m != nil)
	}
	return c, html.UnescapeString(m[1])
}

// inputValue returns the value of the input with that id, unescaped.
func inputValue(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`<input id="` + regexp.QuoteMeta(id) + `"[^>]*\svalue="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no input #%s with a value on the page:\n%s", id, body)
	}
	return html.UnescapeString(m[1])
}

// securityHubForm is a valid create form; tests change what they test.
func securityHubForm(csrf, name string) url.Values {
	return url.Values{
		"csrf": {csrf}, "type": {"amazonsecurityhub"}, "name": {name}, "team": {"secops"},
		"external_id": {"tocsin-0123456789abcdef01234567"}, "region": {"eu-central-1"},
		"min_severity": {"HIGH"}, "products": {"GuardDuty, Inspector"}, "record_states": {"ACTIVE"},
	}
}

func TestAnAdminCreatesASecurityHubIntegrationAndItsEndpointURLCarriesAWorkingKey(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "admin@example.com")
	ctx := context.Background()

	res, body := fetch(t, c, "GET", env.URL+"/integrations/new", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /integrations/new: %d", res.StatusCode)
	}
	if id := inputValue(t, body, "in-external-id"); !regexp.MustCompile(`^tocsin-[0-9a-f]{24}$`).MatchString(id) {
		t.Errorf("the new form's external id is %q, want a generated tocsin-<24 hex>", id)
	}
	if !strings.Contains(body, `<option value="secops">`) || !strings.Contains(body, `<option value="platform">`) {
		t.Error("the team select does not offer the configuration's teams")
	}

	form := securityHubForm(csrf, "securityhub prod")
	form.Set("role_arn", "arn:aws:iam::123456789012:role/tocsinSecurityHubRole")
	form.Set("send_updates", "on")
	res, body = fetch(t, c, "POST", env.URL+"/integrations", form)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d\n%s", res.StatusCode, body)
	}
	endpoint := inputValue(t, body, "endpoint-url")
	prefix := publicURL + "/v1/json/amazonsecurityhub?apiKey="
	if !strings.HasPrefix(endpoint, prefix) || len(endpoint) == len(prefix) {
		t.Fatalf("endpoint URL %q, want %sKEY", endpoint, prefix)
	}
	key := strings.TrimPrefix(endpoint, prefix)
	if !strings.Contains(body, `data-copy="#endpoint-url"`) {
		t.Error("the endpoint URL has no copy button")
	}
	in, err := env.App.Integrations.Authenticate(ctx, key)
	if err != nil {
		t.Fatalf("the key in the endpoint URL does not work: %v", err)
	}
	st := in.Settings
	if in.Name != "securityhub prod" || in.Type != integration.TypeSecurityHub || in.Team != "secops" || !st.SendUpdates ||
		st.ExternalID != "tocsin-0123456789abcdef01234567" || st.Region != "eu-central-1" || st.Filter.MinSeverity != "HIGH" ||
		!slices.Equal(st.Filter.ProductNames, []string{"GuardDuty", "Inspector"}) || !slices.Equal(st.Filter.RecordStates, []string{"ACTIVE"}) {
		t.Errorf("stored integration %+v", in)
	}

	res, body = fetch(t, c, "GET", env.URL+"/integrations/securityhub%20prod", nil)
	if res.StatusCode != http.StatusOK || strings.Contains(body, key) {
		t.Fatalf("the integration's page: %d, shows the key again: %v", res.StatusCode, strings.Contains(body, key))
	}
	if got := inputValue(t, body, "endpoint-url"); got != prefix+"KEY" {
		t.Errorf("the integration's page shows endpoint %q, want the KEY placeholder", got)
	}
	res, body = fetch(t, c, "GET", env.URL+"/integrations", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "securityhub prod") || !strings.Contains(body, "0 received, 0 filtered, 0 failed") {
		t.Errorf("the list: %d, want the integration with its finding counts\n%s", res.StatusCode, body)
	}
}

func TestAnAdminCreatesAnAPIIntegrationAndSeesItsKeyForGenieKey(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "admin@example.com")

	res, body := fetch(t, c, "GET", env.URL+"/integrations/new?type=api", nil)
	if res.StatusCode != http.StatusOK || strings.Contains(body, "role_arn") {
		t.Fatalf("the API form: %d, has Security Hub fields: %v", res.StatusCode, strings.Contains(body, "role_arn"))
	}
	res, body = fetch(t, c, "POST", env.URL+"/integrations", url.Values{"csrf": {csrf}, "type": {"api"}, "name": {"scripts"}, "team": {"platform"}})
	if res.StatusCode != http.StatusCreated || !strings.Contains(body, "GenieKey") {
		t.Fatalf("create: %d\n%s", res.StatusCode, body)
	}
	if u := inputValue(t, body, "endpoint-url"); u != publicURL+"/v2/alerts" {
		t.Errorf("API URL %q", u)
	}
	in, err := env.App.Integrations.Authenticate(context.Background(), inputValue(t, body, "api-key"))
	if err != nil || in.Name != "scripts" || in.Type != integration.TypeAPI || in.Team != "platform" {
		t.Errorf("the key shown: %+v, %v", in, err)
	}
}

func TestTheIntegrationFormsRefuseWhatTheIntegrationWouldRefuseAndKeepTheValues(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "admin@example.com")
	env.Integration(t, integration.Integration{Name: "existing", Type: integration.TypeSecurityHub, Settings: integration.Settings{ExternalID: "tocsin-abc"}})

	for _, tc := range []struct {
		name, field, value, want string
		kept                     bool // a text field, whose value the refused form shows again
	}{
		{"a bad role ARN", "role_arn", "arn:aws:iam::12345:role/x", "want arn:aws:iam::ACCOUNT:role/NAME", true},
		{"a bad region", "region", "Frankfurt", "want a region name", true},
		{"an unknown minimum severity", "min_severity", "URGENT", "minSeverity", false},
		{"an unknown record state", "record_states", "DELETED", "recordStates", false},
		{"an unknown team", "team", "nobody", "not in the on-call configuration", false},
		{"sending updates without a role", "send_updates", "on", "needs a role ARN", false},
		{"a name taken", "name", "existing", "already exists", true},
		{"a name with a slash", "name", "a/b", "Integration name", true},
	} {
		t.Run(tc.name+" is refused when creating", func(t *testing.T) {
			form := securityHubForm(csrf, "new one")
			form.Set(tc.field, tc.value)
			res, body := fetch(t, c, "POST", env.URL+"/integrations", form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), tc.want) {
				t.Fatalf("%d, want 422 saying %q\n%s", res.StatusCode, tc.want, body)
			}
			if tc.kept && !strings.Contains(html.UnescapeString(body), `value="`+tc.value+`"`) {
				t.Errorf("the form lost the value %q", tc.value)
			}
			if _, err := env.App.Integrations.Get(context.Background(), "new one"); !errors.Is(err, integration.ErrNotFound) {
				t.Errorf("a refused integration was stored: %v", err)
			}
		})
		if tc.field == "name" {
			continue
		}
		t.Run(tc.name+" is refused when editing", func(t *testing.T) {
			form := securityHubForm(csrf, "")
			form.Set(tc.field, tc.value)
			res, body := fetch(t, c, "POST", env.URL+"/integrations/existing", form)
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(body), tc.want) {
				t.Fatalf("%d, want 422 saying %q\n%s", res.StatusCode, tc.want, body)
			}
			in, err := env.App.Integrations.Get(context.Background(), "existing")
			if err != nil || in.Team != "" || in.Settings.Region != "" {
				t.Errorf("a refused edit was stored: %+v, %v", in, err)
			}
		})
	}
}

func TestEditingAnIntegrationSavesSendUpdatesTheRoleAndTheFilter(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "admin@example.com")
	env.Integration(t, integration.Integration{Name: "securityhub", Type: integration.TypeSecurityHub, Settings: integration.Settings{ExternalID: "tocsin-abc"}})

	form := securityHubForm(csrf, "")
	form.Set("send_updates", "on")
	form.Set("role_arn", "arn:aws:iam::123456789012:role/tocsinSecurityHubRole")
	form.Set("min_severity", "medium")
	form.Set("external_id", "tocsin-new")
	res, _ := fetch(t, c, "POST", env.URL+"/integrations/securityhub", form)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/integrations/securityhub?flash=") {
		t.Fatalf("save: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	in, err := env.App.Integrations.Get(context.Background(), "securityhub")
	if err != nil {
		t.Fatal(err)
	}
	if st := in.Settings; !st.SendUpdates || st.RoleARN != "arn:aws:iam::123456789012:role/tocsinSecurityHubRole" || st.ExternalID != "tocsin-new" ||
		st.Filter.MinSeverity != "MEDIUM" || in.Team != "secops" {
		t.Errorf("saved %+v", in)
	}

	form.Del("send_updates")
	if res, _ := fetch(t, c, "POST", env.URL+"/integrations/securityhub", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	if in, _ := env.App.Integrations.Get(context.Background(), "securityhub"); in.Settings.SendUpdates {
		t.Error("unticking send updates did not turn it off")
	}
}

func TestTheCloudFormationDownloadIsATemplateForTheIntegration(t *testing.T) {
	env := startWithPeople(t)
	c, _ := signedInClient(t, env, "alice@example.com")
	env.Integration(t, integration.Integration{Name: "securityhub prod", Type: integration.TypeSecurityHub,
		Settings: integration.Settings{ExternalID: "tocsin-0123456789abcdef01234567", Filter: integration.FindingFilter{MinSeverity: "HIGH"}}})

	_, body := fetch(t, c, "GET", env.URL+"/integrations/securityhub%20prod", nil)
	if !strings.Contains(body, `href="/integrations/securityhub%20prod/cloudformation.yaml"`) {
		t.Fatalf("the page has no download link\n%s", body)
	}
	for _, tc := range []struct {
		name, query, want string
	}{
		{"without a trusted principal", "", "tocsin-0123456789abcdef01234567"},
		{"with a trusted principal", "?trusted_principal=123456789012", "123456789012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := fetch(t, c, "GET", env.URL+"/integrations/securityhub%20prod/cloudformation.yaml"+tc.query, nil)
			if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("%d, Content-Disposition %q\n%s", res.StatusCode, res.Header.Get("Content-Disposition"), body)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
				t.Fatalf("the template is not YAML: %v", err)
			}
			if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
				t.Fatal("the template is not a YAML mapping")
			}
			if !strings.Contains(body, "securityhub prod") || !strings.Contains(body, tc.want) {
				t.Errorf("the template does not name the integration or lacks %q", tc.want)
			}
		})
	}
	res, body := fetch(t, c, "GET", env.URL+"/integrations/securityhub%20prod/cloudformation.yaml?trusted_principal=someone", nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "trusted principal") {
		t.Errorf("a bad trusted principal: %d\n%s", res.StatusCode, body)
	}
}

func TestWithoutAnHTTPSPublicURLThePageSaysWhyThereIsNoCloudFormationTemplate(t *testing.T) {
	env := servertest.StartWith(t, server.Config{Database: storetest.SQLite(t)})
	env.Apply(t, people)
	c, _ := signedInClient(t, env, "admin@example.com")
	env.Integration(t, integration.Integration{Name: "securityhub", Type: integration.TypeSecurityHub, Settings: integration.Settings{ExternalID: "tocsin-abc"}})

	_, body := fetch(t, c, "GET", env.URL+"/integrations/securityhub", nil)
	if !strings.Contains(body, "The CloudFormation template cannot be made") || !strings.Contains(body, "must use https") || strings.Contains(body, "Download CloudFormation") {
		t.Errorf("the page does not explain the missing template\n%s", body)
	}
	if got := inputValue(t, body, "endpoint-url"); got != env.URL+"/v1/json/amazonsecurityhub?apiKey=KEY" {
		t.Errorf("endpoint %q, want it on the public URL %s", got, env.URL)
	}
	if res, _ := fetch(t, c, "GET", env.URL+"/integrations/securityhub/cloudformation.yaml", nil); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("the download: %d, want 422", res.StatusCode)
	}
}

func TestRotatingTheKeyShowsTheNewEndpointURLOnceAndTheOldKeyStopsWorking(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "admin@example.com")
	ctx := context.Background()
	old := env.Integration(t, integration.Integration{Name: "securityhub", Type: integration.TypeSecurityHub, Settings: integration.Settings{ExternalID: "tocsin-abc"}})

	res, body := fetch(t, c, "POST", env.URL+"/integrations/securityhub/rotate-key", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("rotate: %d\n%s", res.StatusCode, body)
	}
	key := strings.TrimPrefix(inputValue(t, body, "endpoint-url"), publicURL+"/v1/json/amazonsecurityhub?apiKey=")
	if _, err := env.App.Integrations.Authenticate(ctx, key); err != nil {
		t.Errorf("the new key: %v", err)
	}
	if _, err := env.App.Integrations.Authenticate(ctx, old); !errors.Is(err, integration.ErrUnknownKey) {
		t.Errorf("the old key after rotation: %v, want ErrUnknownKey", err)
	}
}

func TestDisablingEnablingAndDeletingAnIntegration(t *testing.T) {
	env := startWithPeople(t)
	c, csrf := signedInClient(t, env, "admin@example.com")
	ctx := context.Background()
	key := env.Integration(t, integration.Integration{Name: "scripts", Type: integration.TypeAPI})

	steps := []struct {
		name, action string
		form         url.Values
		status       int
		keyErr       error
	}{
		{"disabling refuses the key", "disable", url.Values{}, http.StatusSeeOther, integration.ErrDisabled},
		{"enabling accepts it again", "enable", url.Values{}, http.StatusSeeOther, nil},
		{"deleting without the confirmation is refused", "delete", url.Values{}, http.StatusUnprocessableEntity, nil},
		{"deleting with the confirmation deletes", "delete", url.Values{"confirm": {"yes"}}, http.StatusSeeOther, integration.ErrUnknownKey},
	}
	for _, st := range steps {
		st.form.Set("csrf", csrf)
		res, body := fetch(t, c, "POST", env.URL+"/integrations/scripts/"+st.action, st.form)
		if res.StatusCode != st.status {
			t.Fatalf("%s: %d, want %d\n%s", st.name, res.StatusCode, st.status, body)
		}
		if _, err := env.App.Integrations.Authenticate(ctx, key); !errors.Is(err, st.keyErr) {
			t.Fatalf("%s: the key gives %v, want %v", st.name, err, st.keyErr)
		}
	}
	if res, _ := fetch(t, c, "GET", env.URL+"/integrations/scripts", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("a deleted integration's page: %d, want 404", res.StatusCode)
	}
}

func TestOnlyAdminsChangeIntegrations(t *testing.T) {
	env := startWithPeople(t)
	key := env.Integration(t, integration.Integration{Name: "securityhub", Type: integration.TypeSecurityHub, Settings: integration.Settings{ExternalID: "tocsin-abc"}})
	for _, user := range []string{"alice@example.com", "carol@example.com", "stranger@example.com"} {
		c, csrf := signedInClient(t, env, user)
		t.Run(user+" reads the integration but its form is disabled", func(t *testing.T) {
			res, body := fetch(t, c, "GET", env.URL+"/integrations/securityhub", nil)
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "<fieldset disabled>") || strings.Contains(body, "Rotate key") {
				t.Errorf("%d, want the page with a disabled form and no actions", res.StatusCode)
			}
		})
		for _, tc := range []struct{ method, path string }{
			{"GET", "/integrations/new"},
			{"POST", "/integrations"},
			{"POST", "/integrations/securityhub"},
			{"POST", "/integrations/securityhub/disable"},
			{"POST", "/integrations/securityhub/rotate-key"},
			{"POST", "/integrations/securityhub/delete"},
		} {
			t.Run(user+" gets 403 for "+tc.method+" "+tc.path, func(t *testing.T) {
				var form url.Values
				if tc.method == "POST" {
					form = securityHubForm(csrf, "sneaky")
					form.Set("confirm", "yes")
				}
				if res, _ := fetch(t, c, tc.method, env.URL+tc.path, form); res.StatusCode != http.StatusForbidden {
					t.Errorf("%d, want 403", res.StatusCode)
				}
			})
		}
	}
	if in, err := env.App.Integrations.Authenticate(context.Background(), key); err != nil || in.Team != "" {
		t.Errorf("after the refused requests the integration is %+v, %v", in, err)
	}
}
