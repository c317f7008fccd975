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

// New builds the handler.
func New(h *host.Host, reg *registry.Store, q *asyncq.Queue, s *schedule.Scheduler, limits Limits, baseURL string, log *slog.Logger) *Gateway {
	if log == nil {
		log = slog.Default()
	}
	g := &Gateway{host: h, reg: reg, queue: q, scheduler: s, limits: limits, log: log, baseURL: baseURL, mux: http.NewServeMux()}
	g.mux.HandleFunc("/fn/{name}", g.trigger)
	g.mux.HandleFunc("/fn/{name}/{path...}", g.trigger)
	g.mux.HandleFunc("POST "+InvokePath+"{name}/invocations", g.invoke)
	g.mux.HandleFunc("GET "+FunctionsPath, g.listFunctions)
	g.mux.HandleFunc("GET "+FunctionsPath+"/{name}", g.getFunction)
	g.mux.HandleFunc("PUT "+FunctionsPath+"/{name}", g.deployFunction)
	g.mux.HandleFunc("DELETE "+FunctionsPath+"/{name}", g.deleteFunction)
	g.mux.HandleFunc("GET "+FunctionsPath+"/{name}/dlq", g.listDeadLetters)
	g.mux.HandleFunc("DELETE "+FunctionsPath+"/{name}/dlq", g.purgeDeadLetters)
	g.mux.HandleFunc("POST "+FunctionsPath+"/{name}/dlq/redrive", g.redriveDeadLetters)
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
