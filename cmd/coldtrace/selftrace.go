package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"

	"github.com/coldtrace/coldtrace/collector"
	"github.com/coldtrace/coldtrace/internal/auth"
	"github.com/coldtrace/coldtrace/internal/selftrace"
)

// selfTraceOptions are the self-tracing flags of a role.
type selfTraceOptions struct {
	cfg   selftrace.Config
	token string
	// tracing is set by start.
	tracing *selftrace.Tracing
}

// register adds the flags; hasReceiver says the role runs OTLP receivers,
// whose HTTP address is then the default endpoint.
func (o *selfTraceOptions) register(fs *pflag.FlagSet, hasReceiver bool) {
	endpointHelp := "OTLP/HTTP base URL of Coldtrace's own spans, e.g. http://collector:4318"
	if hasReceiver {
		endpointHelp += " (default: this process's OTLP/HTTP receiver)"
	}
	fs.BoolVar(&o.cfg.Enabled, "self-tracing", false, "trace Coldtrace itself (service "+selftrace.ServiceName+"): REST API requests with their ClickHouse queries, and OTLP receive requests")
	fs.StringVar(&o.cfg.Endpoint, "self-tracing-endpoint", "", endpointHelp)
	fs.Float64Var(&o.cfg.SampleRatio, "self-tracing-sample-ratio", 1, "share of requests traced when the caller sent no sampling decision")
	fs.StringVar(&o.token, "self-tracing-token", "", "bearer token (ingest scope) sent with Coldtrace's own spans (default: --auth-token)")
}

// start starts exporting. receiverHTTPAddr is the role's OTLP/HTTP
// listen address ("" when it has none), the default endpoint; sec may
// supply the token and, for that default, the TLS trust.
func (o *selfTraceOptions) start(ctx context.Context, role, receiverHTTPAddr string, sec *securityOptions) error {
	cfg := o.cfg
	cfg.Role, cfg.Version = role, currentBuild().Version
	if !cfg.Enabled {
		o.tracing = &selftrace.Tracing{}
		return nil
	}
	if cfg.Endpoint == "" && receiverHTTPAddr != "" {
		host, port, err := net.SplitHostPort(receiverHTTPAddr)
		if err != nil || port == "0" {
			return fmt.Errorf("self-tracing: cannot send to --otlp-http-addr %q: give --self-tracing-endpoint", receiverHTTPAddr)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		scheme := "http"
		if sec != nil && sec.tls != nil {
			trust, err := trustCertificate(sec.tlsCert)
			if err != nil {
				return fmt.Errorf("self-tracing: %w", err)
			}
			scheme, cfg.TLS = "https", trust
		}
		cfg.Endpoint = scheme + "://" + net.JoinHostPort(host, port)
	}
	token := o.token
	if token == "" && sec != nil {
		token = sec.auth.Token
	}
	if sec != nil && sec.authn != nil && receiverHTTPAddr != "" && o.cfg.Endpoint == "" {
		// Sending to this process's own receiver: a token it refuses would
		// lose every span, with only an ERROR line to say so.
		switch id, err := sec.authn.Check(token, auth.ScopeIngest); {
		case token == "":
			return errors.New("self-tracing: this collector requires a token: give --self-tracing-token (ingest scope)")
		case err != nil:
			return errors.New("self-tracing: --self-tracing-token is not one of this collector's tokens with the ingest scope")
		case id.Tenant != "":
			// Coldtrace's own spans, about every tenant's requests, belong
			// to the default tenant.
			return fmt.Errorf("self-tracing: --self-tracing-token is bound to tenant %q; give one bound to no tenant", id.Tenant)
		}
	}
	if token != "" {
		cfg.Headers = map[string]string{"Authorization": "Bearer " + token}
	}
	t, err := selftrace.Start(ctx, cfg)
	if err != nil {
		return err
	}
	o.tracing = t
	return nil
}

// receiverOptions trace OTLP receive requests, except the self-tracing
// exporter's own (see selftrace.Header). They go before the security
// options so refused requests are traced too.
func (o *selfTraceOptions) receiverOptions(authn *auth.Authenticator) []collector.Option {
	if !o.tracing.Enabled() {
		return nil
	}
	tp, prop := o.tracing.TracerProvider(), callerTrace{authn: authn}
	return []collector.Option{
		collector.WithGRPCServerOptions(grpc.StatsHandler(otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop)))),
		collector.WithHTTPMiddleware(otelhttp.NewMiddleware("POST /v1/traces",
			otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop),
			otelhttp.WithFilter(func(r *http.Request) bool { return !selftrace.IsSelf(r) }))),
	}
}

// callerTrace continues a caller's trace (W3C traceparent) only for
// callers allowed to write into the default tenant, where Coldtrace's own
// spans go: anyone without auth; with it, a valid ingest token bound to
// no tenant. A refused request or a tenant's token starts a trace of its
// own, so it cannot add spans to a trace of its choosing.
type callerTrace struct{ authn *auth.Authenticator }

func (p callerTrace) Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	if p.authn != nil {
		if id, err := p.authn.Check(auth.Bearer(c.Get("authorization")), auth.ScopeIngest); err != nil || id.Tenant != "" {
			return ctx
		}
	}
	return propagation.TraceContext{}.Extract(ctx, c)
}

func (callerTrace) Inject(ctx context.Context, c propagation.TextMapCarrier) {
	propagation.TraceContext{}.Inject(ctx, c)
}

func (callerTrace) Fields() []string { return propagation.TraceContext{}.Fields() }
