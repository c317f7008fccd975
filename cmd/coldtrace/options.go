package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel"

	"github.com/coldtrace/coldtrace/collector"
	"github.com/coldtrace/coldtrace/ingest"
	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
)

func newLogger(cmd *cobra.Command) (*slog.Logger, error) {
	levelName, _ := cmd.Flags().GetString("log-level")
	format, _ := cmd.Flags().GetString("log-format")
	var level slog.Level
	if err := level.UnmarshalText([]byte(levelName)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text":
		h = slog.NewTextHandler(os.Stderr, opts)
	case "json":
		h = slog.NewJSONHandler(os.Stderr, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", format)
	}
	log := slog.New(h)
	slog.SetDefault(log)
	// The OTel SDK reports failures it cannot return (a span export that
	// failed, spans lost with it) through its global handler, which would
	// otherwise print them through the log package, at INFO.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Error("OpenTelemetry SDK", "err", err) }))
	return log, nil
}

// storageOptions are the ClickHouse flags every role that reads or writes
// spans has.
type storageOptions struct {
	dataDir    string
	dsn        string
	database   string
	cluster    string
	httpAddr   string
	retention  time.Duration
	maxConns   int
	allowLocal bool // the role may use the embedded engine
}

// register adds the storage flags; dataDirHelp says what the role keeps in
// --data-dir.
func (o *storageOptions) register(fs *pflag.FlagSet, defaultDSN, dataDirHelp string) {
	dsnHelp := `ClickHouse server DSN, such as clickhouse://user:pass@host:9000 or http://host:8123`
	if o.allowLocal {
		dsnHelp = `ClickHouse to use: "embedded" (in-process engine in --data-dir, needs libchdb) or a server DSN such as clickhouse://user:pass@host:9000 or http://host:8123`
	}
	fs.StringVar(&o.dataDir, "data-dir", "./data", dataDirHelp)
	fs.StringVar(&o.dsn, "clickhouse", defaultDSN, dsnHelp)
	fs.StringVar(&o.database, "clickhouse-database", "coldtrace", "ClickHouse database holding Coldtrace's tables")
	fs.StringVar(&o.cluster, "clickhouse-cluster", "", "ClickHouse cluster (remote_servers name) to create the schema on: ON CLUSTER DDL, Replicated tables and Distributed tables sharded by trace id; see docs/scaling.md")
	fs.DurationVar(&o.retention, "retention", 7*24*time.Hour, "how long spans and rollups are kept (ClickHouse TTL), from 1h to 20 years")
	fs.IntVar(&o.maxConns, "clickhouse-max-conns", 8, "maximum concurrent ClickHouse statements")
	if o.allowLocal {
		fs.StringVar(&o.httpAddr, "clickhouse-http-addr", "", "expose the embedded engine's ClickHouse HTTP interface on this loopback address (e.g. 127.0.0.1:8123) for curl or Grafana's ClickHouse data source")
	}
}

func (o *storageOptions) clientConfig() chclient.Config {
	return chclient.Config{DSN: o.dsn, DataDir: o.dataDir, Database: o.database, MaxConns: o.maxConns}
}

func (o *storageOptions) schemaOptions() schema.Options {
	return schema.Options{Database: o.database, Cluster: o.cluster, Retention: o.retention,
		Embedded: o.dsn == chclient.Embedded}
}

func (o *storageOptions) validate() error {
	if (o.dsn == "" || o.dsn == chclient.Embedded) && !o.allowLocal {
		return fmt.Errorf("--clickhouse: this role runs stateless against a ClickHouse server; give its DSN, e.g. clickhouse://host:9000 or http://host:8123 (the embedded engine is for 'coldtrace up')")
	}
	if err := o.clientConfig().Validate(); err != nil {
		return err
	}
	if o.cluster != "" && o.dsn == chclient.Embedded {
		return fmt.Errorf("--clickhouse-cluster needs a ClickHouse server DSN: the embedded engine is a single node")
	}
	if o.httpAddr != "" && o.dsn != chclient.Embedded {
		return fmt.Errorf("--clickhouse-http-addr only applies to the embedded engine")
	}
	return o.schemaOptions().Validate()
}

// open connects, exposes the embedded HTTP interface if asked, and
// migrates the schema. It fails at once if ClickHouse does not answer.
func (o *storageOptions) open(ctx context.Context, log *slog.Logger) (*chclient.Client, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	client, err := chclient.Open(ctx, o.clientConfig(), log)
	if err != nil {
		return nil, err
	}
	if o.httpAddr != "" {
		if _, err := client.ServeHTTPInterface(ctx, o.httpAddr); err != nil {
			client.Close()
			return nil, err
		}
	}
	if err := o.migrate(ctx, client, log); err != nil {
		client.Close()
		return nil, err
	}
	return client, nil
}

func (o *storageOptions) migrate(ctx context.Context, client *chclient.Client, log *slog.Logger) error {
	if err := schema.Migrate(ctx, client, o.schemaOptions(), log); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	return nil
}

// storage is a role's ClickHouse client, whose schema may still be on its
// way (openForIngest).
type storage struct {
	client *chclient.Client
	// ready is closed once ClickHouse has answered and the schema is
	// migrated: inserts may start.
	ready chan struct{}
	stop  context.CancelFunc // ends the background wait
	done  chan struct{}      // closed once the background wait has ended
}

// openForIngest opens ClickHouse for a role that stores spans. With a
// spool (spooled) a span is acknowledged once on disk, so the role need not
// wait for its ClickHouse server: it gets a client at once, and the schema
// is migrated in the background once ClickHouse answers (ready). Without,
// a span is acknowledged once stored, so it fails at once if ClickHouse
// does not answer (open), as a role that cannot serve should. This is
// the one place that decides.
func (o *storageOptions) openForIngest(ctx context.Context, log *slog.Logger, spooled bool) (*storage, error) {
	s := &storage{ready: make(chan struct{}), stop: func() {}, done: make(chan struct{})}
	if !spooled {
		client, err := o.open(ctx, log)
		if err != nil {
			return nil, err
		}
		s.client = client
		close(s.ready)
		close(s.done)
		return s, nil
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	client, err := chclient.OpenLazy(o.clientConfig(), log)
	if err != nil {
		return nil, err
	}
	s.client = client
	ctx, s.stop = context.WithCancel(ctx)
	go func() {
		defer close(s.done)
		if o.migrateWhenUp(ctx, client, log) == nil {
			close(s.ready)
		}
	}()
	return s, nil
}

// close ends the background wait and closes the client.
func (s *storage) close() {
	s.stop()
	<-s.done
	s.client.Close()
}

// migrateWhenUp migrates the schema once ClickHouse answers, retrying with
// a capped backoff until it does or ctx ends. A ClickHouse that answers but
// refuses (a wrong password, an unknown cluster) is retried too: it may be
// starting, and the spool keeps what arrives meanwhile; the log says why.
func (o *storageOptions) migrateWhenUp(ctx context.Context, client *chclient.Client, log *slog.Logger) error {
	const logEvery = time.Minute
	began := time.Now()
	var logged time.Time
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 250*time.Millisecond, 10*time.Second
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		if err := client.Ping(ctx); err != nil {
			return struct{}{}, fmt.Errorf("ping clickhouse: %w", err)
		}
		return struct{}{}, o.migrate(ctx, client, log)
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, _ time.Duration) {
		if time.Since(logged) >= logEvery {
			logged = time.Now()
			log.Warn("waiting for ClickHouse; spans are kept in the spool until it answers",
				"waited", time.Since(began).Round(time.Second), "err", err)
		}
	}))
	if err != nil {
		return err
	}
	log.Info("ClickHouse answered, schema migrated; storing spans from the spool", "waited", time.Since(began).Round(time.Millisecond))
	return nil
}

// ingestOptions are the OTLP receiver and pipeline flags.
type ingestOptions struct {
	receiver collector.Config
	pipeline ingest.Config
	spool    bool
	spoolDir string
}

func (o *ingestOptions) register(fs *pflag.FlagSet, host string) {
	rc, pc := collector.DefaultConfig(), ingest.DefaultConfig()
	fs.StringVar(&o.receiver.GRPCAddr, "otlp-grpc-addr", host+":4317", "OTLP/gRPC listen address (empty disables it)")
	fs.StringVar(&o.receiver.HTTPAddr, "otlp-http-addr", host+":4318", "OTLP/HTTP listen address, POST /v1/traces (empty disables it)")
	byteSizeVar(fs, &o.receiver.MaxRequestBytes, "max-request-bytes", rc.MaxRequestBytes, "largest OTLP request accepted, before and after decompression")
	fs.IntVar(&o.receiver.MaxSpansPerRequest, "max-spans-per-request", rc.MaxSpansPerRequest, "refuse OTLP requests with more spans (0 = no limit)")
	byteSizeVar(fs, &o.receiver.MaxInflightBytes, "max-inflight-bytes", rc.MaxInflightBytes, "OTLP request bytes (decompressed) decoded at once; past it requests wait, then get HTTP 429 / RESOURCE_EXHAUSTED (a decoded request takes several times its size in memory)")
	fs.DurationVar(&o.receiver.ReadTimeout, "otlp-read-timeout", rc.ReadTimeout, "how long an OTLP/HTTP request, headers and body, may take to arrive; a slower one gets HTTP 503 (retryable) and its connection is closed, giving back its share of --max-inflight-bytes")
	fs.BoolVar(&o.spool, "spool", true, "acknowledge spans once fsynced to a write-ahead spool on disk, then store them (false: acknowledge once inserted into ClickHouse)")
	fs.StringVar(&o.spoolDir, "spool-dir", "", "spool directory (default <data-dir>/spool)")
	byteSizeVar(fs, &o.pipeline.Spool.MaxBytes, "spool-max-bytes", pc.Spool.MaxBytes, "spool size at which senders are throttled (HTTP 429 / RESOURCE_EXHAUSTED)")
	fs.IntVar(&o.pipeline.BatchSpans, "batch-spans", pc.BatchSpans, "without a spool: largest insert into ClickHouse, in spans (the spool inserts whole requests, up to 16 MiB of them, and this many requests at most)")
	fs.DurationVar(&o.pipeline.BatchAge, "batch-age", pc.BatchAge, "without a spool: longest a batch waits for a free insert writer")
	fs.IntVar(&o.pipeline.QueueSpans, "queue-spans", pc.QueueSpans, "without a spool: spans accepted but not yet stored before senders are throttled (HTTP 429 / RESOURCE_EXHAUSTED)")
	fs.IntVar(&o.pipeline.Writers, "insert-writers", pc.Writers, "without a spool: concurrent ClickHouse inserts (the spool drains in order through one)")
	fs.DurationVar(&o.pipeline.InsertTimeout, "insert-timeout", pc.InsertTimeout, "time limit of one insert attempt; each attempt that runs out of time doubles it for the next, up to 8 times this")
	fs.DurationVar(&o.pipeline.RetryFor, "insert-retry-for", pc.RetryFor, "without a spool: how long a failing insert is retried before senders are told to retry (must be positive; the spool retries until ClickHouse is back)")
	fs.IntVar(&o.pipeline.RecentSpans, "recent-spans", pc.RecentSpans, "slots (8 bytes each) of the table of spans acknowledged lately, so a sender's retry is not stored twice; a span is remembered for 1/4 to 1/2 this many newer spans (0 = none)")
	fs.IntVar(&o.pipeline.Limits.MaxAttributes, "max-attributes", pc.Limits.MaxAttributes, "attributes kept per span, resource, event or link; more are dropped and counted")
	fs.IntVar(&o.pipeline.Limits.MaxValueLength, "max-attribute-length", pc.Limits.MaxValueLength, "longest attribute value in bytes; longer values are cut and counted")
	fs.IntVar(&o.pipeline.Limits.MaxEvents, "max-events", pc.Limits.MaxEvents, "events kept per span; more are dropped and counted")
	fs.IntVar(&o.pipeline.Limits.MaxLinks, "max-links", pc.Limits.MaxLinks, "links kept per span; more are dropped and counted")
}

// ingestStack is a running receiver and the pipeline behind it.
type ingestStack struct {
	receiver      *collector.Receiver
	pipeline      *ingest.Pipeline
	spoolMaxBytes int64
}

func startIngest(ctx context.Context, o *ingestOptions, sec *securityOptions, dataDir string, client *chclient.Client, so schema.Options, log *slog.Logger, opts ...collector.Option) (*ingestStack, error) {
	if o.spool && o.pipeline.Spool.MaxBytes < o.receiver.MaxRequestBytes {
		// Such a request would fit only into an empty spool: under steady
		// traffic, never; its sender would be told to retry forever.
		return nil, fmt.Errorf("--spool-max-bytes (%d) must be at least --max-request-bytes (%d)", o.pipeline.Spool.MaxBytes, o.receiver.MaxRequestBytes)
	}
	pcfg := o.pipeline
	pcfg.MaxSpanAge = so.Retention
	pcfg.Spool.SegmentBytes = ingest.DefaultConfig().Spool.SegmentBytes
	if o.spool {
		pcfg.Spool.Dir = o.spoolDir
		if pcfg.Spool.Dir == "" {
			pcfg.Spool.Dir = filepath.Join(dataDir, "spool")
		}
	}
	p, err := ingest.New(pcfg, client, so, log)
	if err != nil {
		return nil, err
	}
	r, err := collector.New(o.receiver, p, log, append(opts, sec.receiverOptions()...)...)
	if err != nil {
		return nil, errors.Join(err, p.Shutdown(ctx))
	}
	if err := r.Start(ctx); err != nil {
		return nil, errors.Join(err, p.Shutdown(ctx))
	}
	return &ingestStack{receiver: r, pipeline: p, spoolMaxBytes: pcfg.Spool.MaxBytes}, nil
}

// observe exports the stack's metrics and readiness. With a spool, a
// collector is ready while its spool accepts appends and has room, whether
// or not ClickHouse answers: absorbing an outage is what the spool is for,
// and if every collector turned unready during one, a load balancer would
// have nowhere to send and senders would drop spans. Without a spool (or
// when the process also serves reads, servesReads) ClickHouse must answer.
func (s *ingestStack) observe(a *admin, client *chclient.Client, servesReads bool) {
	a.collect(s.receiver.Metrics()...)
	a.collect(s.pipeline.Metrics()...)
	if _, ok := s.pipeline.SpoolStats(); !ok || servesReads {
		a.addCheck("clickhouse", client.Ping)
	}
	if _, ok := s.pipeline.SpoolStats(); ok {
		a.addCheck("spool", func(ctx context.Context) error {
			// While appends fail, only an append or a recheck can see
			// that they work again, and no sender reaches an unready
			// collector.
			if err := s.pipeline.RecheckSpool(ctx); err != nil {
				return err
			}
			st, _ := s.pipeline.SpoolStats()
			if limit := s.spoolMaxBytes; limit > 0 && st.Bytes > limit*9/10 {
				return fmt.Errorf("spool %d%% full (%d of %d bytes): ClickHouse is not keeping up", st.Bytes*100/limit, st.Bytes, limit)
			}
			return nil
		})
	}
}

// shutdown stops taking requests, then stores what was accepted.
func (s *ingestStack) shutdown(ctx context.Context) error {
	err := s.receiver.Shutdown(ctx)
	if perr := s.pipeline.Shutdown(ctx); perr != nil {
		return perr
	}
	return err
}
