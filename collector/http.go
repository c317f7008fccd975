package collector

import (
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/coldtrace/coldtrace/internal/consumer"
	"github.com/coldtrace/coldtrace/internal/tenant"
)

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// TracesPath is OTLP/HTTP's traces endpoint.
const TracesPath = "/v1/traces"

// HTTPHandler serves OTLP/HTTP: POST /v1/traces with protobuf or JSON
// bodies, optionally gzip-, zstd- or deflate-encoded.
func (r *Receiver) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(TracesPath, r.handleHTTP)
	return mux
}

func (r *Receiver) handleHTTP(w http.ResponseWriter, req *http.Request) {
	ct := contentTypeProto
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeHTTPError(w, ct, http.StatusMethodNotAllowed, codes.InvalidArgument, req.Method+" is not allowed; send POST "+TracesPath)
		return
	}
	mediaType, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	switch {
	case err == nil && mediaType == contentTypeJSON:
		ct = contentTypeJSON
	case err == nil && mediaType == contentTypeProto:
	default:
		writeHTTPError(w, ct, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("unsupported Content-Type %q; use %s or %s", req.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON))
		return
	}
	adm := r.newAdmission(req.Context())
	defer adm.release()
	body, status, err := r.readBody(w, req, adm)
	if errors.Is(err, errInflightFull) {
		w.Header().Set("Retry-After", "1")
		writeHTTPError(w, ct, http.StatusTooManyRequests, codes.ResourceExhausted, err.Error())
		return
	}
	if errors.Is(err, errBodyTimeout) {
		// 503, not 408: OTLP exporters retry 429, 502, 503 and 504 only,
		// and a body that stalled once may well arrive on a retry.
		w.Header().Set("Retry-After", "1")
		writeHTTPError(w, ct, http.StatusServiceUnavailable, codes.Unavailable, err.Error())
		return
	}
	if err != nil {
		r.stats.RequestsMalformed.Add(1)
		writeHTTPError(w, ct, status, codes.InvalidArgument, err.Error())
		return
	}
	otlpReq := ptraceotlp.NewExportRequest()
	if ct == contentTypeJSON {
		err = otlpReq.UnmarshalJSON(body)
	} else {
		err = otlpReq.UnmarshalProto(body)
	}
	if err != nil {
		r.stats.RequestsMalformed.Add(1)
		kind := "protobuf"
		if ct == contentTypeJSON {
			kind = "JSON"
		}
		writeHTTPError(w, ct, http.StatusBadRequest, codes.InvalidArgument, fmt.Sprintf("malformed OTLP %s ExportTraceServiceRequest: %v", kind, err))
		return
	}
	if ct == contentTypeJSON && tooDeep(otlpReq.Traces()) {
		r.stats.RequestsMalformed.Add(1)
		writeHTTPError(w, ct, http.StatusBadRequest, codes.InvalidArgument,
			fmt.Sprintf("malformed OTLP JSON ExportTraceServiceRequest: an attribute value nests arrays or maps more than %d deep", maxValueNesting))
		return
	}
	ctx := req.Context()
	if t := req.Header.Get(tenant.Header); t != "" {
		if err := tenant.Validate(t); err != nil {
			writeHTTPError(w, ct, http.StatusBadRequest, codes.InvalidArgument, tenant.Header+": "+err.Error())
			return
		}
		ctx = tenant.NewContext(ctx, t)
	}
	resp, err := r.export(ctx, otlpReq)
	if err != nil {
		e := consumer.Classify(err)
		switch e.Kind {
		case consumer.KindPermanent:
			writeHTTPError(w, ct, http.StatusBadRequest, codes.InvalidArgument, e.Error())
		case consumer.KindUnauthenticated:
			writeHTTPError(w, ct, http.StatusUnauthorized, codes.Unauthenticated, e.Error())
		case consumer.KindThrottled:
			w.Header().Set("Retry-After", retryAfterSeconds(e.RetryAfter))
			writeHTTPError(w, ct, http.StatusTooManyRequests, codes.ResourceExhausted, e.Error())
		default:
			if e.RetryAfter > 0 {
				w.Header().Set("Retry-After", retryAfterSeconds(e.RetryAfter))
			}
			writeHTTPError(w, ct, http.StatusServiceUnavailable, codes.Unavailable, e.Error())
		}
		return
	}
	var out []byte
	if ct == contentTypeJSON {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		writeHTTPError(w, ct, http.StatusInternalServerError, codes.Internal, "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// readBody reads the request, undoing its Content-Encoding, and refuses
// bodies over MaxRequestBytes before and after decompression. The bytes
// it keeps are admitted as they are read (errInflightFull when no room).
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request, adm *admission) ([]byte, int, error) {
	raw := http.MaxBytesReader(w, req.Body, r.cfg.MaxRequestBytes)
	b, status, err := r.decodeBody(raw, req.Header.Get("Content-Encoding"), adm)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The server's ReadTimeout ran out; the connection is closed after
		// the answer, which a sender still waiting for one can read.
		return nil, http.StatusServiceUnavailable, fmt.Errorf("%w within %v: send smaller requests, or raise the receiver's read timeout (--otlp-read-timeout)", errBodyTimeout, r.cfg.ReadTimeout)
	case status != http.StatusTooManyRequests:
		discardRest(raw)
	}
	return b, status, err
}

// errBodyTimeout is a request body that did not arrive within the
// server's ReadTimeout.
var errBodyTimeout = errors.New("request body not received")

// discardRest reads what is left of a refused body, undecoded, so its
// sender gets the answer: Go closes a connection with more than 256 KiB
// of body unread, and a sender still writing then sees a reset instead
// of the 400 and retries a request that can never succeed. raw stops at
// MaxRequestBytes and at the server's ReadTimeout.
func discardRest(raw io.Reader) {
	_, _ = io.Copy(io.Discard, raw)
}

// decodeBody reads raw, undoing the Content-Encoding enc, and keeps at
// most MaxRequestBytes of its output.
func (r *Receiver) decodeBody(raw io.Reader, enc string, adm *admission) ([]byte, int, error) {
	limit := r.cfg.MaxRequestBytes
	body := raw
	switch enc = strings.ToLower(strings.TrimSpace(enc)); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid gzip body: %w", err)
		}
		defer gz.Close()
		body = gz
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid zstd body: %w", err)
		}
		defer zr.Close()
		body = zr
	case "deflate":
		zr, err := zlib.NewReader(body)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("invalid deflate body: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q; use gzip, zstd or deflate", enc)
	}
	b, err := io.ReadAll(io.LimitReader(&admittedReader{r: body, a: adm}, limit+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, errInflightFull):
		return nil, http.StatusTooManyRequests, err
	case errors.As(err, &maxErr):
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body larger than %d bytes", limit)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	case int64(len(b)) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("decompressed request larger than %d bytes", limit)
	}
	return b, http.StatusOK, nil
}

// WriteUnauthorized refuses an OTLP/HTTP request for its token as OTLP
// asks: 401 with a google.rpc.Status (UNAUTHENTICATED) in the request's
// encoding.
func WriteUnauthorized(w http.ResponseWriter, req *http.Request) {
	ct := contentTypeProto
	if mediaType, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err == nil && mediaType == contentTypeJSON {
		ct = contentTypeJSON
	}
	writeHTTPError(w, ct, http.StatusUnauthorized, codes.Unauthenticated, "unauthorized")
}

// writeHTTPError answers with a google.rpc.Status, as OTLP/HTTP specifies,
// in the request's encoding.
func writeHTTPError(w http.ResponseWriter, ct string, httpStatus int, code codes.Code, msg string) {
	// Messages quote the sender's input, which may not be UTF-8; protobuf
	// strings must be.
	st := &spb.Status{Code: int32(code), Message: strings.ToValidUTF8(msg, "\uFFFD")}
	var b []byte
	if ct == contentTypeJSON {
		b, _ = protojson.Marshal(st)
	} else {
		b, _ = proto.Marshal(st)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(httpStatus)
	w.Write(b)
}
