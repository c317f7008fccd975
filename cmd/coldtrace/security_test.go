package main_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "coldtrace-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestAuthAndTLS runs coldtrace up with a token and TLS on every
// listener, and checks each refuses requests without the token and
// serves them with it.
func TestAuthAndTLS(t *testing.T) {
	const token = "s3cret-token-for-tests"
	certFile, keyFile, pool := selfSigned(t)
	grpcAddr, otlpHTTP, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	p := start(t, nil, "up", "--data-dir", t.TempDir(), "--auth-token", token, "--tls-cert", certFile, "--tls-key", keyFile,
		"--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", otlpHTTP, "--http-addr", httpAddr, "--gateway-addr", freeAddr(t))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + httpAddr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) || p.hasExited() {
			t.Fatalf("coldtrace did not come up over TLS:\n%s", p.out.String())
		}
	}
	get := func(path, tok string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"/api/v1/services", "", 401},
		{"/api/v1/services", "wrong-token-wrong-token", 401},
		{"/api/v1/services", token, 200},
		{"/api/services", "", 401}, // Jaeger-compatible API
		{"/metrics", "", 401},
		{"/metrics", token, 200},
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/", "", 200}, // the web UI's page itself is public
	} {
		if got := get(c.path, c.token); got != c.want {
			t.Errorf("GET %s (token %q): %d, want %d", c.path, c.token, got, c.want)
		}
	}
	// Plain HTTP to a TLS listener is refused.
	if resp, err := http.Get("http://" + httpAddr + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP served on a TLS listener")
	}

	ctx := context.Background()
	// send exports one span and returns the exporter's own error.
	send := func(exp sdktrace.SpanExporter, name string) error {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
			sdktrace.WithResource(resource.NewWithAttributes("", attribute.String("service.name", name))))
		_, span := tp.Tracer("t").Start(ctx, "op")
		span.End()
		defer exp.Shutdown(ctx)
		return exp.ExportSpans(ctx, rec.Ended())
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool})
	noRetryG := otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false})
	noRetryH := otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false})
	g, _ := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithTLSCredentials(creds), noRetryG)
	if err := send(g, "anonymous-grpc"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Errorf("gRPC without a token: %v", err)
	}
	g, _ = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithTLSCredentials(creds), noRetryG,
		otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + token}))
	if err := send(g, "authed-grpc"); err != nil {
		t.Errorf("gRPC with the token: %v", err)
	}
	tlsCfg := &tls.Config{RootCAs: pool}
	h, _ := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(otlpHTTP), otlptracehttp.WithTLSClientConfig(tlsCfg), noRetryH)
	if err := send(h, "anonymous-http"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("HTTP without a token: %v", err)
	}
	// The refusal is OTLP's: a google.rpc.Status in the request's encoding.
	resp, err := client.Post("https://"+otlpHTTP+"/v1/traces", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	refusal, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(refusal, &st) != nil || resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/json" || st.Code != 16 || st.Message != "unauthorized" {
		t.Errorf("OTLP/HTTP refusal: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), refusal)
	}
	h, _ = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(otlpHTTP), otlptracehttp.WithTLSClientConfig(tlsCfg), noRetryH,
		otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err := send(h, "authed-http"); err != nil {
		t.Errorf("HTTP with the token: %v", err)
	}
	// Both authenticated services arrive; neither anonymous one does.
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest("GET", base+"/api/v1/services?start="+fmt.Sprint(time.Now().Add(-time.Hour).UnixNano()), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		body = b.String()
		if strings.Contains(body, "authed-grpc") && strings.Contains(body, "authed-http") {
			break
		}
	}
	if !strings.Contains(body, "authed-grpc") || !strings.Contains(body, "authed-http") || strings.Contains(body, "anonymous") {
		t.Errorf("services: %s", body)
	}
}

// TestTenantIsolation stores spans of two tenants (X-Scope-OrgID) and
// checks neither tenant sees the other's traces, services or function
// stats, through the REST and Jaeger APIs.
func TestTenantIsolation(t *testing.T) {
	otlpHTTP, httpAddr := freeAddr(t), freeAddr(t)
	p := start(t, nil, "up", "--data-dir", t.TempDir(), "--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", otlpHTTP,
		"--http-addr", httpAddr, "--gateway-addr", freeAddr(t))
	waitHTTP(t, p, "http://"+httpAddr+"/readyz")
	ctx := context.Background()
	traceIDs := map[string]string{}
	for _, tenantID := range []string{"acme", "globex"} {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(otlpHTTP), otlptracehttp.WithInsecure(),
			otlptracehttp.WithHeaders(map[string]string{"X-Scope-OrgID": tenantID}))
		if err != nil {
			t.Fatal(err)
		}
		fn := tenantID + "-fn"
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(resource.NewWithAttributes("",
			attribute.String("service.name", fn), attribute.String("faas.name", fn))))
		_, span := tp.Tracer("t").Start(ctx, fn, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("faas.trigger", "http"), attribute.Bool("faas.coldstart", true)))
		span.End()
		if err := exp.ExportSpans(ctx, rec.Ended()); err != nil {
			t.Fatal(err)
		}
		traceIDs[tenantID] = span.SpanContext().TraceID().String()
	}
	get := func(tenantID, path string) (int, string) {
		if tenantID == "" {
			return getWith(t, "http://"+httpAddr+path)
		}
		return getWith(t, "http://"+httpAddr+path, "X-Scope-OrgID", tenantID)
	}
	// Wait until both are stored (spool, then ClickHouse).
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, a := get("acme", "/api/v1/services")
		_, g := get("globex", "/api/v1/services")
		if strings.Contains(a, "acme-fn") && strings.Contains(g, "globex-fn") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans not visible: acme %s / globex %s", a, g)
		}
	}
	for own, other := range map[string]string{"acme": "globex", "globex": "acme"} {
		for _, path := range []string{"/api/v1/services", "/api/v1/traces", "/api/v1/functions", "/api/services",
			"/api/v1/traces/" + traceIDs[own], "/api/traces/" + traceIDs[own]} {
			code, body := get(own, path)
			if code != 200 || !strings.Contains(body, own+"-fn") {
				t.Errorf("tenant %s, %s: %d, own data missing: %.300s", own, path, code, body)
			}
			if strings.Contains(body, other+"-fn") {
				t.Errorf("tenant %s sees tenant %s's data at %s: %.300s", own, other, path, body)
			}
		}
		if code, body := get(own, "/api/v1/traces/"+traceIDs[other]); code != 404 {
			t.Errorf("tenant %s reading tenant %s's trace: %d %.200s", own, other, code, body)
		}
	}
	// Without a tenant header: the default tenant, which holds neither.
	if _, body := get("", "/api/v1/services"); strings.Contains(body, "acme-fn") || strings.Contains(body, "globex-fn") {
		t.Errorf("the default tenant sees tenants' services: %s", body)
	}
}
