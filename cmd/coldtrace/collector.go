package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
)

type collectorOptions struct {
	storage         storageOptions
	ingest          ingestOptions
	admin           admin
	security        securityOptions
	shutdownTimeout time.Duration
}

func newCollectorCommand() *cobra.Command {
	o := &collectorOptions{}
	cmd := &cobra.Command{
		Use:   "collector",
		Short: "Run only the OTLP receivers and ingest, against a ClickHouse server",
		Long: `Run the collector role: OTLP/gRPC and OTLP/HTTP receivers that store spans
in a ClickHouse server. It keeps no state of its own, so several can run
behind a load balancer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd)
			if err != nil {
				return err
			}
			return runCollector(cmd.Context(), o, log)
		},
	}
	o.storage.register(cmd.Flags(), "")
	o.ingest.register(cmd.Flags(), "")
	o.admin.register(cmd.Flags(), "")
	o.security.register(cmd.Flags())
	cmd.Flags().DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long to drain requests and store pending spans")
	return cmd
}

func runCollector(ctx context.Context, o *collectorOptions, log *slog.Logger) error {
	if err := o.security.load(); err != nil {
		return err
	}
	o.admin.security = &o.security
	client, err := o.storage.open(ctx, log)
	if err != nil {
		return err
	}
	defer client.Close()
	ing, err := startIngest(ctx, &o.ingest, &o.security, o.storage.dataDir, client, o.storage.schemaOptions(), log)
	if err != nil {
		return err
	}
	ing.observe(&o.admin, client)
	stopAdmin, err := o.admin.serve(ctx, log)
	if err != nil {
		return errors.Join(err, ing.shutdown(context.Background()))
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := errors.Join(ing.shutdown(sctx), stopAdmin(sctx)); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
