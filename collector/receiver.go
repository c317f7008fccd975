package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/coldtrace/coldtrace/internal/consumer"
)

// Stats are the receiver's counters.
type Stats struct {
	Requests          atomic.Int64 // decoded, handed to export
	RequestsMalformed atomic.Int64
	RequestsThrottled atomic.Int64 // waited too long for room in flight
	SpansReceived     atomic.Int64
	SpansRefused      atomic.Int64
}

// Receiver serves OTLP over gRPC and HTTP.
type Receiver struct {
	cfg   Config
	next  consumer.Traces
	log   *slog.Logger
	stats Stats

	grpcOpts  []grpc.ServerOption
	httpWraps []func(http.Handler) http.Handler
	tls       *tls.Config
	grpcSrv   *grpc.Server
	httpSrv   *http.Server
	grpcLn    net.Listener
	httpLn    net.Listener
	wg        sync.WaitGroup
	// inflight holds the bytes of the requests being decoded and
	// consumed (Config.MaxInflightBytes).
	inflight *semaphore.Weighted
}

// inflightWait is how long a request waits for room among the requests in
// flight before its sender is told to retry.
const inflightWait = 2 * time.Second

// errInflightFull tells a sender to retry: too many request bytes are
// being decoded and stored at once.
var errInflightFull = errors.New("too many request bytes in flight; retry")

// admit waits for room for a request of n bytes among those in flight;
// the returned func gives it back.
func (r *Receiver) admit(ctx context.Context, n int) (func(), error) {
	a := r.newAdmission(ctx)
	if err := a.grow(int64(n)); err != nil {
		a.release()
		return nil, err
	}
	return a.release, nil
}

// admission is a request's share of the bytes in flight, grown as its body
// is read and decompressed: a request waiting for room holds no more than
// it has been given, so a burst of compressed requests cannot inflate
// beyond the bound before being counted.
type admission struct {
	r        *Receiver
	deadline context.Context
	cancel   context.CancelFunc
	held     int64
}

func (r *Receiver) newAdmission(ctx context.Context) *admission {
	deadline, cancel := context.WithTimeout(ctx, inflightWait)
	return &admission{r: r, deadline: deadline, cancel: cancel}
}

// grow makes the admission hold at least n bytes (at most the bound),
// waiting up to inflightWait from its start.
func (a *admission) grow(n int64) error {
	n = min(n, a.r.cfg.MaxInflightBytes)
	if n <= a.held {
		return nil
	}
	if err := a.r.inflight.Acquire(a.deadline, n-a.held); err != nil {
		a.r.stats.RequestsThrottled.Add(1)
		return consumer.Throttled(errInflightFull, time.Second)
	}
	a.held = n
	return nil
}

func (a *admission) release() {
	a.cancel()
	if a.held > 0 {
		a.r.inflight.Release(a.held)
		a.held = 0
	}
}

// admittedReader grows its admission before each read to cover what the
// read may return, so the bytes it returns are always within the bound.
type admittedReader struct {
	r    io.Reader
	a    *admission
	read int64
}

// admitFirst is the most a body's first read may take. Each later read
// may take half as much again as has arrived (at least admitFirst), so a
// body holds at most 1.5 times what it has sent, a 20 MiB one needs ~20
// acquisitions, and a body that stalls early holds little room: when
// every read took at least 256 KiB, a thousand connections that sent a
// few bytes each held all of the default --max-inflight-bytes.
const admitFirst = 4 << 10

func (ar *admittedReader) Read(p []byte) (int, error) {
	if step := max(ar.read/2, admitFirst); int64(len(p)) > step {
		p = p[:step]
	}
	if err := ar.a.grow(ar.read + int64(len(p))); err != nil {
		return 0, err
	}
	n, err := ar.r.Read(p)
	ar.read += int64(n)
	return n, err
}

// Option customises a Receiver.
type Option func(*Receiver)

// WithGRPCServerOptions adds gRPC server options (TLS, interceptors).
func WithGRPCServerOptions(opts ...grpc.ServerOption) Option {
	return func(r *Receiver) { r.grpcOpts = append(r.grpcOpts, opts...) }
}

// WithHTTPMiddleware wraps the OTLP/HTTP handler (authentication,
// tracing); the first given is the outermost.
func WithHTTPMiddleware(wrap func(http.Handler) http.Handler) Option {
	return func(r *Receiver) { r.httpWraps = append(r.httpWraps, wrap) }
}

// WithTLS serves both protocols over TLS.
func WithTLS(cfg *tls.Config) Option {
	return func(r *Receiver) {
		if cfg != nil {
			r.tls = cfg
			r.grpcOpts = append(r.grpcOpts, grpc.Creds(credentials.NewTLS(cfg)))
		}
	}
}

// New returns a receiver that hands traces to next.
func New(cfg Config, next consumer.Traces, log *slog.Logger, opts ...Option) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if next == nil {
		return nil, errors.New("collector: nil consumer")
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Receiver{cfg: cfg, next: next, log: log, inflight: semaphore.NewWeighted(cfg.MaxInflightBytes)}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Stats returns the live counters.
func (r *Receiver) Stats() *Stats { return &r.stats }

// export checks a decoded request against the limits and consumes it.
func (r *Receiver) export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	r.stats.Requests.Add(1)
	td := req.Traces()
	n := td.SpanCount()
	resp := ptraceotlp.NewExportResponse()
	if r.cfg.MaxSpansPerRequest > 0 && n > r.cfg.MaxSpansPerRequest {
		r.stats.SpansRefused.Add(int64(n))
		return resp, consumer.Permanent(fmt.Errorf("request has %d spans; the limit is %d per request: split it", n, r.cfg.MaxSpansPerRequest))
	}
	r.stats.SpansReceived.Add(int64(n))
	// The request's span, when self-tracing traces receivers.
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.Int("coldtrace.spans", n))
	}
	err := r.next.ConsumeTraces(ctx, td)
	var partial *consumer.PartialError
	switch {
	case errors.As(err, &partial):
		resp.PartialSuccess().SetRejectedSpans(partial.Rejected)
		resp.PartialSuccess().SetErrorMessage(partial.Message)
		r.stats.SpansRefused.Add(partial.Rejected)
		return resp, nil
	case err != nil:
		r.stats.SpansRefused.Add(int64(n))
		return resp, err
	}
	return resp, nil
}

// Start listens on the configured addresses and serves until Shutdown.
func (r *Receiver) Start(ctx context.Context) error {
	var lc net.ListenConfig
	if r.cfg.GRPCAddr != "" {
		ln, err := lc.Listen(ctx, "tcp", r.cfg.GRPCAddr)
		if err != nil {
			return fmt.Errorf("OTLP gRPC listen: %w", err)
		}
		r.grpcLn = ln
		r.grpcSrv = r.newGRPCServer(r.grpcOpts...)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := r.grpcSrv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				r.log.Error("OTLP gRPC server stopped", "err", err)
			}
		}()
		r.log.Info("OTLP gRPC receiver listening", "addr", ln.Addr().String())
	}
	if r.cfg.HTTPAddr != "" {
		ln, err := lc.Listen(ctx, "tcp", r.cfg.HTTPAddr)
		if err != nil {
			if r.grpcSrv != nil {
				r.grpcSrv.Stop()
			}
			return fmt.Errorf("OTLP HTTP listen: %w", err)
		}
		if r.tls != nil {
			ln = tls.NewListener(ln, r.tls)
		}
		r.httpLn = ln
		h := r.HTTPHandler()
		for i := len(r.httpWraps) - 1; i >= 0; i-- {
			h = r.httpWraps[i](h)
		}
		r.httpSrv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: r.cfg.ReadTimeout, IdleTimeout: 2 * time.Minute}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := r.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				r.log.Error("OTLP HTTP server stopped", "err", err)
			}
		}()
		r.log.Info("OTLP HTTP receiver listening", "addr", ln.Addr().String())
	}
	return nil
}

// GRPCAddr is the bound gRPC address (after Start).
func (r *Receiver) GRPCAddr() string { return addrString(r.grpcLn) }

// HTTPAddr is the bound HTTP address (after Start).
func (r *Receiver) HTTPAddr() string { return addrString(r.httpLn) }

func addrString(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Shutdown stops accepting requests and waits for in-flight ones until ctx
// ends.
func (r *Receiver) Shutdown(ctx context.Context) error {
	var errs []error
	if r.httpSrv != nil {
		errs = append(errs, r.httpSrv.Shutdown(ctx))
	}
	if r.grpcSrv != nil {
		stopped := make(chan struct{})
		go func() { r.grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			r.grpcSrv.Stop()
			errs = append(errs, ctx.Err())
		}
	}
	r.wg.Wait()
	return errors.Join(errs...)
}
