package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/runtime/asyncq"
	"github.com/coldtrace/coldtrace/runtime/host"
	"github.com/coldtrace/coldtrace/runtime/pool"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// Lambda Invoke API headers.
const (
	HeaderInvocationType = "X-Amz-Invocation-Type"
	HeaderLogType        = "X-Amz-Log-Type"
	HeaderClientContext  = "X-Amz-Client-Context"
	HeaderFunctionError  = "X-Amz-Function-Error"
	HeaderLogResult      = "X-Amz-Log-Result"
	HeaderExecutedVer    = "X-Amz-Executed-Version"
	HeaderAmznRequestID  = "X-Amzn-Requestid"
	HeaderAmznErrorType  = "X-Amzn-Errortype"
)

// logTailBytes is how much log LogType Tail returns, as in Lambda.
const logTailBytes = 4096

// awsError writes an error the way Lambda's REST API does, so AWS SDKs
// raise the matching typed error: "Type" is "Service" for its own faults
// (5xx), "User" for the caller's.
func awsError(w http.ResponseWriter, status int, typ, msg string) {
	awsErrorWith(w, status, typ, msg, nil)
}

func awsErrorWith(w http.ResponseWriter, status int, typ, msg string, extra map[string]string) {
	w.Header().Set(HeaderAmznErrorType, typ)
	body := map[string]string{"Type": "User", "message": msg}
	if status >= 500 {
		body["Type"] = "Service"
	}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

// functionName accepts a name, a partial ARN (name:qualifier,
// account:function:name) or a full ARN, as the Invoke API does.
func functionName(s string) (name, qualifier string) {
	if strings.HasPrefix(s, "arn:") {
		parts := strings.Split(s, ":")
		if len(parts) >= 7 {
			name = parts[6]
			if len(parts) >= 8 {
				qualifier = parts[7]
			}
			return name, qualifier
		}
	}
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 2:
		return parts[0], parts[1]
	case 3, 4: // account:function:name[:qualifier]
		if parts[1] == "function" {
			if len(parts) == 4 {
				qualifier = parts[3]
			}
			return parts[2], qualifier
		}
	}
	return s, ""
}

// invoke serves POST /2015-03-31/functions/{name}/invocations.
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request) {
	name, qualifier := functionName(r.PathValue("name"))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		if qualifier != "" && qualifier != q {
			// As Lambda: two qualifiers that disagree are the caller's error.
			awsError(w, http.StatusBadRequest, "InvalidParameterValueException",
				"The derived qualifier from the function name ("+qualifier+") does not match the specified qualifier ("+q+").")
			return
		}
		qualifier = q
	}
	fn, err := g.reg.Get(name)
	if err != nil {
		awsError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+g.host.ARN(name))
		return
	}
	if qualifier != "" && qualifier != "$LATEST" && qualifier != fn.VersionString() {
		awsError(w, http.StatusNotFound, "ResourceNotFoundException",
			"Function not found: "+g.host.ARN(name)+":"+qualifier+" (only the latest version, "+fn.VersionString()+", runs)")
		return
	}
	invocationType := r.Header.Get(HeaderInvocationType)
	if invocationType == "" {
		invocationType = "RequestResponse"
	}
	limit := g.limits.SyncPayload
	switch invocationType {
	case "RequestResponse", "DryRun":
	case "Event":
		limit = g.limits.AsyncPayload
	default:
		awsError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"X-Amz-Invocation-Type "+invocationType+": use RequestResponse, Event or DryRun")
		return
	}
	payload, tooLarge, err := readBody(w, r, limit)
	if tooLarge {
		awsError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than "+strconv.FormatInt(limit, 10)+" bytes for the "+invocationType+" invocation type")
		return
	}
	if err != nil {
		awsError(w, http.StatusBadRequest, "InvalidRequestContentException", "reading the payload: "+err.Error())
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		awsError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return
	}
	clientContext := ""
	if cc := r.Header.Get(HeaderClientContext); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(b) {
			awsError(w, http.StatusBadRequest, "InvalidRequestContentException", "X-Amz-Client-Context must be base64-encoded JSON")
			return
		}
		clientContext = string(b)
	}
	switch invocationType {
	case "DryRun":
		w.Header().Set(HeaderAmznRequestID, uuid.NewString())
		w.WriteHeader(http.StatusNoContent)
	case "Event":
		g.enqueue(w, r, fn, payload, clientContext)
	default:
		g.invokeSync(w, r, fn, payload, clientContext)
	}
}

func (g *Gateway) invokeSync(w http.ResponseWriter, r *http.Request, fn *registry.Function, payload []byte, clientContext string) {
	resp, err := g.host.Invoke(r.Context(), host.Request{
		Function: fn.Name, Payload: payload, Trigger: telemetry.TriggerOther, Kind: trace.SpanKindServer,
		Carrier: propagation.HeaderCarrier(r.Header), ClientContext: clientContext,
	})
	if errors.Is(err, registry.ErrNotFound) {
		awsError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+g.host.ARN(fn.Name))
		return
	}
	if errors.Is(err, pool.ErrClosed) {
		awsError(w, http.StatusServiceUnavailable, "ServiceException", "the function was removed or the runtime is stopping; retry")
		return
	}
	if err != nil {
		awsError(w, http.StatusServiceUnavailable, "ServiceException", err.Error())
		return
	}
	h := w.Header()
	h.Set(HeaderAmznRequestID, resp.RequestID)
	if resp.TraceID != "" {
		h.Set(HeaderTraceID, resp.TraceID)
	}
	if resp.ErrorType == telemetry.ErrThrottled {
		h.Set("Retry-After", "1")
		// A function's own instance limit is Lambda's reserved concurrency.
		awsErrorWith(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.",
			map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})
		return
	}
	h.Set(HeaderExecutedVer, resp.Function.VersionString())
	h.Set(HeaderColdStart, strconv.FormatBool(resp.Cold))
	if resp.ErrorType != "" {
		h.Set(HeaderFunctionError, "Unhandled")
		h.Set(HeaderErrorType, resp.ErrorType)
	}
	if strings.EqualFold(r.Header.Get(HeaderLogType), "Tail") {
		h.Set(HeaderLogResult, base64.StdEncoding.EncodeToString([]byte(resp.LogTail(logTailBytes))))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(resp.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(resp.Payload)
}

// enqueue stores an Event invocation and answers 202 once it is on disk.
func (g *Gateway) enqueue(w http.ResponseWriter, r *http.Request, fn *registry.Function, payload []byte, clientContext string) {
	id := uuid.NewString()
	headers := map[string]string{}
	for _, k := range []string{"Traceparent", "Tracestate", telemetry.XRayHeader} {
		if v := r.Header.Get(k); v != "" {
			headers[k] = v
		}
	}
	err := g.queue.Enqueue(asyncq.Job{ID: id, Function: fn.Name, Incarnation: fn.Incarnation, Payload: payload,
		Trigger: telemetry.TriggerPubSub, TraceHeaders: headers, ClientContext: clientContext})
	if errors.Is(err, asyncq.ErrGone) {
		// Removed while the request's body was read: the event would
		// otherwise run against whatever is deployed under the name next.
		awsError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+g.host.ARN(fn.Name))
		return
	}
	if err != nil {
		g.log.Error("gateway: queueing an event failed", "function", fn.Name, "err", err)
		awsError(w, http.StatusServiceUnavailable, "ServiceException", "the event could not be stored: "+err.Error())
		return
	}
	w.Header().Set(HeaderAmznRequestID, id)
	w.WriteHeader(http.StatusAccepted)
}
