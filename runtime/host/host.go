// Package host runs invocations: it keeps a pool of instances per
// deployed function, follows deploys and removals, and takes each
// invocation from its arrival to its answer and its span.
package host

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/runtime/bootstrap"
	"github.com/coldtrace/coldtrace/runtime/instance"
	"github.com/coldtrace/coldtrace/runtime/limits"
	"github.com/coldtrace/coldtrace/runtime/pool"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/runtimeapi"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// Config configures a Host.
type Config struct {
	// Region and AccountID appear in function ARNs and AWS_REGION.
	Region    string
	AccountID string
	// InitTimeout bounds a cold start's init (Lambda: 10 s).
	InitTimeout time.Duration
	// Pids caps each instance's processes and threads.
	Pids int
	// MaxWaiting bounds the invocations queued per function.
	MaxWaiting int
	// OTLPEndpoint is given to functions as OTEL_EXPORTER_OTLP_ENDPOINT,
	// for those that export spans with an SDK of their own.
	OTLPEndpoint string
}

// DefaultConfig has Lambda's init limit.
func DefaultConfig() Config {
	return Config{Region: "local", AccountID: "000000000000", InitTimeout: 10 * time.Second, Pids: 1024, MaxWaiting: 1000}
}

// Validate checks c.
func (c Config) Validate() error {
	if c.Region == "" || c.AccountID == "" {
		return errors.New("region and account id must be set")
	}
	if c.InitTimeout <= 0 {
		return errors.New("init timeout must be positive")
	}
	if c.Pids < 0 || c.MaxWaiting < 0 {
		return errors.New("pids limit and max waiting must not be negative")
	}
	return nil
}

// Host runs the registry's functions.
type Host struct {
	cfg    Config
	reg    *registry.Store
	tel    *telemetry.Telemetry
	limits *limits.Manager
	boot   *bootstrap.Set
	log    *slog.Logger

	metrics *metrics

	mu     sync.Mutex
	pools  map[string]*functionPool
	closed bool
	// calls counts invocations under way (Add under mu while not
	// closed), so Stop can wait for their spans after Close.
	calls sync.WaitGroup
}

// functionPool is the pool of one function and its current version.
type functionPool struct {
	fn     *registry.Function
	tracer trace.Tracer // for spans no instance made (throttles)
	pool   *pool.Pool[*hostInstance]
}

// hostInstance is an instance with the tracer of its resource.
type hostInstance struct {
	*instance.Instance
	tracer trace.Tracer
	stream string // faas.instance, also the log stream name
}

// New starts a pool for every function of reg and follows its changes.
func New(cfg Config, reg *registry.Store, tel *telemetry.Telemetry, lim *limits.Manager, boot *bootstrap.Set, log *slog.Logger) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	h := &Host{cfg: cfg, reg: reg, tel: tel, limits: lim, boot: boot, log: log, metrics: newMetrics(), pools: map[string]*functionPool{}}
	reg.Subscribe(h.onChange)
	for _, fn := range reg.List() {
		h.onChange(registry.Change{Name: fn.Name, Function: fn})
	}
	return h, nil
}

func poolConfig(fn *registry.Function, maxWaiting int) pool.Config {
	return pool.Config{MaxInstances: fn.MaxInstances, MinInstances: fn.MinInstances,
		IdleTimeout: fn.IdleTimeout.D(), QueueWait: fn.QueueWait.D(), MaxWaiting: maxWaiting}
}

func (h *Host) functionResource(fn *registry.Function, instance string) telemetry.Resource {
	return telemetry.Resource{Function: fn.Name, Version: fn.VersionString(), Instance: instance, MemoryBytes: fn.MemoryBytes()}
}

// onChange follows a deploy (new pool, or new version in the pool) or a
// removal (pool closed).
func (h *Host) onChange(c registry.Change) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	fp := h.pools[c.Name]
	if c.Function == nil {
		delete(h.pools, c.Name)
		h.mu.Unlock()
		if fp != nil {
			fp.pool.Close()
		}
		return
	}
	fn := c.Function
	next := &functionPool{fn: fn, tracer: h.tel.Tracer(h.functionResource(fn, ""))}
	if fp == nil {
		next.pool = pool.New(poolConfig(fn, h.cfg.MaxWaiting), h.spawner(fn), h.log.With("function", fn.Name))
	} else {
		next.pool = fp.pool
		next.pool.Reconfigure(poolConfig(fn, h.cfg.MaxWaiting), h.spawner(fn))
	}
	h.pools[c.Name] = next
	h.mu.Unlock()
}

func (h *Host) functionPool(name string) (*functionPool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.functionPoolLocked(name)
}

func (h *Host) functionPoolLocked(name string) (*functionPool, error) {
	if h.closed {
		return nil, pool.ErrClosed
	}
	fp := h.pools[name]
	if fp == nil {
		return nil, fmt.Errorf("%w: %s", registry.ErrNotFound, name)
	}
	return fp, nil
}

// startCall is functionPool for an invocation, counted in calls.
func (h *Host) startCall(name string) (*functionPool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fp, err := h.functionPoolLocked(name)
	if err == nil {
		h.calls.Add(1)
	}
	return fp, err
}

// Region is the region in ARNs and AWS_REGION.
func (h *Host) Region() string { return h.cfg.Region }

// AccountID is the account in ARNs.
func (h *Host) AccountID() string { return h.cfg.AccountID }

// ARN is the function's Lambda ARN here.
func (h *Host) ARN(name string) string {
	return "arn:aws:lambda:" + h.cfg.Region + ":" + h.cfg.AccountID + ":function:" + name
}

// spawner starts instances of one function version.
func (h *Host) spawner(fn *registry.Function) pool.Spawner[*hostInstance] {
	return func(ctx context.Context, prewarm bool) (*hostInstance, error) {
		id := newInstanceID()
		stream := time.Now().UTC().Format("2006/01/02") + "/[" + fn.VersionString() + "]" + id
		res := h.functionResource(fn, stream)
		path, args, runtimeEnv, err := h.boot.Command(fn)
		if err != nil {
			return nil, &instance.InitError{At: time.Now(), FunctionError: &runtimeapi.FunctionError{
				ErrorType: "Runtime.InvalidRuntime", ErrorMessage: err.Error()}}
		}
		releaseCode := h.reg.UseCode(fn) // an instance runs in its version's code directory
		inst, err := instance.Start(instance.Config{
			Function: fn, ID: fn.Name + "-" + id, Path: path, Args: args,
			Env:    h.environment(fn, stream, prewarm, runtimeEnv),
			Limits: h.limits, Pids: h.cfg.Pids, Spans: h.tel.FunctionSpans(res),
			InitTimeout: h.cfg.InitTimeout, Prewarmed: prewarm, Log: h.log,
		})
		if err != nil {
			releaseCode()
			return nil, &instance.InitError{At: time.Now(), FunctionError: &runtimeapi.FunctionError{
				ErrorType: "Runtime.StartError", ErrorMessage: err.Error()}}
		}
		go func() {
			<-inst.Exited()
			releaseCode()
		}()
		hi := &hostInstance{Instance: inst, tracer: h.tel.Tracer(res), stream: stream}
		if err := inst.WaitReady(ctx, h.cfg.InitTimeout); err != nil {
			return hi, err
		}
		if prewarm {
			telemetry.RecordInit(context.Background(), hi.tracer, inst.SpawnedAt, inst.ReadyAt(), false, "", true)
		}
		return hi, nil
	}
}

func newInstanceID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// environment is the Lambda environment of one instance. Functions get
// nothing of the host's own environment.
func (h *Host) environment(fn *registry.Function, stream string, prewarm bool, runtimeEnv []string) []string {
	initType := "on-demand"
	if prewarm {
		initType = "provisioned-concurrency"
	}
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=C.UTF-8",
		"TZ=:UTC",
		"_HANDLER=" + fn.Handler,
		"LAMBDA_TASK_ROOT=" + fn.CodeDir,
		"LAMBDA_RUNTIME_DIR=" + h.boot.Dir(),
		"AWS_LAMBDA_FUNCTION_NAME=" + fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=" + fn.VersionString(),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE=" + initType,
		"AWS_REGION=" + h.cfg.Region,
		"AWS_DEFAULT_REGION=" + h.cfg.Region,
		"OTEL_SERVICE_NAME=" + fn.Name,
		"OTEL_RESOURCE_ATTRIBUTES=faas.name=" + url.QueryEscape(fn.Name) + ",faas.version=" + fn.VersionString() + ",cloud.provider=coldtrace",
	}
	if h.cfg.OTLPEndpoint != "" {
		env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+h.cfg.OTLPEndpoint)
	}
	env = append(env, runtimeEnv...)
	keys := make([]string, 0, len(fn.Env))
	for k := range fn.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+fn.Env[k])
	}
	return env
}

// Request is one invocation to run.
type Request struct {
	Function string
	// Incarnation, if set, is the registry's incarnation of Function the
	// request is for (a queued event's): if that one was removed, the
	// request fails with registry.ErrNotFound instead of running on a
	// function deployed under the name since.
	Incarnation string
	Payload     []byte
	// RequestID is kept across retries of an async event; empty means a
	// new one.
	RequestID string
	Trigger   string
	Kind      trace.SpanKind
	// Carrier holds the caller's trace headers (traceparent or
	// X-Amzn-Trace-Id), if any.
	Carrier       propagation.TextMapCarrier
	ClientContext string
	Attributes    []attribute.KeyValue
	// Finish, if set, adds attributes once the response is known (the
	// HTTP trigger's status code). It may fail a successful response by
	// setting its ErrorType and Error (an answer the HTTP trigger cannot
	// map); the span and metrics then record that error.
	Finish func(*Response) []attribute.KeyValue
	// Deferrable marks a request that can come back later (an async
	// event): when every instance is busy and none may be added it does
	// not wait in the function's queue, and is answered ErrDeferred at
	// once, without a span: it is not an invocation yet.
	Deferrable bool
}

// ErrDeferred is the error type of a Deferrable request that found the
// function at its concurrency limit.
const ErrDeferred = "deferred"

// Response is how an invocation went.
type Response struct {
	RequestID string
	Function  *registry.Function
	// Payload is the function's answer, or the error as Lambda's JSON
	// error body.
	Payload   []byte
	ErrorType string // the span contract's error.type; "" on success
	Error     *runtimeapi.FunctionError
	Cold      bool
	Init      time.Duration
	Duration  time.Duration
	Billed    time.Duration
	MaxMemory uint64
	Logs      []telemetry.LogLine
	// TraceID of the invocation span, "" when not traced.
	TraceID string
	// Instance is faas.instance, "" when no instance ran.
	Instance string
}

// maxRetriesOnGone bounds how often an invocation moves on when the
// instance it got ended before taking the event.
const maxRetriesOnGone = 3

// Invoke runs one invocation. Errors are only for a function that does
// not exist or a host that is stopping; everything else, throttling
// included, is in the Response.
func (h *Host) Invoke(ctx context.Context, req Request) (*Response, error) {
	arrival := time.Now()
	fp, err := h.startCall(req.Function)
	if err != nil {
		return nil, err
	}
	defer h.calls.Done()
	// A removal closes the pool, and a later deploy makes a new one: the
	// pool of this incarnation runs nothing of another.
	if req.Incarnation != "" && fp.fn.Incarnation != req.Incarnation {
		return nil, fmt.Errorf("%w: %s (the incarnation the request was for was removed)", registry.ErrNotFound, req.Function)
	}
	if req.RequestID == "" {
		req.RequestID = uuid.NewString()
	}
	if req.Trigger == "" {
		req.Trigger = telemetry.TriggerOther
	}
	parent := context.Background()
	if req.Carrier != nil {
		parent = h.tel.Extract(parent, req.Carrier)
	}
	acquire := fp.pool.Acquire
	if req.Deferrable {
		acquire = fp.pool.AcquireNow
	}
	for attempt := 0; ; attempt++ {
		inst, cold, err := acquire(ctx)
		var initErr *instance.InitError
		switch {
		case errors.Is(err, pool.ErrThrottled) && req.Deferrable:
			return &Response{RequestID: req.RequestID, Function: fp.fn, ErrorType: ErrDeferred}, nil
		case errors.Is(err, pool.ErrThrottled):
			return h.throttled(fp, req, parent, arrival), nil
		case errors.As(err, &initErr):
			return h.initFailed(fp, req, parent, arrival, inst, initErr), nil
		case err != nil:
			return nil, err
		}
		resp, err := h.run(fp, req, parent, arrival, inst, cold && !inst.Prewarmed)
		if errors.Is(err, instance.ErrGone) && attempt < maxRetriesOnGone {
			continue
		}
		return resp, err
	}
}

// invocationSpan starts the span of one invocation.
func (h *Host) invocationSpan(tracer trace.Tracer, fn *registry.Function, req Request, parent context.Context, arrival time.Time) (telemetry.Invocation, context.Context, trace.Span) {
	inv := telemetry.Invocation{
		Tracer: tracer, Parent: parent, Function: fn.Name, Kind: req.Kind, RequestID: req.RequestID,
		Trigger: req.Trigger, Start: arrival, Timeout: fn.Timeout.D(), Attributes: req.Attributes,
	}
	ctx, span := telemetry.StartInvocation(inv)
	return inv, ctx, span
}

func (h *Host) run(fp *functionPool, req Request, parent context.Context, arrival time.Time, inst *hostInstance, cold bool) (*Response, error) {
	fn := inst.Function
	tinv, ctx, span := h.invocationSpan(inst.tracer, fn, req, parent, arrival)
	inv := runtimeapi.NewInvocation(req.RequestID, req.Payload)
	inv.FunctionARN = h.ARN(fn.Name)
	inv.ClientContext = req.ClientContext
	inv.TraceParent, inv.XRayTraceID = telemetry.PropagationHeaders(span.SpanContext())
	res, err := inst.Invoke(inv, fn.Timeout.D())
	if err != nil {
		// The instance is ending: its watcher frees the slot. The span is
		// not ended, so never exported: the retry makes the real one.
		inst.Kill("gone before taking an event")
		return nil, err
	}
	// The next invocation may have the instance while this one's span
	// is finished. When a waiting caller got it, yield: its goroutine
	// was readied on this one's processor and would otherwise wait there
	// until this span is ended and this answer written, with the
	// instance idle (docs/benchmarks.md: 7 % more warm invocations/s
	// with tracing on, 14 % with it off, 8 callers on 2 instances).
	if fp.pool.Release(inst) {
		runtime.Gosched()
	}
	out := telemetry.Outcome{
		Cold: cold, Ran: true, Duration: res.End.Sub(res.Delivered), MaxMemory: res.MaxMemory,
		ErrorType: res.ErrorType, Logs: res.Logs, LogsDropped: res.LogsDropped, End: res.End,
	}
	if cold {
		out.InitStart, out.InitEnd = inst.SpawnedAt, inst.ReadyAt()
	}
	resp := &Response{
		RequestID: req.RequestID, Function: fn, Payload: res.Payload, ErrorType: res.ErrorType, Error: res.Error,
		Cold: cold, Init: out.InitDuration(), Duration: out.Duration, Billed: out.BilledDuration(),
		MaxMemory: res.MaxMemory, Logs: res.Logs, Instance: inst.stream,
	}
	if res.Error != nil {
		out.ErrorMessage = res.Error.Error()
		if res.ErrorType != telemetry.ErrHandler || len(resp.Payload) == 0 {
			resp.Payload = errorPayload(res.Error)
		}
	}
	h.finish(ctx, tinv, span, req, resp, out)
	return resp, nil
}

func (h *Host) finish(ctx context.Context, inv telemetry.Invocation, span trace.Span, req Request, resp *Response, out telemetry.Outcome) {
	if sc := span.SpanContext(); sc.IsValid() && span.IsRecording() {
		resp.TraceID = sc.TraceID().String()
	}
	if req.Finish != nil {
		out.Attributes = append(out.Attributes, req.Finish(resp)...)
		if out.ErrorType == "" && resp.ErrorType != "" {
			out.ErrorType = resp.ErrorType
			if resp.Error != nil {
				out.ErrorMessage = resp.Error.Error()
			}
		}
	}
	h.metrics.observe(resp)
	telemetry.FinishInvocation(ctx, inv, span, out)
}

func (h *Host) throttled(fp *functionPool, req Request, parent context.Context, arrival time.Time) *Response {
	inv, ctx, span := h.invocationSpan(fp.tracer, fp.fn, req, parent, arrival)
	fe := &runtimeapi.FunctionError{ErrorType: "TooManyRequestsException",
		ErrorMessage: fmt.Sprintf("Rate Exceeded: all %d instances of %s stayed busy for %s", fp.fn.MaxInstances, fp.fn.Name, fp.fn.QueueWait)}
	resp := &Response{RequestID: req.RequestID, Function: fp.fn, ErrorType: telemetry.ErrThrottled, Error: fe, Payload: errorPayload(fe)}
	h.finish(ctx, inv, span, req, resp, telemetry.Outcome{ErrorType: telemetry.ErrThrottled, ErrorMessage: fe.ErrorMessage, End: time.Now()})
	return resp
}

func (h *Host) initFailed(fp *functionPool, req Request, parent context.Context, arrival time.Time, inst *hostInstance, ie *instance.InitError) *Response {
	tracer, fn, spawned, stream := fp.tracer, fp.fn, arrival, ""
	if inst != nil {
		tracer, fn, spawned, stream = inst.tracer, inst.Function, inst.SpawnedAt, inst.stream
	}
	inv, ctx, span := h.invocationSpan(tracer, fn, req, parent, arrival)
	// A failed init ran (and is billed, as Lambda bills the init phase)
	// when a process started; not when none could.
	out := telemetry.Outcome{
		Cold: true, InitStart: spawned, InitEnd: ie.At, Ran: inst != nil, MaxMemory: ie.MaxMemory,
		ErrorType: telemetry.ErrInit, ErrorMessage: ie.FunctionError.Error(), Logs: ie.Logs, LogsDropped: ie.LogsDropped, End: ie.At,
	}
	resp := &Response{
		RequestID: req.RequestID, Function: fn, ErrorType: telemetry.ErrInit, Error: ie.FunctionError,
		Payload: errorPayload(ie.FunctionError), Cold: true, Init: out.InitDuration(), Billed: out.BilledDuration(),
		MaxMemory: ie.MaxMemory, Logs: ie.Logs, Instance: stream,
	}
	h.finish(ctx, inv, span, req, resp, out)
	return resp
}

// Stats is the state of one function's pool.
func (h *Host) Stats(name string) (pool.Stats, error) {
	fp, err := h.functionPool(name)
	if err != nil {
		return pool.Stats{}, err
	}
	return fp.pool.Stats(), nil
}

// Close stops every instance.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	pools := h.pools
	h.pools = map[string]*functionPool{}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, fp := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fp.pool.Close()
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping function instances: %w", ctx.Err())
	}
}

// WaitInvocations returns once every invocation under way when Close was
// called has returned, its span ended, or when ctx ends.
func (h *Host) WaitInvocations(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.calls.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("invocations still ending: %w", ctx.Err())
	}
}
