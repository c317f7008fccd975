package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/runtime/host"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/runtimeapi"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// Response headers the HTTP trigger adds.
const (
	HeaderRequestID = "X-Coldtrace-Request-Id"
	HeaderColdStart = "X-Coldtrace-Cold-Start"
	HeaderTraceID   = "X-Coldtrace-Trace-Id"
	HeaderErrorType = "X-Coldtrace-Error-Type"
)

// trigger serves ANY /fn/{name}/*: the request becomes an API Gateway
// HTTP API (payload format 2.0) event and the function's answer the HTTP
// response.
func (g *Gateway) trigger(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	body, tooLarge, err := readBody(w, r, g.limits.SyncPayload)
	if tooLarge {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"message": "Request Entity Too Large"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "reading the request body: " + err.Error()})
		return
	}
	id := uuid.NewString()
	path := "/" + r.PathValue("path")
	event := apiGatewayEvent(r, id, path, body, g.host.AccountID())
	payload, err := json.Marshal(event)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "encoding the event failed"})
		return
	}
	// The answer is worked out once, when the invocation ends, so the
	// span's status code and error say what the client gets.
	var reply httpReply
	resp, err := g.host.Invoke(r.Context(), host.Request{
		Function: name, Payload: payload, RequestID: id,
		Trigger: telemetry.TriggerHTTP, Kind: trace.SpanKindServer,
		Carrier: propagation.HeaderCarrier(r.Header),
		Attributes: []attribute.KeyValue{
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.URLPath(r.URL.Path),
			semconv.HTTPRoute("/fn/" + name + "/*"),
		},
		Finish: func(resp *host.Response) []attribute.KeyValue {
			reply = replyTo(resp)
			return []attribute.KeyValue{semconv.HTTPResponseStatusCode(reply.status)}
		},
	})
	if errors.Is(err, registry.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found: no function named " + name})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "Service Unavailable: " + err.Error()})
		return
	}
	h := w.Header()
	h.Set(HeaderRequestID, resp.RequestID)
	h.Set(HeaderColdStart, strconv.FormatBool(resp.Cold))
	if resp.TraceID != "" {
		h.Set(HeaderTraceID, resp.TraceID)
	}
	if resp.ErrorType != "" {
		h.Set(HeaderErrorType, resp.ErrorType)
	}
	reply.write(w)
}

// httpReply is the HTTP answer to an invocation.
type httpReply struct {
	status int
	header http.Header
	body   []byte
}

func (rep httpReply) write(w http.ResponseWriter) {
	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
}

func messageReply(status int, message string) httpReply {
	body, _ := json.Marshal(map[string]string{"message": message})
	return httpReply{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: body}
}

// replyTo is the answer an HTTP API gives for an invocation's outcome. A
// function's answer that is not a valid HTTP response (statusCode 700, a
// body that is not the base64 it claims to be) turns resp into the
// handler error it is: the client gets 502, and the span and metrics
// must say so too.
func replyTo(resp *host.Response) httpReply {
	if resp.ErrorType == "" {
		reply, err := functionReply(resp.Payload)
		if err == nil {
			return reply
		}
		resp.ErrorType = telemetry.ErrHandler
		resp.Error = &runtimeapi.FunctionError{ErrorType: "Runtime.MalformedHTTPResponse", ErrorMessage: err.Error()}
		return messageReply(http.StatusBadGateway, "Internal Server Error: "+err.Error())
	}
	status := http.StatusBadGateway
	switch resp.ErrorType {
	case telemetry.ErrThrottled:
		status = http.StatusTooManyRequests
	case telemetry.ErrTimeout:
		status = http.StatusGatewayTimeout
	}
	return messageReply(status, http.StatusText(status))
}

// apiGatewayEvent maps a request to payload format 2.0. rawPath is the
// path below /fn/{name}, as if the function were the API's only route.
func apiGatewayEvent(r *http.Request, id, path string, body []byte, account string) events.APIGatewayV2HTTPRequest {
	now := time.Now().UTC()
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	sourceIP, _, _ := net.SplitHostPort(r.RemoteAddr)
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: r.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query,
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(path, "/")},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "$default", AccountID: account, Stage: "$default", RequestID: id,
			APIID: "coldtrace", DomainName: r.Host, DomainPrefix: strings.Split(r.Host, ".")[0],
			Time: now.Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: path, Protocol: r.Proto, SourceIP: sourceIP, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		// Binary bodies travel base64-encoded, as in API Gateway.
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

// functionReply maps the function's answer: an object with statusCode is
// a full response; any other JSON is a 200 JSON body.
func functionReply(payload []byte) (httpReply, error) {
	var probe map[string]json.RawMessage
	isObject := json.Unmarshal(payload, &probe) == nil
	if !isObject || probe["statusCode"] == nil {
		return httpReply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: payload}, nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return httpReply{}, fmt.Errorf("the function's response is malformed (statusCode a number, headers an object of strings, ...): %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return httpReply{}, fmt.Errorf("the function's response has statusCode %d, not an HTTP status (100-599)", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return httpReply{}, fmt.Errorf("the function's response has isBase64Encoded but its body is not base64: %w", err)
		}
		body = b
	}
	h := http.Header{}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", http.DetectContentType(bytes.Clone(body[:min(len(body), 512)])))
	}
	return httpReply{status: resp.StatusCode, header: h, body: body}, nil
}
