package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"

	"github.com/coldtrace/coldtrace/collector"
	"github.com/coldtrace/coldtrace/internal/auth"
	"github.com/coldtrace/coldtrace/query/server"
)

// securityOptions are the authentication and TLS flags, applied to every
// listener of a role.
type securityOptions struct {
	auth            auth.Config
	tlsCert, tlsKey string
	authn           *auth.Authenticator
	tls             *tls.Config
}

// register adds the flags; listeners says what the role serves, for the
// help.
func (o *securityOptions) register(fs *pflag.FlagSet, listeners string) {
	fs.StringVar(&o.auth.Token, "auth-token", "", "require this bearer token (every scope, at least 16 characters) on "+listeners)
	fs.StringVar(&o.auth.TokensFile, "auth-tokens-file", "", "YAML file of tokens (at least 16 characters each) with scopes (ingest, query, invoke, admin) and optional tenants, required on "+listeners+"; see docs/reliability.md")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate: serve "+listeners+" over TLS (with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
}

// load reads the tokens and the certificate.
func (o *securityOptions) load() error {
	a, err := auth.New(o.auth)
	if err != nil {
		return err
	}
	t, err := auth.TLSConfig(o.tlsCert, o.tlsKey)
	if err != nil {
		return err
	}
	o.authn, o.tls = a, t
	return nil
}

// receiverOptions authenticate OTLP with the ingest scope and serve it
// over TLS when configured.
func (o *securityOptions) receiverOptions() []collector.Option {
	return []collector.Option{
		collector.WithGRPCServerOptions(grpc.UnaryInterceptor(o.authn.GRPCUnary(auth.ScopeIngest))),
		collector.WithHTTPMiddleware(func(h http.Handler) http.Handler {
			return o.authn.HTTPRefusing(auth.ScopeIngest, h, collector.WriteUnauthorized)
		}),
		collector.WithTLS(o.tls),
	}
}

// listener wraps ln in TLS when configured.
func (o *securityOptions) listener(ln net.Listener) net.Listener {
	if o == nil || o.tls == nil {
		return ln
	}
	return tls.NewListener(ln, o.tls)
}

// apiHandler requires the query scope on the APIs and leaves the web UI's
// static files public (the UI sends the token with its API calls).
func (o *securityOptions) apiHandler(h http.Handler) http.Handler {
	if o == nil {
		return h
	}
	protected := o.authn.HTTPRefusing(auth.ScopeQuery, h, server.WriteUnauthorized)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			protected.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
