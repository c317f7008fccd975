package schema

import "strconv"

// Value type names stored in the *AttributeTypes columns. String values
// are not recorded: a key without a type entry is a string.
const (
	TypeBool   = "bool"
	TypeInt    = "int"
	TypeDouble = "double"
	TypeBytes  = "bytes"
	TypeArray  = "array"
	TypeMap    = "map"
)

// Attributes is an attribute map as stored: every value as a string (the
// exporter's Value.AsString) and, for a value that is not a string, its
// type name (TypeBool …).
type Attributes interface {
	// Lookup returns key's stored value and type name ("" for a string).
	Lookup(key string) (value, typ string, ok bool)
}

// Function is the part of the typed serverless columns that a span's
// resource decides.
type Function struct {
	Name, Version, Instance string
	MemoryLimitBytes        uint64
}

// FunctionOf reads the function a resource describes. It and ServerlessOf
// are generic so that ingest's per-span calls box nothing (allocations
// per span are unchanged in BenchmarkToRows).
func FunctionOf[A Attributes](resource A) Function {
	return Function{
		Name:             stringOf(resource, AttrFaasName),
		Version:          stringOf(resource, AttrFaasVersion),
		Instance:         stringOf(resource, AttrFaasInstance),
		MemoryLimitBytes: uintOf(resource, AttrFaasMaxMemory),
	}
}

// Serverless is one span's typed serverless columns (FunctionName …
// TimeoutMs): the span contract's attributes with their types.
//
// Ingest fills the columns from the attributes it stores, and the trace
// reader derives them again from the attributes it reads anyway instead
// of reading twelve more columns (~1.6 ms of a 13 ms trace read on 10M
// spans). Both start from the same stored attributes, so a span's typed
// columns, which search filters on, and what a trace read shows agree by
// construction. Rows another writer (the OpenTelemetry exporter) inserts
// get the columns from their DEFAULT expressions, which follow the same
// rules for the values the exporter writes.
type Serverless struct {
	Function
	Trigger            string
	IsInvocation       bool
	ColdStart          bool
	ErrorType          string
	InitDurationMs     float64
	BilledDurationMs   uint64
	MaxMemoryUsedBytes uint64
	TimeoutMs          uint64
}

// ServerlessOf derives the typed serverless columns of a span with
// attributes span whose resource describes fn.
func ServerlessOf[A Attributes](span A, fn Function) Serverless {
	trigger, _, hasTrigger := span.Lookup(AttrFaasTrigger)
	_, _, hasInvocation := span.Lookup(AttrFaasInvocationID)
	return Serverless{
		Function:           fn,
		Trigger:            trigger,
		IsInvocation:       fn.Name != "" && (hasTrigger || hasInvocation),
		ColdStart:          boolOf(span, AttrFaasColdstart),
		ErrorType:          stringOf(span, AttrErrorType),
		InitDurationMs:     floatOf(span, AttrInitDurationMs),
		BilledDurationMs:   uintOf(span, AttrBilledDurationMs),
		MaxMemoryUsedBytes: uintOf(span, AttrMaxMemoryUsed),
		TimeoutMs:          uintOf(span, AttrTimeoutMs),
	}
}

func stringOf[A Attributes](m A, key string) string {
	v, _, _ := m.Lookup(key)
	return v
}

// boolOf accepts a bool, or a string strconv.ParseBool accepts.
func boolOf[A Attributes](m A, key string) bool {
	v, typ, ok := m.Lookup(key)
	if !ok || (typ != "" && typ != TypeBool) {
		return false
	}
	b, _ := strconv.ParseBool(v)
	return b
}

// floatOf accepts a double, an int, or a string that parses as either.
func floatOf[A Attributes](m A, key string) float64 {
	v, typ, ok := m.Lookup(key)
	if !ok || (typ != "" && typ != TypeDouble && typ != TypeInt) {
		return 0
	}
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

// uintOf accepts a positive int or double (truncated), or a string of
// decimal digits; anything else is 0.
func uintOf[A Attributes](m A, key string) uint64 {
	v, typ, ok := m.Lookup(key)
	if !ok {
		return 0
	}
	switch typ {
	case "":
		u, _ := strconv.ParseUint(v, 10, 64)
		return u
	case TypeInt:
		if i, err := strconv.ParseInt(v, 10, 64); err == nil && i > 0 {
			return uint64(i)
		}
	case TypeDouble:
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
			return uint64(f)
		}
	}
	return 0
}

// AttributeMaps are Attributes as a span read decodes them: values and
// the types of the non-string ones.
type AttributeMaps struct {
	Values, Types map[string]string
}

// Lookup implements Attributes.
func (m AttributeMaps) Lookup(key string) (value, typ string, ok bool) {
	value, ok = m.Values[key]
	if ok {
		typ = m.Types[key]
	}
	return value, typ, ok
}
