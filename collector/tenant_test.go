package collector

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/coldtrace/coldtrace/internal/auth"
	"github.com/coldtrace/coldtrace/internal/consumer"
)

// The tenant is checked over gRPC whoever put it in the context: the
// authenticating interceptor (installed with or without tokens) passes the
// sender's x-scope-orgid on for an unbound token.
func TestGRPCTenantIsCheckedBehindTheAuthInterceptor(t *testing.T) {
	var none *auth.Authenticator // no tokens: every request passes, the tenant as named
	var consumed atomic.Int32
	cfg := DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", ""
	r, err := New(cfg, consumer.TracesFunc(func(context.Context, ptrace.Traces) error { consumed.Add(1); return nil }), nil,
		WithGRPCServerOptions(grpc.UnaryInterceptor(none.GRPCUnary(auth.ScopeIngest))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(ctx)
	conn, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON([]byte(seedJSON)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"acme ", strings.Repeat("t", 200)} {
		_, err := ptraceotlp.NewGRPCClient(conn).Export(metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", bad), req)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("tenant %.20q: %v, want InvalidArgument", bad, err)
		}
	}
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", "acme"), req); err != nil {
		t.Errorf("tenant acme: %v", err)
	}
	if n := consumed.Load(); n != 1 {
		t.Errorf("%d requests consumed, want the 1 with a valid tenant", n)
	}
}
