package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
)

type queryRoleOptions struct {
	storage         storageOptions
	query           queryOptions
	admin           admin
	security        securityOptions
	shutdownTimeout time.Duration
}

func newQueryCommand() *cobra.Command {
	o := &queryRoleOptions{}
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Run only the REST API and web UI, against a ClickHouse server",
		Long: `Run the query role: the REST API (/api/v1, the Jaeger-compatible /api) and
the web UI, reading a ClickHouse server. It keeps no state of its own, so
several can run behind a load balancer. /metrics, /healthz and /readyz are
served on --http-addr unless --admin-addr gives them a listener of their own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd)
			if err != nil {
				return err
			}
			return runQuery(cmd.Context(), o, log)
		},
	}
	o.storage.register(cmd.Flags(), "")
	o.query.register(cmd.Flags(), "")
	o.admin.registerShared(cmd.Flags())
	o.security.register(cmd.Flags())
	cmd.Flags().DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long to finish requests in flight")
	return cmd
}

func runQuery(ctx context.Context, o *queryRoleOptions, log *slog.Logger) error {
	if err := o.security.load(); err != nil {
		return err
	}
	o.admin.security = &o.security
	o.query.security = &o.security
	o.query.admin = &o.admin
	client, err := o.storage.open(ctx, log)
	if err != nil {
		return err
	}
	defer client.Close()
	o.admin.addCheck("clickhouse", client.Ping)
	stopAdmin, err := o.admin.serve(ctx, log)
	if err != nil {
		return err
	}
	stop, err := startQuery(ctx, &o.query, client, o.storage.schemaOptions(), log)
	if err != nil {
		return errors.Join(err, stopAdmin(context.Background()))
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := errors.Join(stop(sctx), stopAdmin(sctx)); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
