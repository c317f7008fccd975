package main

import (
	"context"
	"fmt"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
)

// newExporter builds the contrib clickhouseexporter with its defaults,
// except: no sending queue (so ConsumeTraces returns once the insert did,
// the same acknowledgement contract Coldtrace keeps) and no compression
// (the engine is on loopback, as for coldtrace-http).
func newExporter(ctx context.Context, endpoint, db string) (exporter.Traces, error) {
	f := clickhouseexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*clickhouseexporter.Config)
	cfg.Endpoint = endpoint
	cfg.Database = db
	cfg.Compress = "none"
	cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	exp, err := f.CreateTraces(ctx, exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		return nil, fmt.Errorf("create clickhouseexporter: %w", err)
	}
	if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
		return nil, fmt.Errorf("start clickhouseexporter: %w", err)
	}
	return exp, nil
}
