package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/coldtrace/coldtrace/query/api"
)

var (
	docOnce   sync.Once
	doc       *openapi3.T
	docRouter routers.Router
	docErr    error
)

// openAPI loads and validates the embedded OpenAPI document.
func openAPI(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	docOnce.Do(func() {
		doc, docErr = openapi3.NewLoader().LoadFromData(api.OpenAPI)
		if docErr != nil {
			return
		}
		if docErr = doc.Validate(context.Background()); docErr != nil {
			return
		}
		docRouter, docErr = legacy.NewRouter(doc)
	})
	if docErr != nil {
		t.Fatalf("openapi.json: %v", docErr)
	}
	return doc, docRouter
}

// response is an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get requests path (with query) and validates the response against the
// OpenAPI document: its status must be documented for the route and its
// body must match the schema.
func get(t *testing.T, ts *httptest.Server, path string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	r := response{status: res.StatusCode, header: res.Header, body: body}
	validate(t, req, r)
	return r
}

func validate(t *testing.T, req *http.Request, r response) {
	t.Helper()
	_, router := openAPI(t)
	u, _ := url.Parse(req.URL.String())
	vreq := req.Clone(context.Background())
	vreq.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	route, pathParams, err := router.FindRoute(vreq)
	if err != nil {
		if r.status == http.StatusNotFound {
			return // an undocumented path: must be a 404
		}
		t.Fatalf("GET %s answered %d but has no route in openapi.json: %v", req.URL.Path, r.status, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: pathParams, Route: route},
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("GET %s: response does not match openapi.json: %v\nbody: %.2000s", req.URL, err, r.body)
	}
}

// decode unmarshals a 200 body into v, strictly.
func decode(t *testing.T, r response, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, r.body)
	}
}

// apiError decodes an error response and checks its status and code.
func wantError(t *testing.T, r response, status int, code, parameter string) api.Error {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var e api.ErrorResponse
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if e.Error.Code != code || e.Error.Parameter != parameter || e.Error.Message == "" {
		t.Errorf("error %+v, want code %q parameter %q and a message", e.Error, code, parameter)
	}
	return e.Error
}
