package ingest

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzSpoolPayload feeds arbitrary bytes to what the spool drainer does
// with a record: decode the payload and the OTLP protobuf in it, then
// convert to rows. Undecodable input must be an error, never a panic, and
// rows must stay rectangular.
func FuzzSpoolPayload(f *testing.F) {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"faas.name","value":{"stringValue":"fn"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","attributes":[{"key":"faas.coldstart","value":{"boolValue":true}},{"key":"coldtrace.billed_duration_ms","value":{"stringValue":"12"}}],"events":[{"name":"e"}],"links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}]}]}]}]}`)); err != nil {
		f.Fatal(err)
	}
	payload, err := encodePayload("tenant-a", req.Traces())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload)
	f.Add([]byte{payloadVersion, 0})
	f.Add([]byte{payloadVersion, 200, 1})
	p := &Pipeline{cfg: DefaultConfig()}
	p.cfg.Limits = Limits{MaxAttributes: 4, MaxValueLength: 8, MaxEvents: 1, MaxLinks: 1}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := p.decodeRecord(b)
		if err != nil {
			return
		}
		n := r.len()
		for i, col := range r.columns() {
			if l := sliceLen(col); l != n {
				t.Fatalf("column %d has %d rows, want %d", i, l, n)
			}
		}
	})
}

func sliceLen(v any) int {
	switch c := v.(type) {
	case []string:
		return len(c)
	case []uint64:
		return len(c)
	case []float64:
		return len(c)
	case []bool:
		return len(c)
	case []*attrMap:
		return len(c)
	case [][]string:
		return len(c)
	case [][]*attrMap:
		return len(c)
	default:
		return lenOfTimes(v)
	}
}

func lenOfTimes(v any) int {
	switch c := v.(type) {
	case []time.Time:
		return len(c)
	case [][]time.Time:
		return len(c)
	}
	panic("unknown column type")
}
