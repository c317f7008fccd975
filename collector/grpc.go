package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/coldtrace/coldtrace/internal/consumer"
	"github.com/coldtrace/coldtrace/internal/tenant"
)

// traceServiceDesc is OTLP's TraceService with a handler that takes the
// request as raw bytes (see rawMessage).
var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(rawMessage)
			if err := dec(in); err != nil {
				return nil, err
			}
			r := srv.(*Receiver)
			if interceptor == nil {
				return r.exportGRPC(ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/opentelemetry.proto.collector.trace.v1.TraceService/Export"}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return r.exportGRPC(ctx, req.(*rawMessage))
			})
		},
	}},
	Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

func (r *Receiver) newGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{
		grpc.ForceServerCodecV2(newRawCodec()),
		grpc.MaxRecvMsgSize(int(r.cfg.MaxRequestBytes)),
	}, opts...)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&traceServiceDesc, r)
	return srv
}

func (r *Receiver) exportGRPC(ctx context.Context, in *rawMessage) (*rawMessage, error) {
	// An authenticating interceptor may already have set the tenant (a
	// token bound to one); otherwise the metadata names it.
	if md, ok := metadata.FromIncomingContext(ctx); ok && tenant.FromContext(ctx) == "" {
		if v := md.Get(tenantMetadataKey); len(v) > 0 {
			ctx = tenant.NewContext(ctx, v[0])
		}
	}
	// Checked whoever set it: the authenticating interceptor passes an
	// unbound token's tenant on as the sender named it.
	if err := tenant.Validate(tenant.FromContext(ctx)); err != nil {
		return nil, status.Error(codes.InvalidArgument, strings.ToValidUTF8(tenantMetadataKey+": "+err.Error(), "\uFFFD"))
	}
	release, err := r.admit(ctx, len(in.b))
	if err != nil {
		return nil, grpcStatus(err)
	}
	defer release()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(in.b); err != nil {
		r.stats.RequestsMalformed.Add(1)
		return nil, status.Error(codes.InvalidArgument, strings.ToValidUTF8("malformed OTLP protobuf ExportTraceServiceRequest: "+err.Error(), "\uFFFD"))
	}
	resp, err := r.export(ctx, req)
	if err != nil {
		return nil, grpcStatus(err)
	}
	b, err := resp.MarshalProto()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode response: %v", err)
	}
	return &rawMessage{b: b}, nil
}

// tenantMetadataKey is tenant.Header as gRPC metadata (lower case).
const tenantMetadataKey = "x-scope-orgid"

// grpcStatus maps a consume error to OTLP's gRPC codes: retryable
// failures are UNAVAILABLE or RESOURCE_EXHAUSTED with RetryInfo.
func grpcStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	e := consumer.Classify(err)
	var code codes.Code
	switch e.Kind {
	case consumer.KindPermanent:
		return status.Error(codes.InvalidArgument, e.Error())
	case consumer.KindUnauthenticated:
		return status.Error(codes.Unauthenticated, e.Error())
	case consumer.KindThrottled:
		code = codes.ResourceExhausted
	default:
		code = codes.Unavailable
	}
	st := status.New(code, e.Error())
	if e.RetryAfter > 0 {
		if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); derr == nil {
			st = withInfo
		}
	}
	return st.Err()
}

// retryAfterSeconds renders a Retry-After header value.
func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprint(max(s, 1))
}
