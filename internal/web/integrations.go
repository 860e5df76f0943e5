package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tocsin-dev/tocsin/internal/integration"
	"github.com/tocsin-dev/tocsin/internal/securityhub"
	"github.com/tocsin-dev/tocsin/internal/securityhub/cloudformation"
)

// The integrations pages: everyone signed in reads them, admins create, edit, rotate and delete.
// An integration's key is shown once, on the page that answers the create or the rotation, and never
// again (only its hash is stored).
func (s *Server) integrationRoutes() {
	m := s.mux
	m.Handle("GET /integrations", s.signedIn(s.integrationList))
	m.Handle("GET /integrations/new", s.signedIn(s.integrationNew))
	m.Handle("POST /integrations", s.signedIn(s.integrationCreate))
	m.Handle("GET /integrations/{name}", s.signedIn(s.integrationPage))
	m.Handle("POST /integrations/{name}", s.signedIn(s.integrationSave))
	m.Handle("GET /integrations/{name}/cloudformation.yaml", s.signedIn(s.integrationCloudFormation))
	m.Handle("POST /integrations/{name}/enable", s.signedIn(s.integrationEnable(true)))
	m.Handle("POST /integrations/{name}/disable", s.signedIn(s.integrationEnable(false)))
	m.Handle("POST /integrations/{name}/rotate-key", s.signedIn(s.integrationRotateKey))
	m.Handle("POST /integrations/{name}/delete", s.signedIn(s.integrationDelete))
}

// severities are the choices of the minimum severity select, most severe first; "" lets all through.
var minSeverities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"}

// recordStates are the record states a filter may list.
var filterRecordStates = []string{securityhub.RecordActive, securityhub.RecordArchived}

// integrationForm is what the create and edit forms hold, as typed, so that a refused form comes back
// with the values it was sent with.
type integrationForm struct {
	Name, Type, Team            string
	SendUpdates                 bool
	RoleARN, ExternalID, Region string
	MinSeverity                 string
	Products, Accounts          string // comma-separated
	RecordStates                []string
}

// HasState reports whether the form's filter lists the record state (for the checkboxes).
func (f integrationForm) HasState(state string) bool { return slices.Contains(f.RecordStates, state) }

// SecurityHub reports whether the form is of a Security Hub integration.
func (f integrationForm) SecurityHub() bool { return f.Type == string(integration.TypeSecurityHub) }

func integrationFormOf(in *integration.Integration) integrationForm {
	st := in.Settings
	return integrationForm{
		Name: in.Name, Type: string(in.Type), Team: in.Team, SendUpdates: st.SendUpdates,
		RoleARN: st.RoleARN, ExternalID: st.ExternalID, Region: st.Region,
		MinSeverity: st.Filter.MinSeverity, Products: strings.Join(st.Filter.ProductNames, ", "),
		Accounts: strings.Join(st.Filter.AccountIDs, ", "), RecordStates: st.Filter.RecordStates,
	}
}

// readIntegrationForm reads the posted form; Name and Type only matter when creating.
func readIntegrationForm(r *http.Request) integrationForm {
	f := integrationForm{
		Name: strings.TrimSpace(r.PostFormValue("name")), Type: r.PostFormValue("type"), Team: r.PostFormValue("team"),
		SendUpdates: r.PostFormValue("send_updates") != "",
		RoleARN:     strings.TrimSpace(r.PostFormValue("role_arn")), ExternalID: strings.TrimSpace(r.PostFormValue("external_id")),
		Region: strings.TrimSpace(r.PostFormValue("region")), MinSeverity: strings.ToUpper(strings.TrimSpace(r.PostFormValue("min_severity"))),
		Products: strings.TrimSpace(r.PostFormValue("products")), Accounts: strings.TrimSpace(r.PostFormValue("accounts")),
	}
	for _, st := range r.PostForm["record_states"] {
		if st = strings.ToUpper(strings.TrimSpace(st)); st != "" && !slices.Contains(f.RecordStates, st) {
			f.RecordStates = append(f.RecordStates, st)
		}
	}
	return f
}

// invalidInput is a form the domain refused; its message is shown with the form, with a 422.
type refusedForm struct{ msg string }

func (e *refusedForm) Error() string { return e.msg }

// applyTo sets the team and, for a Security Hub integration, the settings, and checks the result as
// the store would (integration.Check) and as the intake will (securityhub.Filter.Validate). keepTeam
// is a team that may stay although the on-call configuration no longer has it: the current one.
func (f integrationForm) applyTo(in *integration.Integration, teams []string, keepTeam string) error {
	if f.Team != "" && f.Team != keepTeam && !slices.Contains(teams, f.Team) {
		return &refusedForm{fmt.Sprintf("Team %q is not in the on-call configuration.", f.Team)}
	}
	in.Team = f.Team
	if in.Type == integration.TypeSecurityHub {
		in.Settings.RoleARN, in.Settings.ExternalID, in.Settings.Region = f.RoleARN, f.ExternalID, f.Region
		in.Settings.SendUpdates = f.SendUpdates
		in.Settings.Filter = integration.FindingFilter{
			MinSeverity: f.MinSeverity, ProductNames: splitComma(f.Products), AccountIDs: splitComma(f.Accounts), RecordStates: f.RecordStates,
		}
	}
	if err := in.Check(); err != nil {
		return &refusedForm{sentenceCase(err.Error()) + "."}
	}
	if err := securityhub.Filter(in.Settings.Filter).Validate(); err != nil {
		return &refusedForm{sentenceCase(err.Error()) + "."}
	}
	return nil
}

func splitComma(s string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func sentenceCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// newExternalID makes the sts:ExternalId the write-back role's trust policy requires, as
// `tocsin integration create` does.
func newExternalID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make an external id: %w", err)
	}
	return "tocsin-" + hex.EncodeToString(b[:]), nil
}

// integrationPath is the page of the integration named name.
func integrationPath(name string) string { return "/integrations/" + url.PathEscape(name) }

// endpointURL is where an integration of type t is called, with key or, when key is empty, the
// placeholder KEY. API integrations take the key in a header instead.
func (s *Server) endpointURL(t integration.Type, key string) string {
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	k := "KEY"
	if key != "" {
		k = url.QueryEscape(key)
	}
	switch t {
	case integration.TypeSecurityHub:
		return base + "/v1/json/amazonsecurityhub?apiKey=" + k
	case integration.TypeWebhook:
		return base + "/v1/json/webhook?apiKey=" + k
	}
	return base + "/v2/alerts"
}

func (s *Server) intakeStatsOf(in *integration.Integration) *IntakeStats {
	if in.Type != integration.TypeSecurityHub || s.cfg.IntakeStats == nil {
		return nil
	}
	st := s.cfg.IntakeStats(in.ID)
	return &st
}

// teamNames lists the teams of the on-call configuration.
func (s *Server) teamNames(r *http.Request) ([]string, error) {
	cfg, err := s.cfg.DB.OnCall().Config(r.Context())
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cfg.Teams))
	for i, t := range cfg.Teams {
		names[i] = t.Name
	}
	return names, nil
}

type integrationRow struct {
	In    *integration.Integration
	Path  string
	Stats *IntakeStats
}

func (s *Server) integrationList(w http.ResponseWriter, r *http.Request, v *viewer) {
	list, err := s.cfg.Integrations.List(r.Context())
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	rows := make([]integrationRow, len(list))
	for i, in := range list {
		rows[i] = integrationRow{In: in, Path: integrationPath(in.Name), Stats: s.intakeStatsOf(in)}
	}
	s.render(w, r, http.StatusOK, "integrations", page{Title: "Integrations", Nav: "integrations", Viewer: v, Data: rows})
}

// integrationData is what integration.html shows: the create form (New) or an integration's page.
type integrationData struct {
	New         bool
	Form        integrationForm
	Teams       []string
	Severities  []string
	States      []string
	Integration *integration.Integration // nil when New
	Path        string
	Endpoint    string // with the placeholder KEY
	Stats       *IntakeStats
	// CloudFormationError says why no template can be made (for example a BaseURL that is not https).
	CloudFormationError string
	NoRole              bool // the template has no write-back role, for want of an external id
}

func (s *Server) integrationNew(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.Admin() {
		s.failErr(w, r, v, errForbidden)
		return
	}
	f := integrationForm{Type: string(integration.TypeSecurityHub)}
	if r.URL.Query().Get("type") == string(integration.TypeAPI) {
		f.Type = string(integration.TypeAPI)
	} else {
		id, err := newExternalID()
		if err != nil {
			s.failErr(w, r, v, err)
			return
		}
		f.ExternalID = id
	}
	s.renderIntegrationForm(w, r, v, http.StatusOK, f, "")
}

func (s *Server) renderIntegrationForm(w http.ResponseWriter, r *http.Request, v *viewer, status int, f integrationForm, msg string) {
	teams, err := s.teamNames(r)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	title := "New Security Hub integration"
	if !f.SecurityHub() {
		title = "New API integration"
	}
	s.render(w, r, status, "integration", page{Title: title, Nav: "integrations", Viewer: v, Error: msg,
		Data: integrationData{New: true, Form: f, Teams: teams, Severities: minSeverities, States: filterRecordStates}})
}

// integrationKeyData is what integration_key.html shows, once: the key of a new or rotated integration.
type integrationKeyData struct {
	Created     bool
	Integration *integration.Integration
	Path        string
	EndpointURL string // with the key, for Security Hub; the /v2/alerts URL for API integrations
	Key         string
	SecurityHub bool
}

func (s *Server) integrationCreate(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.Admin() {
		s.failErr(w, r, v, errForbidden)
		return
	}
	f := readIntegrationForm(r)
	t := integration.Type(f.Type)
	if t != integration.TypeSecurityHub && t != integration.TypeAPI {
		f.Type = string(integration.TypeSecurityHub)
		s.renderIntegrationForm(w, r, v, http.StatusUnprocessableEntity, f, "Choose the type: Amazon Security Hub or API.")
		return
	}
	teams, err := s.teamNames(r)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	in := integration.Integration{Name: f.Name, Type: t}
	if err := f.applyTo(&in, teams, ""); err != nil {
		s.renderIntegrationForm(w, r, v, http.StatusUnprocessableEntity, f, err.Error())
		return
	}
	created, key, err := s.cfg.Integrations.Create(r.Context(), in)
	if errors.Is(err, integration.ErrNameTaken) {
		s.renderIntegrationForm(w, r, v, http.StatusUnprocessableEntity, f, fmt.Sprintf("An integration named %q already exists; choose another name.", f.Name))
		return
	}
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	s.log.Info("web: integration created", "integration", created.Name, "type", created.Type, "user", v.User.Username)
	s.renderKey(w, r, v, http.StatusCreated, created, key, true)
}

func (s *Server) renderKey(w http.ResponseWriter, r *http.Request, v *viewer, status int, in *integration.Integration, key string, created bool) {
	title := "Integration " + in.Name + " created"
	if !created {
		title = "New key for " + in.Name
	}
	s.render(w, r, status, "integration_key", page{Title: title, Nav: "integrations", Viewer: v, Data: integrationKeyData{
		Created: created, Integration: in, Path: integrationPath(in.Name), EndpointURL: s.endpointURL(in.Type, key), Key: key,
		SecurityHub: in.Type == integration.TypeSecurityHub,
	}})
}

func (s *Server) integrationPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, err := s.cfg.Integrations.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	s.renderIntegration(w, r, v, http.StatusOK, in, integrationFormOf(in), "")
}

func (s *Server) renderIntegration(w http.ResponseWriter, r *http.Request, v *viewer, status int, in *integration.Integration, f integrationForm, msg string) {
	teams, err := s.teamNames(r)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	if in.Team != "" && !slices.Contains(teams, in.Team) {
		teams = append(teams, in.Team) // gone from the configuration, but still what the integration says
	}
	d := integrationData{
		Form: f, Teams: teams, Severities: minSeverities, States: filterRecordStates, Integration: in,
		Path: integrationPath(in.Name), Endpoint: s.endpointURL(in.Type, ""), Stats: s.intakeStatsOf(in),
	}
	if in.Type == integration.TypeSecurityHub {
		p := s.cloudFormationParams(in, "")
		d.NoRole = p.SkipRole
		if _, err := cloudformation.Template(p); err != nil {
			d.CloudFormationError = err.Error()
		}
	}
	s.render(w, r, status, "integration", page{Title: "Integration " + in.Name, Nav: "integrations", Viewer: v, Error: msg, Data: d})
}

func (s *Server) integrationSave(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.Admin() {
		s.failErr(w, r, v, errForbidden)
		return
	}
	name := r.PathValue("name")
	f := readIntegrationForm(r)
	teams, err := s.teamNames(r)
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	in, err := s.cfg.Integrations.Update(r.Context(), name, func(in *integration.Integration) error {
		f.Name, f.Type = in.Name, string(in.Type)
		return f.applyTo(in, teams, in.Team)
	})
	var bad *refusedForm
	if errors.As(err, &bad) {
		cur, gerr := s.cfg.Integrations.Get(r.Context(), name)
		if gerr != nil {
			s.failErr(w, r, v, gerr)
			return
		}
		s.renderIntegration(w, r, v, http.StatusUnprocessableEntity, cur, f, bad.Error())
		return
	}
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	s.log.Info("web: integration updated", "integration", in.Name, "user", v.User.Username)
	back(w, r, integrationPath(in.Name), "Saved. Running servers use the new settings at once.")
}

// cloudFormationParams builds the template's parameters as `tocsin aws template` does, without the
// key: the stack asks for the endpoint URL when it is deployed.
func (s *Server) cloudFormationParams(in *integration.Integration, principal string) cloudformation.Params {
	st := in.Settings
	return cloudformation.Params{
		IntegrationName: in.Name, EndpointURL: s.endpointURL(in.Type, ""), IncludeKey: false,
		MinSeverity: st.Filter.MinSeverity, ProductNames: st.Filter.ProductNames,
		AccountIDs: st.Filter.AccountIDs, RecordStates: st.Filter.RecordStates,
		TrustedPrincipal: principal, ExternalID: st.ExternalID, SkipRole: st.ExternalID == "",
	}
}

func (s *Server) integrationCloudFormation(w http.ResponseWriter, r *http.Request, v *viewer) {
	in, err := s.cfg.Integrations.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	if in.Type != integration.TypeSecurityHub {
		s.fail(w, r, v, http.StatusNotFound, "Only Amazon Security Hub integrations have a CloudFormation template.")
		return
	}
	out, err := cloudformation.Template(s.cloudFormationParams(in, strings.TrimSpace(r.URL.Query().Get("trusted_principal"))))
	if err != nil {
		s.fail(w, r, v, http.StatusUnprocessableEntity, "The CloudFormation template cannot be made: "+err.Error())
		return
	}
	file := "tocsin-" + strings.Map(func(r rune) rune {
		if r == ' ' || r == '@' {
			return '-'
		}
		return r
	}, in.Name) + ".yaml"
	h := w.Header()
	h.Set("Content-Type", "application/yaml; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file}))
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}

func (s *Server) integrationEnable(enabled bool) func(http.ResponseWriter, *http.Request, *viewer) {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if !v.Admin() {
			s.failErr(w, r, v, errForbidden)
			return
		}
		in, err := s.cfg.Integrations.SetEnabled(r.Context(), r.PathValue("name"), enabled)
		if err != nil {
			s.failErr(w, r, v, err)
			return
		}
		msg := "Integration " + in.Name + " is enabled: its key works again."
		if !enabled {
			msg = "Integration " + in.Name + " is disabled: its key is refused until it is enabled again."
		}
		s.log.Info("web: integration enabled", "integration", in.Name, "enabled", enabled, "user", v.User.Username)
		back(w, r, integrationPath(in.Name), msg)
	}
}

func (s *Server) integrationRotateKey(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.Admin() {
		s.failErr(w, r, v, errForbidden)
		return
	}
	in, key, err := s.cfg.Integrations.RotateKey(r.Context(), r.PathValue("name"))
	if err != nil {
		s.failErr(w, r, v, err)
		return
	}
	s.log.Info("web: integration key rotated", "integration", in.Name, "user", v.User.Username)
	s.renderKey(w, r, v, http.StatusOK, in, key, false)
}

func (s *Server) integrationDelete(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.Admin() {
		s.failErr(w, r, v, errForbidden)
		return
	}
	name := r.PathValue("name")
	if r.PostFormValue("confirm") != "yes" {
		s.fail(w, r, v, http.StatusUnprocessableEntity, "Tick the box to confirm that integration "+name+" and its key should be deleted.")
		return
	}
	if err := s.cfg.Integrations.Delete(r.Context(), name); err != nil {
		s.failErr(w, r, v, err)
		return
	}
	s.log.Info("web: integration deleted", "integration", name, "user", v.User.Username)
	back(w, r, "/integrations", "Integration "+name+" deleted. The alerts it made stay.")
}
