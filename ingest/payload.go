package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Spool record payload: version byte, uvarint tenant length, tenant, then
// the OTLP ExportTraceServiceRequest protobuf.
const payloadVersion = 1

func encodePayload(tenantID string, td ptrace.Traces) ([]byte, error) {
	proto, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(tenantID)+len(proto))
	b = append(b, payloadVersion)
	b = binary.AppendUvarint(b, uint64(len(tenantID)))
	b = append(b, tenantID...)
	return append(b, proto...), nil
}

func decodePayload(b []byte) (tenantID string, proto []byte, err error) {
	if len(b) == 0 || b[0] != payloadVersion {
		return "", nil, errors.New("unknown spool payload version")
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || uint64(len(b)-1-k) < n {
		return "", nil, fmt.Errorf("bad spool payload header")
	}
	start := 1 + k
	return string(b[start : start+int(n)]), b[start+int(n):], nil
}
