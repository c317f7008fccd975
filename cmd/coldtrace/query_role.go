package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"
)

type queryRoleOptions struct {
	storage   storageOptions
	query     queryOptions
	admin     admin
	security  securityOptions
	selfTrace selfTraceOptions
	lifecycle lifecycle
}

func newQueryCommand() *cobra.Command {
	o := &queryRoleOptions{}
	cmd := roleCommand("query", "Run only the REST API and web UI, against a ClickHouse server",
		`Run the query role: the REST API (/api/v1, the Jaeger-compatible /api) and
the web UI, reading a ClickHouse server. It keeps no state of its own, so
several can run behind a load balancer. /metrics, /healthz and /readyz are
served on --http-addr unless --admin-addr gives them a listener of their own.`,
		func(ctx context.Context, log *slog.Logger) error { return runQuery(ctx, o, log) })
	o.storage.register(cmd.Flags(), "", "not used by this role, which keeps nothing on disk; accepted so that one environment (the image's COLDTRACE_DATA_DIR) serves every role")
	o.query.register(cmd.Flags(), "")
	o.admin.registerShared(cmd.Flags())
	o.security.register(cmd.Flags(), "the REST API and /metrics")
	o.selfTrace.register(cmd.Flags(), false)
	o.lifecycle.register(cmd.Flags(), "to finish requests in flight")
	return cmd
}

func runQuery(ctx context.Context, o *queryRoleOptions, log *slog.Logger) error {
	if err := o.security.load(); err != nil {
		return err
	}
	o.admin.security = &o.security
	o.query.security = &o.security
	o.query.admin = &o.admin
	if err := o.selfTrace.start(ctx, "query", "", &o.security); err != nil {
		return err
	}
	client, err := o.storage.open(ctx, log)
	if err != nil {
		return err
	}
	defer client.Close()
	o.admin.addCheck("clickhouse", client.Ping)
	o.lifecycle.started(o.selfTrace.tracing.Shutdown)
	o.query.tracing = o.selfTrace.tracing
	stopAdmin, err := o.admin.serve(ctx, log)
	if err != nil {
		return err
	}
	o.lifecycle.started(stopAdmin)
	stop, err := startQuery(ctx, &o.query, client, o.storage.schemaOptions(), log)
	if err == nil {
		o.lifecycle.started(stop)
	}
	return o.lifecycle.runUntilDone(ctx, log, err)
}
