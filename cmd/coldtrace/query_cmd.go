package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/selftrace"
	"github.com/coldtrace/coldtrace/query/api"
	"github.com/coldtrace/coldtrace/query/reader"
	"github.com/coldtrace/coldtrace/query/server"
)

// webUI returns the web UI's static-file handler; nil until the UI is
// built into the binary (a file of the ui wiring sets it in init).
var webUI func() http.Handler

// queryOptions are the REST API and web UI flags.
type queryOptions struct {
	httpAddr string
	api      server.Config
	prices   api.Prices
	// admin, when set, exports the API's metrics, and serves /metrics,
	// /healthz and /readyz on this listener when it has no address of its
	// own.
	admin *admin
	// security authenticates the APIs and adds TLS (nil: neither).
	security *securityOptions
	// tracing, when enabled, traces the API's requests and queries.
	tracing *selftrace.Tracing
}

func (o *queryOptions) register(fs *pflag.FlagSet, host string) {
	def, prices := server.DefaultConfig(), reader.DefaultPrices()
	fs.StringVar(&o.httpAddr, "http-addr", host+":7070", "REST API (/api/v1) and web UI listen address")
	fs.DurationVar(&o.api.DefaultWindow, "query-default-window", def.DefaultWindow, "time window of API requests that give no start")
	fs.DurationVar(&o.api.MaxWindow, "query-max-window", def.MaxWindow, "longest time window an API request may ask for")
	fs.DurationVar(&o.api.QueryTimeout, "query-timeout", def.QueryTimeout, "time limit of one API request's ClickHouse queries")
	fs.IntVar(&o.api.MaxLimit, "query-max-limit", def.MaxLimit, "largest limit parameter the API accepts (traces, instances, values per page)")
	fs.DurationVar(&o.api.StalledClientTimeout, "query-stalled-client-timeout", def.StalledClientTimeout, "cut off an API client that takes no bytes of an answer for this long (a stalled stream holds a ClickHouse connection)")
	fs.Float64Var(&o.prices.PerGBSecond, "price-per-gb-second", prices.PerGBSecond, "USD per GB-second of billed duration, for cost estimates (the default is AWS Lambda x86's price)")
	fs.Float64Var(&o.prices.PerMillionRequests, "price-per-million-requests", prices.PerMillionRequests, "USD per million invocations, for cost estimates (the default is AWS Lambda's price)")
}

// url is where a browser on this host finds the web UI.
func (o *queryOptions) url() string {
	host, port, err := net.SplitHostPort(o.httpAddr)
	if err != nil {
		return o.httpAddr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if o.security != nil && o.security.tls != nil {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}

func (o *queryOptions) validate() error {
	var errs []error
	if o.prices.PerGBSecond < 0 || o.prices.PerMillionRequests < 0 {
		errs = append(errs, errors.New("--price-per-gb-second and --price-per-million-requests must not be negative"))
	}
	if _, _, err := net.SplitHostPort(o.httpAddr); err != nil {
		errs = append(errs, fmt.Errorf("--http-addr: %w", err))
	}
	return errors.Join(append(errs, o.api.Validate())...)
}

// apiReadTimeout bounds how long a request to the REST API and web UI,
// headers and body, may take to arrive. Every route is a GET that reads no
// body (so this is the headers' 10 s and some slack), but Go reads up to
// 256 KiB of an unread body before answering: without a bound a client
// that announces one and stalls holds its connection and goroutine,
// unanswered, for as long as it likes.
const apiReadTimeout = 30 * time.Second

// startQuery serves the REST API and web UI; the returned func stops it.
func startQuery(ctx context.Context, o *queryOptions, client *chclient.Client, so schema.Options, log *slog.Logger) (func(context.Context) error, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg := o.api
	cfg.Version = currentBuild().Version
	cfg.Embedded, cfg.Database = client.Embedded(), client.Database
	if webUI != nil {
		cfg.UI = webUI()
	}
	var readerOpts []reader.Option
	if o.tracing.Enabled() {
		cfg.TracerProvider = o.tracing.TracerProvider()
		readerOpts = append(readerOpts, reader.WithTracerProvider(cfg.TracerProvider))
	}
	srv, err := server.New(cfg, reader.New(client, so, o.prices, readerOpts...), log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("REST API: %w", err)
	}
	var h http.Handler = o.security.apiHandler(srv)
	if o.admin != nil {
		o.admin.collect(srv.Metrics()...)
		if o.admin.addr == "" {
			h = o.admin.withAdmin(h)
		}
	}
	ln = o.security.listener(ln)
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: apiReadTimeout, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("REST API stopped", "err", err)
		}
	}()
	log.Info("REST API listening", "addr", ln.Addr().String(), "ui", cfg.UI != nil)
	return hs.Shutdown, nil
}
