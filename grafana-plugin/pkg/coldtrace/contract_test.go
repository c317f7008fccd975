package coldtrace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// openAPIPath is Coldtrace's API contract in this repository.
var openAPIPath = filepath.Join("..", "..", "..", "query", "api", "openapi.json")

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"`
	OneOf                []*schema          `json:"oneOf"`
	AnyOf                []*schema          `json:"anyOf"`
}

// TestTypesMatchOpenAPI checks every field the plugin decodes against the
// OpenAPI document the server is tested against: the field exists under
// that JSON name and has a compatible JSON type. A renamed or retyped API
// field fails here rather than as an empty column in Grafana.
func TestTypesMatchOpenAPI(t *testing.T) {
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatalf("reading the API contract: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]*schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	c := contractChecker{t: t, schemas: doc.Components.Schemas}
	for name, v := range map[string]any{
		"Status": Status{}, "Trace": Trace{}, "TraceSearch": TraceSearch{}, "Services": Services{},
		"Operations": Operations{}, "Functions": Functions{}, "Timeseries": Timeseries{},
		"Dependencies": Dependencies{}, "Attributes": Attributes{}, "AttributeValues": AttributeValues{},
		"ErrorResponse": ErrorResponse{},
	} {
		s, ok := c.schemas[name]
		if !ok {
			t.Errorf("the contract has no schema %s", name)
			continue
		}
		c.check(name, reflect.TypeOf(v), s, false)
	}
}

type contractChecker struct {
	t       *testing.T
	schemas map[string]*schema
}

func (c contractChecker) resolve(s *schema) *schema {
	for s != nil && s.Ref != "" {
		s = c.schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	if s != nil && s.Type == "" {
		// A nullable type written as oneOf/anyOf [T, null].
		for _, alt := range append(s.OneOf, s.AnyOf...) {
			if r := c.resolve(alt); r != nil && r.Type != "null" {
				return r
			}
		}
	}
	return s
}

func (c contractChecker) check(path string, typ reflect.Type, s *schema, asString bool) {
	s = c.resolve(s)
	if s == nil {
		c.t.Errorf("%s: unresolvable schema", path)
		return
	}
	if typ == reflect.TypeOf(json.RawMessage{}) {
		return // any JSON value
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := ""
	switch typ.Kind() {
	case reflect.String:
		want = "string"
	case reflect.Bool:
		want = "boolean"
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
		want = "number"
		if asString {
			want = "string"
		}
	case reflect.Slice:
		want = "array"
	case reflect.Struct, reflect.Map:
		want = "object"
	}
	got := s.Type
	if got == "integer" {
		got = "number"
	}
	if got != want {
		c.t.Errorf("%s: the plugin decodes %s (%s), the contract says %q", path, want, typ, s.Type)
		return
	}
	switch typ.Kind() {
	case reflect.Slice:
		c.check(path+"[]", typ.Elem(), s.Items, false)
	case reflect.Struct:
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("json"), ",")
			if tag[0] == "-" || tag[0] == "" {
				continue
			}
			prop, ok := s.Properties[tag[0]]
			if !ok {
				c.t.Errorf("%s.%s: the contract has no such property", path, tag[0])
				continue
			}
			c.check(path+"."+tag[0], f.Type, prop, len(tag) > 1 && tag[1] == "string")
		}
	}
}
