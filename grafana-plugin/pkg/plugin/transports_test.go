package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/datasourcetest"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/coldtrace/coldtrace/grafana-plugin/pkg/plugin"
)

// pluginAPI is what Grafana calls on a data source plugin; the in-process
// instance and both gRPC clients below implement it.
type pluginAPI interface {
	QueryData(context.Context, *backend.QueryDataRequest) (*backend.QueryDataResponse, error)
	CheckHealth(context.Context, *backend.CheckHealthRequest) (*backend.CheckHealthResult, error)
	CallResource(context.Context, *backend.CallResourceRequest, backend.CallResourceResponseSender) error
}

// pluginContext is what Grafana attaches to every call: over gRPC the
// plugin builds (and caches) its instance from these settings.
func pluginContext() backend.PluginContext {
	s := defaultSettings()
	s.Updated = time.Unix(1700000000, 0)
	return backend.PluginContext{OrgID: 1, PluginID: plugin.PluginID, DataSourceInstanceSettings: &s}
}

// transportQueries are one query of every type, and one that fails.
func transportQueries() []backend.DataQuery {
	models := []map[string]any{
		{"queryType": "trace", "traceId": seeded.GoldenTraceID},
		{"queryType": "search", "coldStart": true},
		{"queryType": "metrics", "metric": "coldstart_rate"},
		{"queryType": "functions"},
		{"queryType": "serviceMap"},
		{"queryType": "trace", "traceId": "ffffffffffffffffffffffffffffffff"},
	}
	qs := make([]backend.DataQuery, len(models))
	for i, m := range models {
		qs[i] = dataQuery(m)
		qs[i].RefID = fmt.Sprintf("Q%d", i)
	}
	return qs
}

// checkTransport runs every query type, the health check and a resource
// call through api and compares the answers with the in-process ones, so
// nothing is lost in protobuf and Arrow encoding.
func checkTransport(t *testing.T, api pluginAPI) {
	t.Helper()
	ctx := t.Context()
	req := &backend.QueryDataRequest{PluginContext: pluginContext(), Queries: transportQueries()}
	want, err := newDatasource(t, defaultSettings()).QueryData(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := api.QueryData(ctx, req)
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	for _, q := range req.Queries {
		w, g := want.Responses[q.RefID], got.Responses[q.RefID]
		// In process a success has no status; the protocol says 200.
		if w.Status == 0 {
			w.Status = backend.StatusOK
		}
		if (w.Error == nil) != (g.Error == nil) || (w.Error != nil && w.Error.Error() != g.Error.Error()) || w.Status != g.Status {
			t.Errorf("%s: error %v (status %d), want %v (status %d)", q.RefID, g.Error, g.Status, w.Error, w.Status)
			continue
		}
		if w.Error == nil && len(g.Frames) == 0 {
			t.Errorf("%s: no frames", q.RefID)
		}
		if diff := cmp.Diff(w.Frames, g.Frames, data.FrameTestCompareOptions()...); diff != "" {
			t.Errorf("%s: frames differ (-in-process +transport):\n%s", q.RefID, diff)
		}
	}

	health, err := api.CheckHealth(ctx, &backend.CheckHealthRequest{PluginContext: pluginContext()})
	if err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	if health.Status != backend.HealthStatusOk || !strings.Contains(health.Message, fmt.Sprintf("%d spans stored", seeded.Spans)) {
		t.Errorf("CheckHealth = %v %q", health.Status, health.Message)
	}

	var res *backend.CallResourceResponse
	err = api.CallResource(ctx, &backend.CallResourceRequest{
		PluginContext: pluginContext(), Path: "functions", Method: "GET",
		URL: fmt.Sprintf("functions?from=%d&to=%d", seeded.From.UnixMilli(), seeded.To.UnixMilli()),
	}, backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { res = r; return nil }))
	if err != nil {
		t.Fatalf("CallResource: %v", err)
	}
	if res == nil || res.Status != 200 || strings.Join(optionValues(t, res.Body), ",") != "checkout,report,thumbnail" {
		t.Errorf("CallResource functions = %+v", res)
	}
}

// TestOverGRPC serves the plugin with the SDK's standalone gRPC server
// and calls it with the SDK's pluginv2 client: the protocol Grafana
// speaks, in one process.
func TestOverGRPC(t *testing.T) {
	tp, err := datasourcetest.Manage(plugin.NewDatasource, datasourcetest.ManageOpts{Address: "127.0.0.1:" + freePort(t)})
	if err != nil {
		t.Fatalf("datasourcetest.Manage: %v", err)
	}
	t.Cleanup(func() { _ = tp.Shutdown() })
	checkTransport(t, tp.Client)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestBinaryOverGoPlugin builds the plugin's executable and starts it the
// way Grafana's plugin manager does: hashicorp/go-plugin with Grafana's
// handshake, then the data, diagnostics and resource gRPC services.
func TestBinaryOverGoPlugin(t *testing.T) {
	bin := filepath.Join(t.TempDir(), fmt.Sprintf("gpx_coldtrace_%s_%s", runtime.GOOS, runtime.GOARCH))
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..") // the module's pkg/, where main.go is
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"data":        &grpcplugin.DataGRPCPlugin{},
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
			},
		},
		Cmd:              exec.Command(bin),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		SyncStdout:       io.Discard,
		SyncStderr:       os.Stderr,
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("starting the plugin: %v", err)
	}
	if v := client.NegotiatedVersion(); v != grpcplugin.ProtocolVersion {
		t.Fatalf("negotiated protocol %d, want %d", v, grpcplugin.ProtocolVersion)
	}
	dispense := func(name string) any {
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		return raw
	}
	checkTransport(t, &goPluginAPI{
		data:        dispense("data").(grpcplugin.DataClient),
		diagnostics: dispense("diagnostics").(grpcplugin.DiagnosticsClient),
		resource:    dispense("resource").(grpcplugin.ResourceClient),
	})
}

// goPluginAPI calls a plugin process through the gRPC clients go-plugin
// dispenses, converting with the SDK's protobuf mappings as Grafana does.
type goPluginAPI struct {
	data        grpcplugin.DataClient
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
}

func (p *goPluginAPI) QueryData(ctx context.Context, r *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp, err := p.data.QueryData(ctx, backend.ToProto().QueryDataRequest(r))
	if err != nil {
		return nil, err
	}
	return backend.FromProto().QueryDataResponse(resp)
}

func (p *goPluginAPI) CheckHealth(ctx context.Context, r *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	resp, err := p.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(r.PluginContext)})
	if err != nil {
		return nil, err
	}
	return backend.FromProto().CheckHealthResponse(resp), nil
}

func (p *goPluginAPI) CallResource(ctx context.Context, r *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	stream, err := p.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(r))
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := sender.Send(backend.FromProto().CallResourceResponse(msg)); err != nil {
			return err
		}
	}
}
