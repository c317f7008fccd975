// Package runtimeapi serves the AWS Lambda Runtime API (2018-06-01) to one
// function instance on a loopback port: the instance long-polls next for
// an event and posts its response, its error, or its init error.
//
// One listener per instance, rather than a path prefix per instance,
// because runtime clients (the Node RIC among them) take
// AWS_LAMBDA_RUNTIME_API as bare host:port.
package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// MaxPayload is the largest response or error body a function may post,
// as in Lambda (6 MiB).
const MaxPayload = 6 << 20

// Invocation is one event handed to the instance.
type Invocation struct {
	RequestID       string
	Payload         []byte
	Deadline        time.Time
	FunctionARN     string
	TraceParent     string // W3C traceparent of the invocation span
	XRayTraceID     string // the same ids in X-Ray form
	ClientContext   string // JSON
	CognitoIdentity string // JSON
	// TenantID is passed on as Lambda-Runtime-Aws-Tenant-Id when set.
	TenantID string

	result chan Result
}

// NewInvocation returns an invocation ready to be delivered.
func NewInvocation(requestID string, payload []byte) *Invocation {
	return &Invocation{RequestID: requestID, Payload: payload, result: make(chan Result, 1)}
}

// Result is what the runtime posted for an invocation.
type Result struct {
	// Payload is the response body, or the raw error body.
	Payload []byte
	// Error is set when the runtime posted to /error, or the response was
	// too large.
	Error *FunctionError
	// At is when the post arrived.
	At time.Time
}

// FunctionError is the body of /error and /init/error.
type FunctionError struct {
	ErrorMessage string          `json:"errorMessage"`
	ErrorType    string          `json:"errorType"`
	StackTrace   json.RawMessage `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string {
	if e.ErrorType == "" {
		return e.ErrorMessage
	}
	return e.ErrorType + ": " + e.ErrorMessage
}

// Result waits for the runtime's answer.
func (inv *Invocation) Result() <-chan Result { return inv.result }

// Server is the Runtime API of one instance.
type Server struct {
	ln   net.Listener
	http *http.Server
	log  *slog.Logger

	events chan *Invocation
	closed chan struct{}

	mu       sync.Mutex
	pending  map[string]*Invocation
	nextHook func(prevRequestID string)
	// handed is the request id last given out by /next; the runtime's
	// following /next means it is done with it.
	handed string

	readyOnce sync.Once
	ready     chan struct{}
	readyAt   time.Time
	initErr   chan *FunctionError
}

// Listen starts a Runtime API server on a free loopback port. onNext, if
// set, runs at every /next call before the caller waits for an event,
// with the request id the previous /next handed out (or ""): from the
// runtime's point of view that invocation is over.
func Listen(log *slog.Logger, onNext func(prevRequestID string)) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	s := &Server{
		ln: ln, log: log,
		events:   make(chan *Invocation),
		closed:   make(chan struct{}),
		pending:  map[string]*Invocation{},
		nextHook: onNext,
		ready:    make(chan struct{}),
		initErr:  make(chan *FunctionError, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.initError)
	mux.HandleFunc("GET /2018-06-01/ping", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("pong")) })
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Debug("runtime API server stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the host:port for AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Ready is closed at the runtime's first /next: its init is over.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// ReadyAt is when Ready was closed.
func (s *Server) ReadyAt() time.Time {
	<-s.ready
	return s.readyAt
}

// InitError delivers the body of /init/error.
func (s *Server) InitError() <-chan *FunctionError { return s.initErr }

// ErrClosed is returned by Deliver on a closed server.
var ErrClosed = errors.New("runtime API closed")

// Deliver hands inv to the runtime's pending or next /next call. It
// returns when the runtime has taken it, or with the error of stop or
// ctx.
func (s *Server) Deliver(ctx context.Context, inv *Invocation, stop <-chan struct{}) error {
	s.mu.Lock()
	s.pending[inv.RequestID] = inv
	s.mu.Unlock()
	select {
	case s.events <- inv:
		return nil
	case <-stop:
	case <-s.closed:
	case <-ctx.Done():
	}
	s.forget(inv.RequestID)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return ErrClosed
}

// forget removes id from the pending invocations and returns it.
func (s *Server) forget(id string) *Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.pending[id]
	delete(s.pending, id)
	return inv
}

// Forget drops an invocation the caller no longer waits for (it timed
// out); a late response to it is refused.
func (s *Server) Forget(id string) { s.forget(id) }

// Close stops the server; outstanding /next calls end.
func (s *Server) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	return err
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	s.readyOnce.Do(func() {
		s.readyAt = time.Now()
		close(s.ready)
	})
	s.mu.Lock()
	prev := s.handed
	s.handed = ""
	s.mu.Unlock()
	if s.nextHook != nil {
		s.nextHook(prev)
	}
	var inv *Invocation
	select {
	case inv = <-s.events:
	case <-s.closed:
		http.Error(w, "runtime API closed", http.StatusGone)
		return
	case <-r.Context().Done():
		return
	}
	s.mu.Lock()
	s.handed = inv.RequestID
	s.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.RequestID)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.FunctionARN)
	if inv.XRayTraceID != "" {
		h.Set("Lambda-Runtime-Trace-Id", inv.XRayTraceID)
	}
	if inv.TraceParent != "" {
		h.Set("Traceparent", inv.TraceParent)
	}
	if inv.ClientContext != "" {
		h.Set("Lambda-Runtime-Client-Context", inv.ClientContext)
	}
	if inv.CognitoIdentity != "" {
		h.Set("Lambda-Runtime-Cognito-Identity", inv.CognitoIdentity)
	}
	if inv.TenantID != "" {
		h.Set("Lambda-Runtime-Aws-Tenant-Id", inv.TenantID)
	}
	// An explicit length keeps minimal clients (our Python bootstrap)
	// free of chunked decoding.
	h.Set("Content-Length", strconv.Itoa(len(inv.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(inv.Payload)
}

// answered reads the body a runtime posted for invocation {id} and takes
// that invocation off the pending ones; on failure it has answered the
// runtime itself.
func (s *Server) answered(w http.ResponseWriter, r *http.Request) (inv *Invocation, body []byte, tooLarge, ok bool) {
	id := r.PathValue("id")
	body, tooLarge, err := readLimited(r.Body)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "reading the body: "+err.Error())
		return nil, nil, false, false
	}
	if inv = s.forget(id); inv == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation with request id "+id+" is waiting for an answer")
		return nil, nil, false, false
	}
	return inv, body, tooLarge, true
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	inv, body, tooLarge, ok := s.answered(w, r)
	if !ok {
		return
	}
	if tooLarge {
		inv.result <- Result{At: time.Now(), Error: &FunctionError{
			ErrorType:    "Function.ResponseSizeTooLarge",
			ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload),
		}}
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response is larger than the payload limit")
		return
	}
	inv.result <- Result{Payload: body, At: time.Now()}
	writeAccepted(w)
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	// An error body over the limit is dropped; its type header remains.
	inv, body, _, ok := s.answered(w, r)
	if !ok {
		return
	}
	inv.result <- Result{Payload: body, Error: parseError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type")), At: time.Now()}
	writeAccepted(w)
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	body, _, err := readLimited(r.Body)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "reading the body: "+err.Error())
		return
	}
	select {
	case s.initErr <- parseError(body, r.Header.Get("Lambda-Runtime-Function-Error-Type")):
	default: // only the first init error counts
	}
	writeAccepted(w)
}

// parseError reads a runtime's error body; a body that is not the
// documented JSON still becomes the message.
func parseError(body []byte, typeHeader string) *FunctionError {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil || (fe.ErrorMessage == "" && fe.ErrorType == "") {
		fe = FunctionError{ErrorMessage: string(body)}
	}
	if fe.ErrorType == "" {
		fe.ErrorType = typeHeader
	}
	if fe.ErrorType == "" {
		fe.ErrorType = "Unhandled"
	}
	return &fe
}

func readLimited(r io.Reader) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, MaxPayload+1))
	if err != nil {
		return nil, false, err
	}
	if len(body) > MaxPayload {
		// Drain so the connection can be reused; if that fails, the
		// connection is lost anyway.
		_, _ = io.Copy(io.Discard, r)
		return nil, true, nil
	}
	return body, false, nil
}

var acceptedBody = []byte(`{"status":"OK"}`)

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(acceptedBody)))
	w.WriteHeader(http.StatusAccepted)
	w.Write(acceptedBody)
}

func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(FunctionError{ErrorType: typ, ErrorMessage: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
