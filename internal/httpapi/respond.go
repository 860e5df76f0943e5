package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/tocsin-dev/tocsin/internal/jsondepth"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing useful to do
}

// accepted answers an asynchronous Opsgenie action. tocsin has already committed it.
func (c *call) accepted() error {
	writeJSON(c.w, http.StatusAccepted, map[string]any{"result": "Request will be processed", "took": c.took(), "requestId": c.id})
	return nil
}

// data answers with Opsgenie's {"data": …} wrapper.
func (c *call) data(v any, extra map[string]any) error {
	body := map[string]any{"data": v, "took": c.took(), "requestId": c.id}
	for k, x := range extra {
		body[k] = x
	}
	writeJSON(c.w, http.StatusOK, body)
	return nil
}

// maxJSONDepth bounds nesting so that a hostile body cannot make decoding expensive.
const maxJSONDepth = 32

// decode reads a JSON body into v. An empty body leaves v as it is: Opsgenie's action calls take an
// optional body.
func (c *call) decode(v any) error {
	body, err := c.body()
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// body reads the whole request body, within the server's size limit.
func (c *call) body() ([]byte, error) {
	body, err := io.ReadAll(c.r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, err
		}
		return nil, apiErr(http.StatusBadRequest, "could not read the request body")
	}
	return body, nil
}

// decodeJSON is the parser of every /v2 request body: depth-checked, and with errors a client can act
// on (422 naming the field of the wrong type, 400 for JSON that does not parse).
func decodeJSON(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := checkDepth(body, maxJSONDepth); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "body"
			}
			return apiErr(http.StatusUnprocessableEntity, "Request body is not processable: "+field+" must be a JSON "+jsonKind(te.Type.Kind().String()))
		}
		return apiErr(http.StatusBadRequest, "request body is not valid JSON: "+err.Error())
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}

// checkDepth refuses JSON nested deeper than max without decoding it.
func checkDepth(body []byte, max int) error {
	if jsondepth.Exceeds(body, max) {
		return apiErr(http.StatusBadRequest, "request body is nested too deeply")
	}
	return nil
}
