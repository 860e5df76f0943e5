package awstest

import (
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AssumeRoleRequest is an AssumeRole call as sent (query protocol, form-encoded).
type AssumeRoleRequest struct {
	RoleArn         string
	RoleSessionName string
	// ExternalId is "" when the parameter was not sent.
	ExternalId      string
	DurationSeconds int
}

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, body []byte, c *Call) *apiError {
	if r.Method != http.MethodPost {
		return &apiError{http.StatusBadRequest, "InvalidAction", "STS takes POST requests here"}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return &apiError{http.StatusBadRequest, "InvalidParameterValue", "Content-Type must be application/x-www-form-urlencoded"}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return &apiError{http.StatusBadRequest, "MalformedQueryString", "the form body cannot be parsed"}
	}
	if a := form.Get("Action"); a != OpAssumeRole {
		return &apiError{http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %.40q for version %.20q", a, form.Get("Version"))}
	}
	c.Operation = OpAssumeRole
	sess, aerr := s.authenticate(r, body, "sts", c)
	if aerr != nil {
		return aerr
	}
	if form.Get("Version") != "2011-06-15" {
		return &apiError{http.StatusBadRequest, "InvalidAction", "Could not find operation AssumeRole for this version"}
	}
	req, aerr := parseAssumeRole(form)
	if aerr != nil {
		return aerr
	}
	c.AssumeRole = req
	if f := s.takeFault(OpAssumeRole); f != nil {
		return &apiError{f.Status, f.Code, f.Message}
	}
	caller := s.opts.IdentityARN
	if sess != nil {
		caller = sess.assumedArn
	}
	denied := &apiError{http.StatusForbidden, "AccessDenied",
		fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller, req.RoleArn)}
	i := slices.IndexFunc(s.opts.Roles, func(ro Role) bool { return ro.ARN == req.RoleArn })
	// Roles trust the base identity only; a wrong or missing ExternalId is denied with the very
	// same answer as an untrusted caller, which is what makes it hard to diagnose at AWS.
	if i < 0 || sess != nil {
		return denied
	}
	role := &s.opts.Roles[i]
	if role.ExternalID != "" && req.ExternalId != role.ExternalID {
		return denied
	}
	duration := time.Duration(req.DurationSeconds) * time.Second
	if duration == 0 {
		duration = time.Hour
	}
	if duration > role.MaxSessionDuration {
		return &apiError{http.StatusBadRequest, "ValidationError",
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}
	}
	account, name := roleParts(role.ARN)
	roleID := "AROA" + strings.ToUpper(randomString(8, hexString))
	ns := &session{
		role:          role,
		secret:        newSecret(),
		token:         newToken(),
		expires:       time.Now().Add(duration).Truncate(time.Second),
		assumedArn:    fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, name, req.RoleSessionName),
		assumedRoleID: roleID + ":" + req.RoleSessionName,
	}
	key := newAccessKeyID()
	s.mu.Lock()
	s.sessions[key] = ns
	s.mu.Unlock()

	type credentials struct {
		AccessKeyId     string
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	type assumedRoleUser struct {
		Arn           string
		AssumedRoleId string
	}
	resp := struct {
		XMLName xml.Name `xml:"AssumeRoleResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Result  struct {
			AssumedRoleUser  assumedRoleUser
			Credentials      credentials
			PackedPolicySize int
		} `xml:"AssumeRoleResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}{Xmlns: stsNamespace, RequestID: newRequestID()}
	resp.Result.AssumedRoleUser = assumedRoleUser{ns.assumedArn, ns.assumedRoleID}
	resp.Result.Credentials = credentials{key, ns.secret, ns.token, ns.expires.UTC().Format(time.RFC3339)}
	writeXML(w, http.StatusOK, resp.RequestID, resp)
	return nil
}

func hexString(b []byte) string { return fmt.Sprintf("%x", b) }

// parseAssumeRole validates the parameters as STS does, with its limits and patterns.
func parseAssumeRole(form url.Values) (*AssumeRoleRequest, *apiError) {
	invalid := func(format string, args ...any) *apiError {
		return &apiError{http.StatusBadRequest, "ValidationError", "1 validation error detected: " + fmt.Sprintf(format, args...)}
	}
	req := &AssumeRoleRequest{
		RoleArn:         form.Get("RoleArn"),
		RoleSessionName: form.Get("RoleSessionName"),
		ExternalId:      form.Get("ExternalId"),
	}
	switch n := utf8.RuneCountInString(req.RoleArn); {
	case !form.Has("RoleArn"):
		return nil, invalid("Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case n < 20 || n > 2048:
		return nil, invalid("Value at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048")
	}
	switch n := len(req.RoleSessionName); {
	case !form.Has("RoleSessionName"):
		return nil, invalid("Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case n < 2 || n > 64 || !sessionNamePattern.MatchString(req.RoleSessionName):
		return nil, invalid("Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and match [\\w+=,.@-]*")
	}
	if form.Has("ExternalId") {
		if n := len(req.ExternalId); n < 2 || n > 1224 || !externalIDPattern.MatchString(req.ExternalId) {
			return nil, invalid("Value at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and match [\\w+=,.@:\\/-]*")
		}
	}
	if form.Has("DurationSeconds") {
		d, err := strconv.Atoi(form.Get("DurationSeconds"))
		if err != nil || d < 900 || d > 43200 {
			return nil, invalid("Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")
		}
		req.DurationSeconds = d
	}
	return req, nil
}

// roleParts reads the account and role name from arn:aws:iam::123456789012:role/path/name.
func roleParts(arn string) (account, name string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "000000000000", "unknown"
	}
	resource := parts[5]
	if i := strings.LastIndex(resource, "/"); i >= 0 {
		resource = resource[i+1:]
	}
	return parts[4], resource
}

func writeXML(w http.ResponseWriter, status int, requestID string, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		panic(err) // only fixed types are marshalled: a failure is a bug in this file
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

// writeXMLError answers in the query protocol's error shape.
func writeXMLError(w http.ResponseWriter, e *apiError) {
	type errorBody struct {
		Type    string
		Code    string
		Message string
	}
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	resp := struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     errorBody
		RequestID string `xml:"RequestId"`
	}{Xmlns: stsNamespace, Error: errorBody{typ, e.code, e.message}, RequestID: newRequestID()}
	writeXML(w, e.status, resp.RequestID, resp)
}
