package collector

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxValueNesting bounds how deeply array and map attribute values nest.
// A protobuf request cannot go deeper than pdata's decoder allows (100
// messages, three per level of a map value), but JSON can; ingest stores
// requests as protobuf, so a deeper JSON request would be acknowledged
// and then fail to decode when stored. It is refused up front instead,
// as its protobuf form is.
const maxValueNesting = 24

// tooDeep reports whether any attribute value in td nests more than
// maxValueNesting arrays or maps.
func tooDeep(td ptrace.Traces) bool {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if mapTooDeep(rs.Resource().Attributes(), 0) {
			return true
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			if mapTooDeep(ss.Scope().Attributes(), 0) {
				return true
			}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				if spanTooDeep(spans.At(k)) {
					return true
				}
			}
		}
	}
	return false
}

func spanTooDeep(s ptrace.Span) bool {
	if mapTooDeep(s.Attributes(), 0) {
		return true
	}
	for i := 0; i < s.Events().Len(); i++ {
		if mapTooDeep(s.Events().At(i).Attributes(), 0) {
			return true
		}
	}
	for i := 0; i < s.Links().Len(); i++ {
		if mapTooDeep(s.Links().At(i).Attributes(), 0) {
			return true
		}
	}
	return false
}

func mapTooDeep(m pcommon.Map, depth int) bool {
	for _, v := range m.All() {
		if valueTooDeep(v, depth) {
			return true
		}
	}
	return false
}

func valueTooDeep(v pcommon.Value, depth int) bool {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return depth >= maxValueNesting || mapTooDeep(v.Map(), depth+1)
	case pcommon.ValueTypeSlice:
		if depth >= maxValueNesting {
			return true
		}
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if valueTooDeep(s.At(i), depth+1) {
				return true
			}
		}
	}
	return false
}
