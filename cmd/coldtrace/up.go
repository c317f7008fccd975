package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
)

// upOptions are the flags of 'coldtrace up'.
type upOptions struct {
	storage         storageOptions
	ingest          ingestOptions
	query           queryOptions   // query_cmd.go
	runtime         runtimeOptions // runtime_cmd.go
	admin           admin
	security        securityOptions
	shutdownTimeout time.Duration
}

func newUpCommand() *cobra.Command {
	o := &upOptions{storage: storageOptions{allowLocal: true}}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run every role in one process (embedded ClickHouse by default)",
		Long: `Run Coldtrace in one process: OTLP receivers, ingest, the REST API and web
UI, and the function runtime. By default spans go to the embedded ClickHouse
engine in --data-dir; --clickhouse takes a server DSN instead. Listeners bind
to loopback unless an address says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cmd)
			if err != nil {
				return err
			}
			return runUp(cmd.Context(), o, log)
		},
	}
	fs := cmd.Flags()
	o.storage.register(fs, "embedded")
	o.ingest.register(fs, "127.0.0.1")
	o.query.register(fs, "127.0.0.1")
	o.runtime.register(fs, "127.0.0.1")
	o.admin.registerShared(fs)
	o.security.register(fs)
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long to drain requests and store pending spans")
	return cmd
}

func runUp(ctx context.Context, o *upOptions, log *slog.Logger) error {
	if err := o.security.load(); err != nil {
		return err
	}
	o.admin.security = &o.security
	o.query.security = &o.security
	o.runtime.security = &o.security
	client, err := o.storage.open(ctx, log)
	if err != nil {
		return err
	}
	defer client.Close()
	ing, err := startIngest(ctx, &o.ingest, &o.security, o.storage.dataDir, client, o.storage.schemaOptions(), log)
	if err != nil {
		return err
	}
	// Stop in reverse order of start: the runtime emits spans into the
	// receivers, the API reads what ingest stored.
	stops := []func(context.Context) error{ing.shutdown}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
		defer cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			if err := stops[i](sctx); err != nil {
				log.Error("shutdown", "err", err)
			}
		}
	}()
	ing.observe(&o.admin, client)
	stopAdmin, err := o.admin.serve(ctx, log)
	if err != nil {
		return err
	}
	stops = append(stops, stopAdmin)
	o.query.admin = &o.admin
	stopQuery, err := startQuery(ctx, &o.query, client, o.storage.schemaOptions(), log)
	if err != nil {
		return err
	}
	stops = append(stops, stopQuery)
	stopRuntime, err := startRuntime(ctx, &o.runtime, "http://"+ing.receiver.HTTPAddr(), log)
	if err != nil {
		return err
	}
	stops = append(stops, stopRuntime)
	log.Info("coldtrace is up",
		"otlp_grpc", ing.receiver.GRPCAddr(), "otlp_http", ing.receiver.HTTPAddr(),
		"clickhouse", o.storage.dsn, "database", o.storage.database)
	<-ctx.Done()
	log.Info("shutting down", "timeout", o.shutdownTimeout)
	return nil
}
