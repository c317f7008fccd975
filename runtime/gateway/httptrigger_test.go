package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coldtrace/coldtrace/runtime/host"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

func TestMalformedFunctionResponseIsAHandlerError(t *testing.T) {
	for payload, says := range map[string]string{
		`{"statusCode":700}`:   "statusCode 700, not an HTTP status",
		`{"statusCode":"201"}`: "malformed",
		`{"statusCode":200,"isBase64Encoded":true,"body":"!!!"}`: "not base64",
		`{"statusCode":200,"headers":"x"}`:                       "malformed",
	} {
		resp := &host.Response{Payload: []byte(payload)}
		reply := replyTo(resp)
		rec := httptest.NewRecorder()
		reply.write(rec)
		if reply.status != http.StatusBadGateway || rec.Code != http.StatusBadGateway {
			t.Errorf("%s: span status %d, client got %d, want 502 for both", payload, reply.status, rec.Code)
		}
		if resp.ErrorType != telemetry.ErrHandler || resp.Error == nil || !strings.Contains(resp.Error.ErrorMessage, says) {
			t.Errorf("%s: recorded as %q %v, want %s saying %q", payload, resp.ErrorType, resp.Error, telemetry.ErrHandler, says)
		}
		if !strings.Contains(rec.Body.String(), says) {
			t.Errorf("%s: the client got %s, want it to say %q", payload, rec.Body, says)
		}
	}
}

func TestFunctionResponseStatusReachesTheSpan(t *testing.T) {
	for payload, want := range map[string]int{
		`{"statusCode":201,"body":"made"}`: 201,
		`{"hello":"json"}`:                 200,
		`"just a string"`:                  200,
	} {
		resp := &host.Response{Payload: []byte(payload)}
		reply := replyTo(resp)
		rec := httptest.NewRecorder()
		reply.write(rec)
		if reply.status != want || rec.Code != want || resp.ErrorType != "" {
			t.Errorf("%s: span status %d, client got %d, error %q; want %d and no error", payload, reply.status, rec.Code, resp.ErrorType, want)
		}
	}
}
