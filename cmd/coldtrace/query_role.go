package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
)

type queryRoleOptions struct {
	storage         storageOptions
	query           queryOptions
	shutdownTimeout time.Duration
}

func newQueryCommand() *cobra.Command {
	o := &queryRoleOptions{}
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Run only the REST API and web UI, against a ClickHouse server",
		Long: `Run the query role: the REST API (/api/v1, the Jaeger-compatible /api) and
the web UI, reading a ClickHouse server. It keeps no state of its own, so
several can run behind a load balancer.`,
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
	cmd.Flags().DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long to finish requests in flight")
	return cmd
}

func runQuery(ctx context.Context, o *queryRoleOptions, log *slog.Logger) error {
	client, err := o.storage.open(ctx, log)
	if err != nil {
		return err
	}
	defer client.Close()
	stop, err := startQuery(ctx, &o.query, client, o.storage.schemaOptions(), log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := stop(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
