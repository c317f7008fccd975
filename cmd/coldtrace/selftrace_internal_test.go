package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/coldtrace/coldtrace/internal/auth"
)

// Self-tracing continues a caller's trace only for callers who may write
// into the default tenant, where Coldtrace's own spans are stored.
func TestCallerTraceOnlyForTheDefaultTenant(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte(`tokens:
  - {token: ingest-token-0123456789, scopes: [ingest]}
  - {token: acme-ingest-token-0001, scopes: [ingest], tenant: acme}
  - {token: query-token-0123456789, scopes: [query]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(auth.Config{TokensFile: tokens})
	if err != nil {
		t.Fatal(err)
	}
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for _, c := range []struct {
		authn     *auth.Authenticator
		token     string
		continues bool
	}{
		{nil, "", true},
		{authn, "ingest-token-0123456789", true},
		{authn, "acme-ingest-token-0001", false},
		{authn, "query-token-0123456789", false},
		{authn, "", false},
	} {
		h := http.Header{"Traceparent": {parent}}
		if c.token != "" {
			h.Set("Authorization", "Bearer "+c.token)
		}
		ctx := callerTrace{authn: c.authn}.Extract(context.Background(), propagation.HeaderCarrier(h))
		if got := trace.SpanContextFromContext(ctx).IsValid(); got != c.continues {
			t.Errorf("token %q (auth %v): continues the caller's trace %v, want %v", c.token, c.authn != nil, got, c.continues)
		}
	}
}
