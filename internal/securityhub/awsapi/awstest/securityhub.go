package awstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// BatchUpdateFindingsRequest is the body of PATCH /findings/batchupdate, field for field as the
// Security Hub API reference publishes it; anything else is refused.
type BatchUpdateFindingsRequest struct {
	FindingIdentifiers []FindingIdentifier `json:"FindingIdentifiers"`
	Note               *NoteUpdate         `json:"Note,omitempty"`
	Severity           *SeverityUpdate     `json:"Severity,omitempty"`
	Workflow           *WorkflowUpdate     `json:"Workflow,omitempty"`
	Confidence         *int                `json:"Confidence,omitempty"`
	Criticality        *int                `json:"Criticality,omitempty"`
	Types              []string            `json:"Types,omitempty"`
	UserDefinedFields  map[string]string   `json:"UserDefinedFields,omitempty"`
	VerificationState  *string             `json:"VerificationState,omitempty"`
	RelatedFindings    []FindingIdentifier `json:"RelatedFindings,omitempty"`
}

// FindingIdentifier is AwsSecurityFindingIdentifier.
type FindingIdentifier struct {
	Id         *string `json:"Id"`
	ProductArn *string `json:"ProductArn"`
}

// NoteUpdate is the Note of BatchUpdateFindings.
type NoteUpdate struct {
	Text      *string `json:"Text"`
	UpdatedBy *string `json:"UpdatedBy"`
}

// SeverityUpdate is the Severity of BatchUpdateFindings.
type SeverityUpdate struct {
	Label      *string  `json:"Label,omitempty"`
	Normalized *int     `json:"Normalized,omitempty"`
	Product    *float64 `json:"Product,omitempty"`
}

// WorkflowUpdate is the Workflow of BatchUpdateFindings.
type WorkflowUpdate struct {
	Status *string `json:"Status,omitempty"`
}

// GetFindingsRequest is the body of POST /findings. Filters and SortCriteria are kept as sent: the
// stand-in has no findings to filter.
type GetFindingsRequest struct {
	Filters      json.RawMessage `json:"Filters,omitempty"`
	MaxResults   *int            `json:"MaxResults,omitempty"`
	NextToken    *string         `json:"NextToken,omitempty"`
	SortCriteria json.RawMessage `json:"SortCriteria,omitempty"`
}

var (
	workflowStatuses   = []string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}
	severityLabels     = []string{"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	verificationStates = []string{"UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE"}
)

func (s *Server) serveSecurityHub(w http.ResponseWriter, r *http.Request, body []byte, c *Call) *apiError {
	var action string
	switch {
	case r.Method == http.MethodPatch && r.URL.Path == "/findings/batchupdate":
		c.Operation, action = OpBatchUpdateFindings, ActionBatchUpdateFindings
	case r.Method == http.MethodPost && r.URL.Path == "/findings":
		c.Operation, action = OpGetFindings, ActionGetFindings
	default:
		return &apiError{http.StatusNotFound, "UnknownOperationException", "no operation at " + r.Method + " " + r.URL.Path}
	}
	sess, aerr := s.authenticate(r, body, "securityhub", c)
	if aerr != nil {
		return aerr
	}
	if sess == nil || !slices.Contains(sess.role.Allow, action) {
		who := s.opts.IdentityARN
		if sess != nil {
			who = sess.assumedArn
		}
		return &apiError{http.StatusForbidden, "AccessDeniedException",
			fmt.Sprintf("User: %s is not authorized to perform: %s", who, action)}
	}
	if c.Operation == OpBatchUpdateFindings {
		account, _ := roleParts(sess.role.ARN)
		if s.overLimit(bucketKey{account, c.Region}) {
			return &apiError{http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded"}
		}
	}
	if f := s.takeFault(c.Operation); f != nil {
		return &apiError{f.Status, f.Code, f.Message}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return invalidInput("Content-Type must be application/json")
	}
	if c.Operation == OpGetFindings {
		var req GetFindingsRequest
		if err := decodeStrict(body, &req); err != nil {
			return invalidInput(err.Error())
		}
		c.GetFindings = &req
		if req.MaxResults != nil && (*req.MaxResults < 1 || *req.MaxResults > 100) {
			return invalidInput("MaxResults must be between 1 and 100")
		}
		writeJSON(w, http.StatusOK, map[string]any{"Findings": []any{}})
		return nil
	}
	var req BatchUpdateFindingsRequest
	if err := decodeStrict(body, &req); err != nil {
		return invalidInput(err.Error())
	}
	c.BatchUpdate = &req
	if msg := validateBatchUpdate(&req); msg != "" {
		return invalidInput(msg)
	}
	writeJSON(w, http.StatusOK, s.batchUpdateAnswer(req.FindingIdentifiers, c.Region))
	return nil
}

func invalidInput(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidInputException", msg}
}

// decodeStrict decodes one JSON object, refusing unknown fields (at any depth), type mismatches
// and trailing data, as AWS's deserialiser does.
func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("the request body is not valid: %v", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the request body has data after the JSON object")
	}
	return nil
}

// validateBatchUpdate checks the request against the published constraints. It returns "" when
// the request is valid.
func validateBatchUpdate(req *BatchUpdateFindingsRequest) string {
	switch n := len(req.FindingIdentifiers); {
	case n == 0:
		return "FindingIdentifiers must contain at least 1 finding identifier"
	case n > 100:
		return fmt.Sprintf("FindingIdentifiers must contain at most 100 finding identifiers, not %d", n)
	}
	for i, id := range req.FindingIdentifiers {
		if msg := validIdentifier(fmt.Sprintf("FindingIdentifiers[%d]", i), id); msg != "" {
			return msg
		}
	}
	update := false
	if n := req.Note; n != nil {
		update = true
		if msg := validText("Note.Text", n.Text, 512); msg != "" {
			return msg
		}
		if msg := validText("Note.UpdatedBy", n.UpdatedBy, 512); msg != "" {
			return msg
		}
	}
	if wf := req.Workflow; wf != nil {
		update = true
		if wf.Status == nil || !slices.Contains(workflowStatuses, *wf.Status) {
			return "Workflow.Status must be one of " + strings.Join(workflowStatuses, ", ")
		}
	}
	if sv := req.Severity; sv != nil {
		update = true
		if sv.Label == nil && sv.Normalized == nil && sv.Product == nil {
			return "Severity must set Label, Normalized or Product"
		}
		if sv.Label != nil && !slices.Contains(severityLabels, *sv.Label) {
			return "Severity.Label must be one of " + strings.Join(severityLabels, ", ")
		}
		if sv.Normalized != nil && (*sv.Normalized < 0 || *sv.Normalized > 100) {
			return "Severity.Normalized must be between 0 and 100"
		}
	}
	for name, v := range map[string]*int{"Confidence": req.Confidence, "Criticality": req.Criticality} {
		if v != nil {
			update = true
			if *v < 0 || *v > 100 {
				return name + " must be between 0 and 100"
			}
		}
	}
	if vs := req.VerificationState; vs != nil {
		update = true
		if !slices.Contains(verificationStates, *vs) {
			return "VerificationState must be one of " + strings.Join(verificationStates, ", ")
		}
	}
	if req.Types != nil {
		update = true
		if len(req.Types) > 50 {
			return "Types must contain at most 50 types"
		}
	}
	if req.UserDefinedFields != nil {
		update = true
		if len(req.UserDefinedFields) > 50 {
			return "UserDefinedFields must contain at most 50 fields"
		}
	}
	if req.RelatedFindings != nil {
		update = true
		if len(req.RelatedFindings) > 10 {
			return "RelatedFindings must contain at most 10 findings"
		}
		for i, id := range req.RelatedFindings {
			if msg := validIdentifier(fmt.Sprintf("RelatedFindings[%d]", i), id); msg != "" {
				return msg
			}
		}
	}
	if !update {
		return "the request must update at least one field"
	}
	return ""
}

func validIdentifier(path string, id FindingIdentifier) string {
	if msg := validText(path+".Id", id.Id, 512); msg != "" {
		return msg
	}
	return validText(path+".ProductArn", id.ProductArn, 2048)
}

// validText checks a required string of pattern .*\S.* and at most limit characters.
func validText(path string, v *string, limit int) string {
	switch {
	case v == nil:
		return path + " is required"
	case strings.TrimSpace(*v) == "":
		return path + " must contain a character other than white space"
	case utf8.RuneCountInString(*v) > limit:
		return fmt.Sprintf("%s must be at most %d characters", path, limit)
	}
	return ""
}

type unprocessedFinding struct {
	FindingIdentifier FindingIdentifier `json:"FindingIdentifier"`
	ErrorCode         string            `json:"ErrorCode"`
	ErrorMessage      string            `json:"ErrorMessage"`
}

// batchUpdateAnswer decides finding by finding: duplicates, injected outcomes, then existence.
func (s *Server) batchUpdateAnswer(ids []FindingIdentifier, region string) map[string]any {
	type ident struct{ id, arn string }
	count := map[ident]int{}
	for _, id := range ids {
		count[ident{*id.Id, *id.ProductArn}]++
	}
	injected := s.takeUnprocessed(ids)
	processed := []FindingIdentifier{}
	unprocessed := []unprocessedFinding{}
	for _, id := range ids {
		code := ""
		switch u := injected[*id.Id]; {
		case count[ident{*id.Id, *id.ProductArn}] > 1:
			code = "DuplicatedFindingIdentifier"
		case u != nil:
			unprocessed = append(unprocessed, unprocessedFinding{id, u.Code, u.Message})
			continue
		case !s.findingExists(*id.Id, *id.ProductArn, region):
			code = "FindingNotFound"
		}
		if code != "" {
			unprocessed = append(unprocessed, unprocessedFinding{id, code, unprocessedMessages[code]})
			continue
		}
		processed = append(processed, id)
	}
	return map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}
}

func (s *Server) findingExists(id, productArn, region string) bool {
	if len(s.opts.Findings) == 0 {
		return true
	}
	return slices.Contains(s.opts.Findings, Finding{Id: id, ProductArn: productArn, Region: region})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		panic(err) // only fixed types are marshalled: a failure is a bug in this file
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", newRequestID())
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// writeJSONError answers as REST-JSON services do: the code in the x-amzn-ErrorType header and in
// the body.
func writeJSONError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-Errortype", e.code)
	writeJSON(w, e.status, map[string]string{"Code": e.code, "Message": e.message})
}
