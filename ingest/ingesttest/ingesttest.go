// Package ingesttest runs a real ingest stack for tests: OTLP receivers on
// loopback ports, the ingest pipeline, and ClickHouse (the embedded engine
// or COLDTRACE_TEST_CLICKHOUSE_DSN) with a fresh, migrated database.
package ingesttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/collector"
	"github.com/coldtrace/coldtrace/ingest"
	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// Stack is a running ingest stack.
type Stack struct {
	Client   *chclient.Client
	Schema   schema.Options
	Pipeline *ingest.Pipeline
	Receiver *collector.Receiver
	// GRPCAddr and HTTPAddr are the receivers' host:port.
	GRPCAddr, HTTPAddr string
}

// Options adjust the stack. By default a request is acknowledged once its
// spans are inserted, so a test can read them right after exporting.
type Options struct {
	// Spool runs ingest with a write-ahead spool in a temporary directory
	// (as coldtrace does by default); use Stack.WaitStored before reading.
	Spool     bool
	Collector func(*collector.Config)
	Ingest    func(*ingest.Config)
}

// Start starts a stack that stops when the test ends.
func Start(t testing.TB, opts ...Options) *Stack {
	t.Helper()
	client := chtest.Client(t)
	so := schema.Options{Database: client.Database, Retention: 30 * 24 * time.Hour}
	ctx := context.Background()
	if err := schema.Migrate(ctx, client, so, nil); err != nil {
		t.Fatal(err)
	}
	icfg := ingest.DefaultConfig()
	icfg.BatchAge = 20 * time.Millisecond
	icfg.MaxSpanAge = so.Retention
	ccfg := collector.DefaultConfig()
	ccfg.GRPCAddr, ccfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	for _, o := range opts {
		if o.Spool {
			icfg.Spool.Dir = t.TempDir()
		}
		if o.Ingest != nil {
			o.Ingest(&icfg)
		}
		if o.Collector != nil {
			o.Collector(&ccfg)
		}
	}
	p, err := ingest.New(icfg, client, so, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := collector.New(ccfg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := errors.Join(r.Shutdown(sctx), p.Shutdown(sctx)); err != nil {
			t.Logf("ingesttest: shutdown: %v", err)
		}
	})
	return &Stack{Client: client, Schema: so, Pipeline: p, Receiver: r, GRPCAddr: r.GRPCAddr(), HTTPAddr: r.HTTPAddr()}
}

// Table is the qualified name of a Coldtrace table in the stack's database.
func (s *Stack) Table(name string) string { return s.Schema.Table(name) }

// WaitStored waits until every span acknowledged so far is in ClickHouse.
func (s *Stack) WaitStored(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Pipeline.WaitStored(ctx); err != nil {
		t.Fatalf("spans not stored: %v", err)
	}
}
