// Command querygen benchmarks the query API. It loads FaaS-shaped spans
// into an embedded ClickHouse data directory (columnar batches straight
// into otel_traces; the materialized views fill the trace-id lookup and
// the per-minute function rollup as ingest would), then serves the API
// from the same process and measures the queries over real HTTP
// on loopback.
//
//	go run ./bench/querygen -data-dir /tmp/querybench -load -spans 10000000
//	go run ./bench/querygen -data-dir /tmp/querybench -measure
//
// The load is not part of the test run: 10 million spans take minutes on
// two cores.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
)

type options struct {
	dataDir   string
	database  string
	load      bool
	measure   bool
	spans     int
	functions int
	coldRate  float64
	timeouts  float64
	span      time.Duration
	batch     int
	seed      uint64
	samples   int
	out       string
	serve     string
	ahead     time.Duration
	only      string
	profile   string
}

func main() {
	var o options
	flag.StringVar(&o.dataDir, "data-dir", "/tmp/coldtrace-querybench", "embedded ClickHouse data directory")
	flag.StringVar(&o.database, "database", "querybench", "database")
	flag.BoolVar(&o.load, "load", false, "generate and insert spans (drops the database first)")
	flag.BoolVar(&o.measure, "measure", false, "measure the API's queries")
	flag.IntVar(&o.spans, "spans", 10_000_000, "spans to load (about 10 per trace)")
	flag.IntVar(&o.functions, "functions", 20, "functions")
	flag.Float64Var(&o.coldRate, "cold-rate", 0.01, "share of invocations that are cold starts")
	flag.Float64Var(&o.timeouts, "timeout-rate", 0.002, "share of invocations that time out")
	flag.DurationVar(&o.span, "time-span", 24*time.Hour, "traces start uniformly over this long before now")
	flag.DurationVar(&o.ahead, "ahead", 10*time.Minute, "let the data run this far past now, so that measuring after the load and its merges still finds the last hour full (searches read newest first)")
	flag.IntVar(&o.batch, "batch", 200_000, "spans per insert")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed")
	flag.IntVar(&o.samples, "samples", 200, "requests per measured query")
	flag.StringVar(&o.out, "out", "", "also write the results as JSON here")
	flag.StringVar(&o.only, "only", "", "measure only the queries whose name contains this")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the measured requests here (engine and API run in this process)")
	flag.StringVar(&o.serve, "serve", "", "after -load/-measure, expose the engine's ClickHouse HTTP interface on this address until interrupted (to probe single queries with curl)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := run(context.Background(), o, log); err != nil {
		fmt.Fprintln(os.Stderr, "querygen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if !o.load && !o.measure && o.serve == "" {
		return fmt.Errorf("give -load, -measure, -serve or a combination")
	}
	client, err := chclient.Open(ctx, chclient.Config{DSN: chclient.Embedded, DataDir: o.dataDir, Database: o.database, MaxConns: 4}, log)
	if err != nil {
		return err
	}
	defer client.Close()
	so := schema.Options{Database: o.database, Retention: 7 * 24 * time.Hour}
	if o.load {
		if err := client.Exec(ctx, "DROP DATABASE IF EXISTS `"+o.database+"`"); err != nil {
			return err
		}
		if err := schema.Migrate(ctx, client, so, log); err != nil {
			return err
		}
		if err := load(ctx, client, so, o); err != nil {
			return err
		}
	}
	if o.measure {
		res, err := measure(ctx, client, so, o)
		if err != nil {
			return err
		}
		if o.out != "" {
			b, _ := json.MarshalIndent(res, "", "  ")
			if err := os.WriteFile(o.out, b, 0o644); err != nil {
				return err
			}
		}
	}
	if o.serve != "" {
		addr, err := client.ServeHTTPInterface(ctx, o.serve)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "ClickHouse HTTP interface on http://%s/ (database %s); interrupt to stop\n", addr, o.database)
		sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		<-sigCtx.Done()
	}
	return nil
}
