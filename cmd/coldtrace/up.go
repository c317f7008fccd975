package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/coldtrace/coldtrace/internal/chclient"
)

// upOptions are the flags of 'coldtrace up'.
type upOptions struct {
	storage   storageOptions
	ingest    ingestOptions
	query     queryOptions   // query_cmd.go
	runtime   runtimeOptions // runtime_cmd.go
	admin     admin
	security  securityOptions
	selfTrace selfTraceOptions
	lifecycle lifecycle
}

func newUpCommand() *cobra.Command {
	o := &upOptions{storage: storageOptions{allowLocal: true}}
	cmd := roleCommand("up", "Run every role in one process (embedded ClickHouse by default)",
		`Run Coldtrace in one process: OTLP receivers, ingest, the REST API and web
UI, and the function runtime. By default spans go to the embedded ClickHouse
engine in --data-dir; --clickhouse takes a server DSN instead. Listeners bind
to loopback unless an address says otherwise.`,
		func(ctx context.Context, log *slog.Logger) error { return runUp(ctx, o, log) })
	fs := cmd.Flags()
	o.storage.register(fs, "embedded", "directory for the embedded ClickHouse files, the function registry and the spool")
	o.ingest.register(fs, "127.0.0.1")
	o.query.register(fs, "127.0.0.1")
	o.runtime.register(fs, "127.0.0.1")
	o.admin.registerShared(fs)
	o.security.register(fs, "OTLP, the REST API, the function gateway and /metrics (not the --clickhouse-http-addr interface)")
	o.selfTrace.register(fs, true)
	o.lifecycle.register(fs, "to drain requests and store pending spans")
	return cmd
}

func runUp(ctx context.Context, o *upOptions, log *slog.Logger) error {
	if err := o.security.load(); err != nil {
		return err
	}
	o.admin.security = &o.security
	o.query.security = &o.security
	o.runtime.security = &o.security
	if o.security.authn != nil && o.storage.httpAddr != "" {
		log.Warn("--clickhouse-http-addr serves the embedded engine's ClickHouse HTTP interface without auth: anyone who can reach it (deployed functions included, on loopback) can read and write every tenant's data; --auth-token does not cover it",
			"addr", o.storage.httpAddr)
	}
	client, err := o.storage.open(ctx, log)
	if err != nil {
		return err
	}
	defer client.Close()
	return o.lifecycle.runUntilDone(ctx, log, o.start(ctx, client, log))
}

// start starts every role; the lifecycle stops them in reverse order: the
// runtime emits spans into the receivers, the API reads what ingest
// stored.
func (o *upOptions) start(ctx context.Context, client *chclient.Client, log *slog.Logger) error {
	if err := o.selfTrace.start(ctx, "up", o.ingest.receiver.HTTPAddr, &o.security); err != nil {
		return err
	}
	ing, err := startIngest(ctx, &o.ingest, &o.security, o.storage.dataDir, client, o.storage.schemaOptions(), log, o.selfTrace.receiverOptions(o.security.authn)...)
	if err != nil {
		return errors.Join(err, o.selfTrace.tracing.Shutdown(ctx))
	}
	o.lifecycle.started(ing.shutdown)
	// Stopped before the receivers: its last spans go to them.
	o.lifecycle.started(o.selfTrace.tracing.Shutdown)
	ing.observe(&o.admin, client, true)
	stopAdmin, err := o.admin.serve(ctx, log)
	if err != nil {
		return err
	}
	o.lifecycle.started(stopAdmin)
	o.query.admin = &o.admin
	o.query.tracing = o.selfTrace.tracing
	stopQuery, err := startQuery(ctx, &o.query, client, o.storage.schemaOptions(), log)
	if err != nil {
		return err
	}
	o.lifecycle.started(stopQuery)
	o.runtime.admin = &o.admin
	stopRuntime, err := startRuntime(ctx, &o.runtime, "http://"+ing.receiver.HTTPAddr(), true, log)
	if err != nil {
		return err
	}
	o.lifecycle.started(stopRuntime)
	log.Info("coldtrace is up", "ui", o.query.url(),
		"otlp_grpc", ing.receiver.GRPCAddr(), "otlp_http", ing.receiver.HTTPAddr(),
		"clickhouse", o.storage.dsn, "database", o.storage.database)
	return nil
}
