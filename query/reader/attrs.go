package reader

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"

	"github.com/coldtrace/coldtrace/query/api"
)

// attributes turns a stored attribute map (every value stringified) and
// its type map (absent key = string) back into typed attributes, sorted
// by key so responses are stable.
func attributes(values, types map[string]string) []api.Attribute {
	out := make([]api.Attribute, 0, len(values))
	for k, v := range values {
		t := types[k]
		if t == "" {
			t = api.TypeString
		}
		out = append(out, api.Attribute{Key: k, Type: t, Value: typedValue(t, v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// typedValue is the JSON form of a stringified value of type t. A value
// that does not parse as its type (which ingest never writes, but other
// writers might) stays a JSON string rather than breaking the response.
func typedValue(t, v string) json.RawMessage {
	switch t {
	case api.TypeBool:
		if v == "true" || v == "false" {
			return json.RawMessage(v)
		}
	case api.TypeInt:
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return json.RawMessage(v)
		}
	case api.TypeDouble:
		// NaN and ±Inf have no JSON number form.
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return json.RawMessage(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case api.TypeArray, api.TypeMap:
		if json.Valid([]byte(v)) {
			return json.RawMessage(v)
		}
	}
	b, _ := json.Marshal(v)
	return b
}
