package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/spf13/cobra"
)

type collectorOptions struct {
	storage   storageOptions
	ingest    ingestOptions
	admin     admin
	security  securityOptions
	selfTrace selfTraceOptions
	lifecycle lifecycle
}

func newCollectorCommand() *cobra.Command {
	o := &collectorOptions{}
	cmd := roleCommand("collector", "Run only the OTLP receivers and ingest, against a ClickHouse server",
		`Run the collector role: OTLP/gRPC and OTLP/HTTP receivers that store spans
in a ClickHouse server. It keeps no state of its own beyond its spool, so
several can run behind a load balancer, each with its own --spool-dir.`,
		func(ctx context.Context, log *slog.Logger) error { return runCollector(ctx, o, log) })
	o.storage.register(cmd.Flags(), "", "directory for the spool, the collector's write-ahead log")
	o.ingest.register(cmd.Flags(), "")
	o.admin.register(cmd.Flags(), "")
	o.security.register(cmd.Flags(), "OTLP and the admin endpoints (/metrics)")
	o.selfTrace.register(cmd.Flags(), true)
	o.lifecycle.register(cmd.Flags(), "to drain requests and store pending spans")
	return cmd
}

func runCollector(ctx context.Context, o *collectorOptions, log *slog.Logger) error {
	if err := o.security.load(); err != nil {
		return err
	}
	o.admin.security = &o.security
	store, err := o.storage.openForIngest(ctx, log, o.ingest.spool)
	if err != nil {
		return err
	}
	defer store.close()
	// The spool drains once ClickHouse has the schema.
	o.ingest.pipeline.DrainAfter = store.ready
	if err := o.selfTrace.start(ctx, "collector", o.ingest.receiver.HTTPAddr, &o.security); err != nil {
		return err
	}
	ing, err := startIngest(ctx, &o.ingest, &o.security, o.storage.dataDir, store.client, o.storage.schemaOptions(), log, o.selfTrace.receiverOptions(o.security.authn)...)
	if err != nil {
		return errors.Join(err, o.selfTrace.tracing.Shutdown(ctx))
	}
	o.lifecycle.started(ing.shutdown)
	// Stopped before the receivers: its last spans go to them.
	o.lifecycle.started(o.selfTrace.tracing.Shutdown)
	ing.observe(&o.admin, store.client, false)
	stopAdmin, err := o.admin.serve(ctx, log)
	if err == nil {
		o.lifecycle.started(stopAdmin)
	}
	return o.lifecycle.runUntilDone(ctx, log, err)
}
