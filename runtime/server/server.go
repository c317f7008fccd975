// Package server assembles the function runtime: registry, host,
// telemetry, limits, async queue, scheduler and gateway, started and
// stopped as one service.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/coldtrace/coldtrace/runtime/asyncq"
	"github.com/coldtrace/coldtrace/runtime/bootstrap"
	"github.com/coldtrace/coldtrace/runtime/gateway"
	"github.com/coldtrace/coldtrace/runtime/host"
	"github.com/coldtrace/coldtrace/runtime/limits"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/schedule"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// Config is the whole runtime's configuration.
type Config struct {
	// DataDir holds the registry, the code, the bootstraps and the async
	// queue, under DataDir/runtime.
	DataDir     string
	GatewayAddr string
	Telemetry   telemetry.Config
	Limits      limits.Config
	Host        host.Config
	Bootstrap   bootstrap.Config
	// Queue.Path is set from DataDir.
	Queue   asyncq.Config
	Payload gateway.Limits
	// Guard authorizes gateway requests (nil: open, for loopback use).
	Guard gateway.Guard
	// TLS, when set, serves the gateway over https.
	TLS *tls.Config
	// ReadTimeout bounds how long a gateway request, headers and body, may
	// take to arrive; a deploy's code archive gets gateway.DeployReadTimeout
	// once its token is checked.
	ReadTimeout time.Duration
}

// DefaultReadTimeout is the gateway's read timeout. Invoke API payloads
// and HTTP trigger bodies are at most 6 MB (gateway.Limits.SyncPayload),
// which a minute lets through at 100 KB/s; without a bound a body that
// stalls holds its connection and goroutine for as long as its client
// keeps the connection open.
const DefaultReadTimeout = time.Minute

// DefaultConfig runs the gateway on :8080 with tracing off.
func DefaultConfig() Config {
	return Config{
		DataDir: "./data", GatewayAddr: "127.0.0.1:8080",
		Telemetry: telemetry.DefaultConfig(), Limits: limits.DefaultConfig(), Host: host.DefaultConfig(),
		Queue: asyncq.DefaultConfig(), Payload: gateway.DefaultLimits(), ReadTimeout: DefaultReadTimeout,
	}
}

// Validate checks every part's configuration.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir must be set"))
	}
	if c.GatewayAddr == "" {
		errs = append(errs, errors.New("gateway address must be set"))
	} else if _, _, err := net.SplitHostPort(c.GatewayAddr); err != nil {
		errs = append(errs, fmt.Errorf("gateway address %q: %w", c.GatewayAddr, err))
	}
	if c.ReadTimeout <= 0 {
		errs = append(errs, errors.New("gateway read timeout must be positive: without it a request body that stalls holds its connection forever"))
	}
	q := c.Queue
	q.Path = "unused"
	errs = append(errs, c.Telemetry.Validate(), c.Limits.Validate(), c.Host.Validate(), c.Bootstrap.Validate(), q.Validate())
	return errors.Join(errs...)
}

// Server is a running function runtime.
type Server struct {
	log       *slog.Logger
	tel       *telemetry.Telemetry
	limits    *limits.Manager
	reg       *registry.Store
	host      *host.Host
	queue     *asyncq.Queue
	scheduler *schedule.Scheduler
	http      *http.Server
	ln        net.Listener
	scheme    string
}

// Start brings the runtime up; functions deployed earlier start serving
// (and pre-warming) at once.
func Start(cfg Config, log *slog.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("part", "runtime")
	// Instances run in their code directory, so every path handed to
	// them (bootstrap scripts, a provided bootstrap, LAMBDA_TASK_ROOT)
	// must not depend on this process's working directory.
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("runtime data dir: %w", err)
	}
	root := filepath.Join(dataDir, "runtime")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("runtime data dir: %w", err)
	}
	s := &Server{log: log}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	if s.tel, err = telemetry.New(cfg.Telemetry, log); err != nil {
		return nil, err
	}
	// On a failed start nothing was traced yet: the exporter's own
	// shutdown error has nothing to add to the start's.
	undo = append(undo, func() { _ = s.tel.Shutdown(context.Background()) })
	if s.limits, err = limits.New(cfg.Limits, log); err != nil {
		return nil, err
	}
	undo = append(undo, s.limits.Close)
	boot, err := bootstrap.Install(filepath.Join(root, "bootstrap"), cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	if s.reg, err = registry.Open(filepath.Join(root, "functions"), log); err != nil {
		return nil, err
	}
	hcfg := cfg.Host
	hcfg.OTLPEndpoint = cfg.Telemetry.Endpoint
	if s.host, err = host.New(hcfg, s.reg, s.tel, s.limits, boot, log); err != nil {
		return nil, err
	}
	undo = append(undo, func() { s.host.Close(context.Background()) })

	qcfg := cfg.Queue
	qcfg.Path = filepath.Join(root, "queue.db")
	if s.queue, err = asyncq.Open(qcfg, asyncInvoker{s.host, s.reg}, log); err != nil {
		return nil, err
	}
	undo = append(undo, func() { s.queue.Close(context.Background()) })

	s.reg.Subscribe(func(c registry.Change) {
		if c.Function != nil {
			return
		}
		// A removed function's events must not run against a function
		// deployed later under its name.
		if n, err := s.queue.Forget(c.Name); err != nil {
			log.Error("async queue: dropping a removed function's events failed", "function", c.Name, "err", err)
		} else if n > 0 {
			log.Info("async queue: dropped a removed function's events and dead letters", "function", c.Name, "events", n)
		}
	})
	s.scheduler = schedule.NewScheduler(s.fireSchedule, log)
	s.reg.Subscribe(func(c registry.Change) {
		expr := ""
		if c.Function != nil {
			expr = c.Function.Schedule
		}
		if err := s.scheduler.Set(c.Name, expr); err != nil {
			log.Error("schedule of a deployed function is invalid", "function", c.Name, "err", err)
		}
	})
	for _, fn := range s.reg.List() {
		if err := s.scheduler.Set(fn.Name, fn.Schedule); err != nil {
			log.Error("schedule of a stored function is invalid", "function", fn.Name, "err", err)
		}
	}

	if s.ln, err = net.Listen("tcp", cfg.GatewayAddr); err != nil {
		return nil, fmt.Errorf("function gateway: %w", err)
	}
	s.scheme = "http"
	if cfg.TLS != nil {
		s.ln, s.scheme = tls.NewListener(s.ln, cfg.TLS), "https"
	}
	gw := gateway.New(s.host, s.reg, s.queue, s.scheduler, cfg.Payload, s.URL(), cfg.Guard, log)
	s.http = &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: cfg.ReadTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("function gateway stopped", "err", err)
		}
	}()
	s.queue.Start()
	s.scheduler.Start()

	node, python := boot.Interpreters()
	log.Info("function runtime is up", "gateway", s.URL(), "functions", len(s.reg.List()),
		"limits", s.limits.Mechanism(), "tracing", s.tel.Enabled(), "otlp_endpoint", cfg.Telemetry.Endpoint,
		"node", node, "python", python)
	return s, nil
}

// URL is the gateway's base URL.
func (s *Server) URL() string { return s.scheme + "://" + s.ln.Addr().String() }

// Registry is the function registry.
func (s *Server) Registry() *registry.Store { return s.reg }

// Host runs invocations.
func (s *Server) Host() *host.Host { return s.host }

// Queue is the async queue.
func (s *Server) Queue() *asyncq.Queue { return s.queue }

// Limits is the limits manager.
func (s *Server) Limits() *limits.Manager { return s.limits }

// Flush exports every span finished so far.
func (s *Server) Flush(ctx context.Context) error { return s.tel.Flush(ctx) }

// At Stop, after ctx: endingTimeout bounds the wait for the invocations
// the stop ended to record their spans (an instance still in its init
// may take that long to go), finalExportTimeout the export of the last
// spans, which never shares the first's budget.
const (
	endingTimeout      = 3 * time.Second
	finalExportTimeout = 5 * time.Second
)

// Stop stops taking requests, lets invocations under way finish within
// ctx, stops every instance and exports the remaining spans.
func (s *Server) Stop(ctx context.Context) error {
	var errs []error
	if err := s.scheduler.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	// No async attempt may start once stopping has begun, and the gateway
	// stops taking requests before anything waits: then the requests and
	// the attempts under way share what is left of ctx.
	s.queue.Stop()
	if err := s.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("function gateway: %w", err))
	}
	if err := s.queue.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.host.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	// The last spans, those of invocations the shutdown ended included,
	// get a budget of their own: ctx may be spent by now.
	wctx, cancelWait := context.WithTimeout(context.WithoutCancel(ctx), endingTimeout)
	defer cancelWait()
	if err := s.host.WaitInvocations(wctx); err != nil {
		errs = append(errs, err)
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalExportTimeout)
	defer cancel()
	if err := s.tel.Shutdown(tctx); err != nil {
		errs = append(errs, fmt.Errorf("exporting the last spans: %w", err))
	}
	s.limits.Close()
	return errors.Join(errs...)
}
