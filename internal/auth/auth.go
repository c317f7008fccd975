// Package auth checks bearer tokens with scopes on every Coldtrace
// listener: HTTP middleware and a gRPC interceptor. Tokens come from
// --auth-token (every scope) or a tokens file. Comparison is constant
// time, and a refusal never says whether the token was missing, unknown
// or lacking the scope.
package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/coldtrace/coldtrace/internal/tenant"
)

// Scope is what a token may do.
type Scope string

const (
	// ScopeIngest sends spans (OTLP).
	ScopeIngest Scope = "ingest"
	// ScopeQuery reads traces and analytics (REST API, Jaeger API, web UI,
	// Grafana).
	ScopeQuery Scope = "query"
	// ScopeInvoke calls functions (HTTP trigger and Lambda Invoke API).
	ScopeInvoke Scope = "invoke"
	// ScopeAdmin manages functions and reads /metrics; it implies every
	// other scope.
	ScopeAdmin Scope = "admin"
)

var allScopes = []Scope{ScopeIngest, ScopeQuery, ScopeInvoke, ScopeAdmin}

// Config selects the tokens.
type Config struct {
	// Token grants every scope (for a single user).
	Token string
	// TokensFile is a YAML file of tokens with scopes (see docs).
	TokensFile string
}

// Enabled reports whether any token is configured.
func (c Config) Enabled() bool { return c.Token != "" || c.TokensFile != "" }

// Validate reports configuration errors.
func (c Config) Validate() error {
	if c.Token != "" && len(c.Token) < 16 {
		return errors.New("auth: --auth-token must be at least 16 characters")
	}
	return nil
}

// unknownField matches yaml's error for a key the format does not have.
var unknownField = regexp.MustCompile(`field (\S+) not found in type struct \{.*\}`)

// tokensFile is the on-disk format:
//
//	tokens:
//	  - name: ci-ingest          # for logs only
//	    sha256: 5e88...          # hex SHA-256 of the token (or token: plain)
//	    scopes: [ingest]
//	    tenant: acme             # optional: the token acts for this tenant only
type tokensFile struct {
	Tokens []struct {
		Name   string   `yaml:"name"`
		Token  string   `yaml:"token"`
		SHA256 string   `yaml:"sha256"`
		Scopes []string `yaml:"scopes"`
		Tenant string   `yaml:"tenant"`
	} `yaml:"tokens"`
}

type entry struct {
	name   string
	hash   [sha256.Size]byte
	scopes []Scope
	tenant string
}

// Authenticator checks tokens. A nil *Authenticator allows everything.
type Authenticator struct {
	entries []entry
}

// New loads the tokens; it returns nil (no authentication) when cfg has
// none.
func New(cfg Config) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, nil
	}
	a := &Authenticator{}
	if cfg.Token != "" {
		a.entries = append(a.entries, entry{name: "auth-token", hash: sha256.Sum256([]byte(cfg.Token)), scopes: allScopes})
	}
	if cfg.TokensFile != "" {
		b, err := os.ReadFile(cfg.TokensFile)
		if err != nil {
			return nil, fmt.Errorf("auth: tokens file: %w", err)
		}
		var f tokensFile
		// Strict: a misspelt "tenant" would otherwise make a token that
		// acts for every tenant.
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			// yaml names the Go type of an unknown key's parent; say
			// what the file may hold instead.
			msg := unknownField.ReplaceAllString(err.Error(), "unknown key $1 (a token takes name, token or sha256, scopes, tenant)")
			return nil, fmt.Errorf("auth: tokens file %s: %s", cfg.TokensFile, msg)
		}
		for i, t := range f.Tokens {
			e := entry{name: t.Name, tenant: t.Tenant}
			if e.name == "" {
				e.name = fmt.Sprintf("token %d", i+1)
			}
			if err := tenant.Validate(t.Tenant); err != nil {
				return nil, fmt.Errorf("auth: %s: %w", e.name, err)
			}
			switch {
			case t.SHA256 != "" && t.Token == "":
				h, err := hex.DecodeString(t.SHA256)
				if err != nil || len(h) != sha256.Size {
					return nil, fmt.Errorf("auth: %s: sha256 must be 64 hex digits", e.name)
				}
				copy(e.hash[:], h)
			case t.Token != "" && t.SHA256 == "":
				if len(t.Token) < 16 {
					return nil, fmt.Errorf("auth: %s: token must be at least 16 characters", e.name)
				}
				e.hash = sha256.Sum256([]byte(t.Token))
			default:
				return nil, fmt.Errorf("auth: %s: give exactly one of token or sha256", e.name)
			}
			if len(t.Scopes) == 0 {
				return nil, fmt.Errorf("auth: %s: no scopes (use ingest, query, invoke, admin)", e.name)
			}
			for _, s := range t.Scopes {
				if !slices.Contains(allScopes, Scope(s)) {
					return nil, fmt.Errorf("auth: %s: unknown scope %q (use ingest, query, invoke, admin)", e.name, s)
				}
				e.scopes = append(e.scopes, Scope(s))
			}
			if e.tenant != "" && slices.Contains(e.scopes, ScopeAdmin) {
				// Functions, their registry and /metrics belong to no tenant.
				return nil, fmt.Errorf("auth: %s: the admin scope cannot be bound to a tenant: functions and /metrics are shared by all tenants", e.name)
			}
			for _, prev := range a.entries {
				if prev.hash == e.hash {
					return nil, fmt.Errorf("auth: %s: the same token as %s", e.name, prev.name)
				}
			}
			a.entries = append(a.entries, e)
		}
	}
	if len(a.entries) == 0 {
		return nil, errors.New("auth: the tokens file holds no tokens")
	}
	return a, nil
}

// ErrUnauthorized is the one answer to every failed check.
var ErrUnauthorized = errors.New("unauthorized")

// Identity is who a valid token belongs to.
type Identity struct {
	Name string
	// Tenant, when set, is the only tenant the token may act for.
	Tenant string
}

// Check returns the identity of token if it grants scope. Every
// configured token is compared, in constant time, whatever matches.
func (a *Authenticator) Check(token string, scope Scope) (Identity, error) {
	if a == nil {
		return Identity{}, nil
	}
	h := sha256.Sum256([]byte(token))
	var match *entry
	for i := range a.entries {
		e := &a.entries[i]
		if subtle.ConstantTimeCompare(h[:], e.hash[:]) == 1 && match == nil {
			match = e
		}
	}
	if token == "" || match == nil || !(slices.Contains(match.scopes, scope) || slices.Contains(match.scopes, ScopeAdmin)) {
		return Identity{}, ErrUnauthorized
	}
	return Identity{Name: match.name, Tenant: match.tenant}, nil
}

// Bearer extracts the token of an Authorization header value.
func Bearer(v string) string { return bearer(v) }

func bearer(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// resolveTenant applies a token's tenant binding to the requested tenant:
// a bound token may only name its own tenant (or none, meaning its own).
func resolveTenant(id Identity, requested string) (string, error) {
	if id.Tenant == "" {
		return requested, nil
	}
	if requested != "" && requested != id.Tenant {
		return "", ErrUnauthorized
	}
	return id.Tenant, nil
}

// HTTP wraps next so it runs only for requests whose bearer token grants
// scope. It also puts the request's tenant (the X-Scope-OrgID header,
// bound by the token when the token names one) in the context. A nil
// Authenticator only does the tenant part.
func (a *Authenticator) HTTP(scope Scope, next http.Handler) http.Handler {
	return a.HTTPRefusing(scope, next, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
}

// HTTPRefusing is HTTP with the refusal written by refuse, for a protocol
// that says how errors look (OTLP/HTTP: a google.rpc.Status). The
// WWW-Authenticate header is set before it is called.
func (a *Authenticator) HTTPRefusing(scope Scope, next http.Handler, refuse func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Check(bearer(r.Header.Get("Authorization")), scope)
		var t string
		if err == nil {
			t, err = resolveTenant(id, r.Header.Get(tenant.Header))
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="coldtrace"`)
			refuse(w, r)
			return
		}
		if t != "" {
			// Handlers downstream may read the header themselves: make it
			// say the tenant the token is bound to.
			r = r.WithContext(tenant.NewContext(r.Context(), t))
			r.Header.Set(tenant.Header, t)
		}
		next.ServeHTTP(w, r)
	})
}

// GRPCUnary is the gRPC counterpart of HTTP: the token comes from the
// "authorization" metadata and the tenant from "x-scope-orgid".
func (a *Authenticator) GRPCUnary(scope Scope) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		first := func(k string) string {
			if v := md.Get(k); len(v) > 0 {
				return v[0]
			}
			return ""
		}
		id, err := a.Check(bearer(first("authorization")), scope)
		var t string
		if err == nil {
			t, err = resolveTenant(id, first(strings.ToLower(tenant.Header)))
		}
		if err != nil {
			return nil, status.Error(codes.Unauthenticated, "unauthorized")
		}
		if t != "" {
			ctx = tenant.NewContext(ctx, t)
		}
		return handler(ctx, req)
	}
}
