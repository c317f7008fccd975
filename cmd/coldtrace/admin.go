package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/coldtrace/coldtrace/internal/auth"
	"github.com/coldtrace/coldtrace/internal/metrics"
)

// admin serves the operational endpoints of every role: Prometheus
// /metrics, /healthz (the process is alive) and /readyz (its dependencies
// are usable).
type admin struct {
	addr string
	reg  *prometheus.Registry
	// security, when set, protects /metrics (admin scope) and adds TLS.
	security *securityOptions

	mu     sync.Mutex
	checks []readinessCheck
}

// readinessCheck reports why the role cannot serve, or nil.
type readinessCheck struct {
	name  string
	check func(context.Context) error
}

func (a *admin) register(fs *pflag.FlagSet, host string) {
	fs.StringVar(&a.addr, "admin-addr", host+":9464", "listen address of /metrics (Prometheus), /healthz and /readyz (empty disables it)")
}

// registerShared is register for roles with a REST listener: an empty
// address serves the endpoints there.
func (a *admin) registerShared(fs *pflag.FlagSet) {
	fs.StringVar(&a.addr, "admin-addr", "", "listen address of /metrics (Prometheus), /healthz and /readyz (empty: served on --http-addr)")
}

// withAdmin routes the admin paths to the admin handler and everything
// else to h.
func (a *admin) withAdmin(h http.Handler) http.Handler {
	ah := a.handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics", "/healthz", "/readyz":
			ah.ServeHTTP(w, r)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func (a *admin) init() {
	if a.reg == nil {
		a.reg = metrics.NewRegistry()
	}
}

func (a *admin) collect(cs ...prometheus.Collector) {
	a.init()
	a.reg.MustRegister(cs...)
}

func (a *admin) addCheck(name string, check func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks = append(a.checks, readinessCheck{name, check})
}

func (a *admin) handler() http.Handler {
	a.init()
	mux := http.NewServeMux()
	var m http.Handler = metrics.Handler(a.reg)
	if a.security != nil {
		m = a.security.authn.HTTP(auth.ScopeAdmin, m)
	}
	mux.Handle("GET /metrics", m)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", a.ready)
	return mux
}

// ready runs every check; any failure makes the answer 503 with the
// reasons, so a load balancer stops sending traffic.
func (a *admin) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	a.mu.Lock()
	checks := append([]readinessCheck(nil), a.checks...)
	a.mu.Unlock()
	status := map[string]string{}
	code := http.StatusOK
	for _, c := range checks {
		if err := c.check(ctx); err != nil {
			status[c.name] = err.Error()
			code = http.StatusServiceUnavailable
		} else {
			status[c.name] = "ok"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"ready": code == http.StatusOK, "checks": status})
}

// adminReadTimeout bounds how long a request to the admin listener,
// headers and body, may take to arrive. Scrapes and probes send no body,
// but Go reads up to 256 KiB of an unread one before answering, so without
// a bound a client that announces a body and stalls holds its connection
// and goroutine, unanswered, for as long as it likes.
const adminReadTimeout = 10 * time.Second

// serve listens on the admin address until the returned stop is called.
func (a *admin) serve(ctx context.Context, log *slog.Logger) (func(context.Context) error, error) {
	if a.addr == "" {
		return func(context.Context) error { return nil }, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", a.addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	ln = a.security.listener(ln)
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: adminReadTimeout}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", "err", err)
		}
	}()
	log.Info("admin endpoints listening", "addr", ln.Addr().String(), "paths", "/metrics /healthz /readyz")
	return srv.Shutdown, nil
}
