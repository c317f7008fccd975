// Package chclient opens the one ClickHouse client every part of Coldtrace
// uses: clickhouse-go, against a server DSN or against the embedded engine
// through its in-process HTTP interface.
package chclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/internal/chdb"
	"github.com/coldtrace/coldtrace/internal/chserver"
)

// Embedded is the --clickhouse value that selects the in-process engine.
const Embedded = "embedded"

// Config selects and tunes the ClickHouse connection.
type Config struct {
	// DSN is Embedded or a clickhouse-go DSN (clickhouse://host:9000,
	// http://host:8123, ...).
	DSN string
	// DataDir holds the embedded engine's files (under DataDir/clickhouse).
	DataDir string
	// Database is the database Coldtrace's tables live in.
	Database string
	// MaxConns bounds concurrent statements (embedded: engine connections).
	MaxConns int
	// DialTimeout bounds connecting to a server.
	DialTimeout time.Duration
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("clickhouse: empty DSN (use \"embedded\" or a server DSN)"))
	}
	if c.DSN == Embedded && c.DataDir == "" {
		errs = append(errs, errors.New("clickhouse: the embedded engine needs a data directory"))
	}
	if c.Database == "" || strings.ContainsAny(c.Database, "`'\"\\ .") {
		errs = append(errs, fmt.Errorf("clickhouse: invalid database name %q", c.Database))
	}
	if c.DSN != Embedded && c.DSN != "" {
		if _, err := clickhouse.ParseDSN(c.DSN); err != nil {
			errs = append(errs, fmt.Errorf("clickhouse: invalid DSN: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Client is an open ClickHouse connection pool.
type Client struct {
	driver.Conn
	// Database is where Coldtrace's tables live.
	Database string
	engine   *chdb.Engine
	handler  http.Handler
	log      *slog.Logger
}

// Open connects and checks that ClickHouse answers. For the embedded
// engine it starts libchdb in this process (loading the library only now).
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Client, error) {
	c, err := OpenLazy(cfg, log)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("ping clickhouse: %w", err)
	}
	return c, nil
}

// OpenLazy is Open without waiting for a server to answer: statements fail
// until it does. It is for a process that has work to do meanwhile.
func OpenLazy(cfg Config, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 8
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	c := &Client{Database: cfg.Database, log: log}
	var opts *clickhouse.Options
	if cfg.DSN == Embedded {
		engine, err := chdb.Open(chdb.Options{Path: filepath.Join(cfg.DataDir, "clickhouse"), Connections: min(cfg.MaxConns, 4)})
		if err != nil {
			return nil, fmt.Errorf("start embedded ClickHouse: %w", err)
		}
		c.engine = engine
		c.handler = chserver.NewHandler(engine, log)
		handler := c.handler
		opts = &clickhouse.Options{
			Protocol: clickhouse.HTTP,
			Addr:     []string{"embedded.chdb"},
			TransportFunc: func(*http.Transport) (http.RoundTripper, error) {
				return chserver.Transport{Handler: handler}, nil
			},
		}
		log.Info("embedded ClickHouse started", "path", engine.Path(), "library", engine.LibraryPath())
	} else {
		var err error
		opts, err = clickhouse.ParseDSN(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("clickhouse DSN: %w", err)
		}
	}
	opts.MaxOpenConns = cfg.MaxConns
	opts.MaxIdleConns = cfg.MaxConns
	opts.DialTimeout = cfg.DialTimeout
	conn, err := clickhouse.Open(opts)
	if err != nil {
		c.closeEngine()
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	c.Conn = conn
	return c, nil
}

// Embedded reports whether the client runs the in-process engine.
func (c *Client) Embedded() bool { return c.engine != nil }

// HTTPHandler is the embedded engine's ClickHouse HTTP interface, or nil
// for a server.
func (c *Client) HTTPHandler() http.Handler { return c.handler }

// ServeHTTPInterface exposes the embedded engine's HTTP interface on addr
// until ctx ends. addr must be a loopback address: the interface has no
// authentication.
func (c *Client) ServeHTTPInterface(ctx context.Context, addr string) (net.Addr, error) {
	if c.handler == nil {
		return nil, errors.New("--clickhouse-http-addr needs the embedded engine")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("clickhouse http addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("clickhouse http addr %s: only loopback addresses are allowed (the interface has no authentication)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("clickhouse http addr: %w", err)
	}
	srv := &http.Server{Handler: notFromBrowsers(c.handler), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			c.log.Warn("clickhouse http interface: shutdown", "err", err)
		}
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("clickhouse http interface stopped", "err", err)
		}
	}()
	c.log.Info("embedded ClickHouse HTTP interface listening", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// notFromBrowsers refuses what a web page could make a browser on this
// host send to the engine's HTTP interface, which has no authentication:
// loopback alone does not stop a page from posting SQL to it (a
// text/plain POST needs no CORS preflight), nor, through DNS rebinding,
// from reading the answers. Browsers send Origin with such requests and
// name the page's host in Host; ClickHouse clients do neither.
func notFromBrowsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
			http.Error(w, "requests from web pages are refused: the interface has no authentication", http.StatusForbidden)
			return
		}
		if !isLoopbackHost(r.Host) {
			http.Error(w, "Host "+r.Host+" is not a loopback address: connect to 127.0.0.1, [::1] or localhost", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close closes the pool and, for the embedded engine, releases it.
func (c *Client) Close() error {
	var err error
	if c.Conn != nil {
		err = c.Conn.Close()
	}
	c.closeEngine()
	return err
}

func (c *Client) closeEngine() {
	if c.engine != nil {
		c.engine.Close()
		c.engine = nil
	}
}
