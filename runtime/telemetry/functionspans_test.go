package telemetry

import (
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func TestAttributesKeepTheirTypes(t *testing.T) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"s":"x","b":true,"i":42,"f":2.5,"e":1e3,"ss":["a","b"],"is":[1,2],"fs":[1,2.5],"bs":[true],"mixed":[1,"a"],"obj":{"k":1},"null":null}`))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	got := map[string]attribute.Type{}
	for _, kv := range attributes(m) {
		got[string(kv.Key)] = kv.Value.Type()
	}
	want := map[string]attribute.Type{
		"s": attribute.STRING, "b": attribute.BOOL, "i": attribute.INT64, "f": attribute.FLOAT64, "e": attribute.FLOAT64,
		"ss": attribute.STRINGSLICE, "is": attribute.INT64SLICE, "fs": attribute.FLOAT64SLICE, "bs": attribute.BOOLSLICE,
		"mixed": attribute.STRINGSLICE, "obj": attribute.STRING,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, typ := range want {
		if got[k] != typ {
			t.Errorf("%s: %v, want %v", k, got[k], typ)
		}
	}
}
