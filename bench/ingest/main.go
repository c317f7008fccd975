// Command ingest benchmarks Coldtrace's ingest end to end (OTLP/gRPC
// client -> receiver -> pipeline -> embedded ClickHouse) and, in the same
// run, against the same engine and the same spans, the OpenTelemetry
// Collector contrib clickhouseexporter behind the same receiver. It also
// measures bytes per span on disk and, with -binary, the RSS of
// `coldtrace up` idle and under load.
//
//	cd bench/ingest && go run . -duration 20s
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/coldtrace/coldtrace/internal/chclient"
)

type options struct {
	dataDir     string
	duration    time.Duration
	warmup      time.Duration
	senders     int
	perRequest  int
	poolSpans   int
	corpusSpans int
	functions   int
	systems     string
	shapes      string
	cpuprofile  string
	binary      string
	skipBytes   bool
	writers     int
	batchSpans  int
	probe       int
}

func main() {
	var o options
	flag.StringVar(&o.dataDir, "data-dir", "", "embedded engine directory (default: a temp dir, removed afterwards)")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measured time per system and shape")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured load before each measurement")
	flag.IntVar(&o.senders, "senders", 8, "concurrent OTLP/gRPC senders")
	flag.IntVar(&o.perRequest, "spans-per-request", 512, "spans per OTLP request (the OTel SDK batch size)")
	flag.IntVar(&o.poolSpans, "pool-spans", 400000, "prebuilt spans per shape, sent round-robin")
	flag.IntVar(&o.corpusSpans, "corpus-spans", 1000000, "unique FaaS-shaped spans loaded to measure bytes per span")
	flag.IntVar(&o.functions, "functions", 20, "distinct functions in the FaaS-shaped data")
	flag.StringVar(&o.systems, "systems", "coldtrace,coldtrace-direct,coldtrace-http,exporter", "systems to run: coldtrace (the default: spool, in-process engine; the rate is spans stored per second), coldtrace-direct (no spool: acknowledged once inserted), coldtrace-http (no spool, clickhouse-go over loopback HTTP, like the exporter), exporter")
	flag.StringVar(&o.shapes, "shapes", "faas,telemetrygen", "span shapes: faas, telemetrygen")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the first coldtrace FaaS phase here")
	flag.StringVar(&o.binary, "binary", "", "a built coldtrace binary: also measure `coldtrace up` RSS idle and under load")
	flag.BoolVar(&o.skipBytes, "skip-bytes", false, "skip the bytes-per-span measurement")
	flag.IntVar(&o.writers, "insert-writers", 0, "Coldtrace's concurrent inserts (0 = its default)")
	flag.IntVar(&o.batchSpans, "batch-spans", 0, "Coldtrace's largest insert (0 = its default)")
	flag.IntVar(&o.probe, "probe-insert", 0, "only time inserts of this many spans: through the pipeline and by the engine alone")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "ingest bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.dataDir == "" {
		d, err := os.MkdirTemp("", "coldtrace-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		o.dataDir = d
	}
	fmt.Printf("# Ingest benchmark %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("command: go run ./bench/ingest %s\n\n", strings.Join(os.Args[1:], " "))
	base, err := chclient.Open(ctx, chclient.Config{DSN: chclient.Embedded, DataDir: o.dataDir, Database: "bench"}, nil)
	if err != nil {
		return err
	}
	defer base.Close()
	httpAddr, err := base.ServeHTTPInterface(ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	env := &benchEnv{opts: o, dataDir: o.dataDir, chHTTP: httpAddr.String()}
	if o.probe > 0 {
		return env.probeInsert(ctx, o.probe)
	}

	var results []result
	for _, sh := range strings.Split(o.shapes, ",") {
		var s shape
		switch sh {
		case "faas":
			s = faasShape{functions: o.functions}
		case "telemetrygen":
			s = telemetrygenShape{}
		default:
			return fmt.Errorf("unknown shape %q", sh)
		}
		start := time.Now()
		pool := generate(s, 1, o.poolSpans, o.perRequest)
		fmt.Fprintf(os.Stderr, "%s: prebuilt %d requests in %v\n", s.name(), len(pool), time.Since(start).Round(time.Millisecond))
		for _, sys := range strings.Split(o.systems, ",") {
			var stop func()
			if o.cpuprofile != "" && sys == "coldtrace" && sh == "faas" {
				f, err := os.Create(o.cpuprofile)
				if err != nil {
					return err
				}
				pprof.StartCPUProfile(f)
				stop = func() { pprof.StopCPUProfile(); f.Close() }
			}
			r, err := env.throughput(ctx, sys, s, pool)
			if stop != nil {
				stop()
			}
			if err != nil {
				return fmt.Errorf("%s / %s: %w", sys, s.name(), err)
			}
			results = append(results, r)
			fmt.Fprintf(os.Stderr, "%s / %s: %.0f spans/s\n", sys, s.name(), r.spansPerSec)
		}
	}
	printThroughput(results)

	if !o.skipBytes {
		if err := env.bytesPerSpan(ctx); err != nil {
			return err
		}
	}
	if o.binary != "" {
		bin, err := filepath.Abs(o.binary)
		if err != nil {
			return err
		}
		if err := env.rss(ctx, bin); err != nil {
			return err
		}
	}
	return nil
}

type benchEnv struct {
	opts    options
	dataDir string
	chHTTP  string
	seq     int
}

type result struct {
	system, shape string
	spansPerSec   float64
	acked, stored uint64
	throttled     int64
}

func printThroughput(rs []result) {
	fmt.Println("## Throughput (OTLP/gRPC client -> stored in embedded ClickHouse)")
	fmt.Println()
	fmt.Println("spans/s: spans stored per second for coldtrace (acknowledgements into its spool run ahead of storage), acknowledged per second for the others (which acknowledge once inserted).")
	fmt.Println()
	fmt.Println("| shape | system | spans/s | vs exporter | acknowledged | stored | throttled requests |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	exporter := map[string]float64{}
	for _, r := range rs {
		if r.system == "exporter" {
			exporter[r.shape] = r.spansPerSec
		}
	}
	for _, r := range rs {
		ratio := "-"
		if e := exporter[r.shape]; e > 0 {
			ratio = fmt.Sprintf("%.2fx", r.spansPerSec/e)
		}
		fmt.Printf("| %s | %s | %.0f | %s | %d | %d | %d |\n", r.shape, r.system, r.spansPerSec, ratio, r.acked, r.stored, r.throttled)
	}
	fmt.Println()
}
