// Package gateway is the runtime's HTTP front door: the HTTP trigger
// (ANY /fn/{name}/*, API Gateway v2 events), the Lambda Invoke API that
// AWS SDKs call, and the management API under /api/v1/functions.
package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/coldtrace/coldtrace/runtime/asyncq"
	"github.com/coldtrace/coldtrace/runtime/host"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/schedule"
)

// Limits of request sizes.
type Limits struct {
	// SyncPayload bounds RequestResponse payloads and HTTP trigger
	// bodies (Lambda: 6 MB).
	SyncPayload int64
	// AsyncPayload bounds Event payloads (Lambda: 1 MB).
	AsyncPayload int64
	// CodeBytes bounds an uploaded zip; UnpackedBytes its contents.
	CodeBytes     int64
	UnpackedBytes int64
}

// DefaultLimits are Lambda's payload limits and generous code limits.
func DefaultLimits() Limits {
	return Limits{SyncPayload: 6 << 20, AsyncPayload: 1 << 20, CodeBytes: 200 << 20, UnpackedBytes: 1 << 30}
}

// Access is what a request does, for authorization.
type Access int

const (
	// AccessInvoke calls functions: the HTTP trigger and the Invoke API.
	AccessInvoke Access = iota
	// AccessAdmin manages functions: /api/v1/functions.
	AccessAdmin
)

// Guard wraps a handler so it runs only for requests allowed access;
// nil lets every request through.
type Guard func(access Access, h http.Handler) http.Handler

// Gateway serves the runtime's HTTP interfaces.
type Gateway struct {
	host      *host.Host
	reg       *registry.Store
	queue     *asyncq.Queue
	scheduler *schedule.Scheduler
	limits    Limits
	log       *slog.Logger
	// baseURL is where the gateway is reachable, for FunctionInfo.URL.
	baseURL string
	mux     *http.ServeMux
}

// New builds the handler; guard (may be nil) authorizes requests.
func New(h *host.Host, reg *registry.Store, q *asyncq.Queue, s *schedule.Scheduler, limits Limits, baseURL string, guard Guard, log *slog.Logger) *Gateway {
	if log == nil {
		log = slog.Default()
	}
	if guard == nil {
		guard = func(_ Access, h http.Handler) http.Handler { return h }
	}
	g := &Gateway{host: h, reg: reg, queue: q, scheduler: s, limits: limits, log: log, baseURL: baseURL, mux: http.NewServeMux()}
	handle := func(pattern string, access Access, f http.HandlerFunc) { g.mux.Handle(pattern, guard(access, f)) }
	handle("/fn/{name}", AccessInvoke, g.trigger)
	handle("/fn/{name}/{path...}", AccessInvoke, g.trigger)
	handle("POST "+InvokePath+"{name}/invocations", AccessInvoke, g.invoke)
	handle("GET "+FunctionsPath, AccessAdmin, g.listFunctions)
	handle("GET "+FunctionsPath+"/{name}", AccessAdmin, g.getFunction)
	handle("PUT "+FunctionsPath+"/{name}", AccessAdmin, g.deployFunction)
	handle("DELETE "+FunctionsPath+"/{name}", AccessAdmin, g.deleteFunction)
	handle("GET "+FunctionsPath+"/{name}/dlq", AccessAdmin, g.listDeadLetters)
	handle("DELETE "+FunctionsPath+"/{name}/dlq", AccessAdmin, g.purgeDeadLetters)
	handle("POST "+FunctionsPath+"/{name}/dlq/redrive", AccessAdmin, g.redriveDeadLetters)
	g.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	return g
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// A bug in one request must not take the gateway down.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			g.log.Error("gateway: panic while serving a request", "path", r.URL.Path, "panic", v)
			writeJSON(w, http.StatusInternalServerError, Error{Error: "internal error"})
		}
	}()
	g.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// readBody reads at most limit bytes; tooLarge reports a longer body.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return nil, true, nil
	}
	return body, false, err
}
