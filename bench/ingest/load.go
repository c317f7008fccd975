package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/coldtrace/coldtrace/collector"
	"github.com/coldtrace/coldtrace/ingest"
	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/consumer"
)

// system is what sits behind the receiver in one phase.
type system struct {
	consumer consumer.Traces
	client   *chclient.Client // where the spans are counted
	table    string
	stop     func(context.Context) error
	// stored counts spans in ClickHouse as they land (Coldtrace only): with
	// a spool, acknowledgements run ahead of storage, and the sustained
	// rate is the storage rate.
	stored func() int64
}

func (e *benchEnv) database(name string) string {
	e.seq++
	return fmt.Sprintf("%s_%d", name, e.seq)
}

func (e *benchEnv) open(ctx context.Context, dsn, db string) (*chclient.Client, error) {
	return chclient.Open(ctx, chclient.Config{DSN: dsn, DataDir: e.dataDir, Database: db}, nil)
}

func (e *benchEnv) coldtrace(ctx context.Context, dsn string, spooled bool) (*system, error) {
	db := e.database("coldtrace")
	client, err := e.open(ctx, dsn, db)
	if err != nil {
		return nil, err
	}
	so := schema.Options{Database: db, Retention: 7 * 24 * time.Hour}
	if err := schema.Migrate(ctx, client, so, nil); err != nil {
		return nil, err
	}
	cfg := ingest.DefaultConfig()
	// The load sends its prebuilt pool round and round: with the table of
	// recently acknowledged spans, every pass after the first would be
	// acknowledged as repeats and not stored. Its cost per span is
	// ingest's BenchmarkRecentSpans (docs/benchmarks.md).
	cfg.RecentSpans = 0
	if e.opts.writers > 0 {
		cfg.Writers = e.opts.writers
	}
	if e.opts.batchSpans > 0 {
		cfg.BatchSpans = e.opts.batchSpans
	}
	if spooled {
		cfg.Spool.Dir = filepath.Join(e.dataDir, "spool-"+db)
	}
	p, err := ingest.New(cfg, client, so, nil)
	if err != nil {
		return nil, err
	}
	return &system{consumer: p, client: client, table: so.Table(schema.TracesTable), stop: p.Shutdown,
		stored: p.Stats().SpansStored.Load}, nil
}

func (e *benchEnv) system(ctx context.Context, name string) (*system, error) {
	switch name {
	case "coldtrace":
		return e.coldtrace(ctx, chclient.Embedded, true)
	case "coldtrace-direct":
		return e.coldtrace(ctx, chclient.Embedded, false)
	case "coldtrace-http":
		return e.coldtrace(ctx, "http://"+e.chHTTP, false)
	case "exporter":
		db := e.database("exporter")
		exp, err := newExporter(ctx, "http://"+e.chHTTP, db)
		if err != nil {
			return nil, err
		}
		client, err := e.open(ctx, chclient.Embedded, db)
		if err != nil {
			return nil, err
		}
		return &system{
			consumer: consumer.TracesFunc(func(ctx context.Context, td ptrace.Traces) error { return exp.ConsumeTraces(ctx, td) }),
			client:   client, table: "`" + db + "`.otel_traces", stop: exp.Shutdown,
		}, nil
	}
	return nil, fmt.Errorf("unknown system %q", name)
}

// throughput runs one system under load from the prebuilt pool.
func (e *benchEnv) throughput(ctx context.Context, sysName string, s shape, pool []request) (result, error) {
	sys, err := e.system(ctx, sysName)
	if err != nil {
		return result{}, err
	}
	defer sys.client.Close()
	cfg := collector.DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", ""
	cfg.MaxRequestBytes = 64 << 20
	recv, err := collector.New(cfg, sys.consumer, nil)
	if err != nil {
		return result{}, err
	}
	if err := recv.Start(ctx); err != nil {
		return result{}, err
	}
	ld := newLoad(recv.GRPCAddr(), pool, e.opts.senders)
	ld.start()
	time.Sleep(e.opts.warmup)
	count := ld.acked.Load
	if sys.stored != nil {
		count = sys.stored
	}
	a0, t0 := count(), time.Now()
	time.Sleep(e.opts.duration)
	a1, t1 := count(), time.Now()
	if err := ld.stop(); err != nil {
		return result{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	recv.Shutdown(sctx)
	if err := sys.stop(sctx); err != nil {
		return result{}, err
	}
	var stored uint64
	if err := sys.client.QueryRow(ctx, "SELECT count() FROM "+sys.table).Scan(&stored); err != nil {
		return result{}, err
	}
	r := result{system: sysName, shape: s.name(), spansPerSec: float64(a1-a0) / t1.Sub(t0).Seconds(),
		acked: uint64(ld.acked.Load()), stored: stored, throttled: ld.throttled.Load()}
	if r.stored < r.acked {
		return r, fmt.Errorf("%d spans acknowledged but only %d stored", r.acked, r.stored)
	}
	return r, nil
}

// load sends prebuilt requests as raw protobuf over OTLP/gRPC, so the
// client spends no CPU encoding.
type load struct {
	addr      string
	pool      []request
	senders   int
	next      atomic.Int64
	acked     atomic.Int64
	throttled atomic.Int64
	quit      chan struct{}
	wg        sync.WaitGroup
	errMu     sync.Mutex
	err       error
}

func newLoad(addr string, pool []request, senders int) *load {
	return &load{addr: addr, pool: pool, senders: senders, quit: make(chan struct{})}
}

func (l *load) start() {
	for i := 0; i < l.senders; i++ {
		l.wg.Add(1)
		go l.send()
	}
}

func (l *load) stop() error {
	close(l.quit)
	l.wg.Wait()
	return l.err
}

func (l *load) fail(err error) {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

func (l *load) send() {
	defer l.wg.Done()
	conn, err := grpc.NewClient(l.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		l.fail(err)
		return
	}
	defer conn.Close()
	for {
		select {
		case <-l.quit:
			return
		default:
		}
		req := l.pool[int(l.next.Add(1)-1)%len(l.pool)]
		for {
			err := conn.Invoke(context.Background(), exportMethod, &raw{b: req.proto}, &raw{})
			if err == nil {
				l.acked.Add(int64(req.spans))
				break
			}
			if c := status.Code(err); c == codes.ResourceExhausted || c == codes.Unavailable {
				l.throttled.Add(1)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			l.fail(err)
			return
		}
	}
}

type raw struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*raw).b)}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*raw).b = data.Materialize()
	return nil
}

// bytesPerSpan loads a unique FaaS-shaped corpus, merges it, and reads
// the parts' sizes from system.parts.
func (e *benchEnv) bytesPerSpan(ctx context.Context) error {
	sys, err := e.coldtrace(ctx, "embedded", false)
	if err != nil {
		return err
	}
	defer sys.client.Close()
	corpus := generate(faasShape{functions: e.opts.functions}, 42, e.opts.corpusSpans, e.opts.perRequest)
	var sent int
	for i := 0; i < len(corpus); {
		// A few requests at a time, like concurrent senders.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for j := 0; j < 8 && i < len(corpus); j, i = j+1, i+1 {
			wg.Add(1)
			go func(r request) {
				defer wg.Done()
				if err := sys.consumer.ConsumeTraces(ctx, r.td); err != nil {
					errs <- err
				}
			}(corpus[i])
			sent += corpus[i].spans
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
	}
	if err := sys.stop(ctx); err != nil {
		return err
	}
	db := sys.client.Database
	if err := sys.client.Exec(ctx, "OPTIMIZE TABLE "+sys.table+" FINAL"); err != nil {
		return err
	}
	fmt.Println("## Bytes per span on disk (FaaS-shaped corpus, after OPTIMIZE FINAL)")
	fmt.Println()
	fmt.Printf("%d unique spans, %d functions; sizes from system.parts (active parts).\n\n", sent, e.opts.functions)
	fmt.Println("| table | rows | bytes on disk | bytes per span |")
	fmt.Println("|---|---:|---:|---:|")
	rows, err := sys.client.Query(ctx, `SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts
		WHERE database = ? AND active GROUP BY table ORDER BY table`, db)
	if err != nil {
		return err
	}
	defer rows.Close()
	var total uint64
	for rows.Next() {
		var table string
		var n, b uint64
		if err := rows.Scan(&table, &n, &b); err != nil {
			return err
		}
		total += b
		fmt.Printf("| %s | %d | %d | %.1f |\n", table, n, b, float64(b)/float64(sent))
	}
	fmt.Printf("| all Coldtrace tables | | %d | %.1f |\n\n", total, float64(total)/float64(sent))
	cols, err := sys.client.Query(ctx, `SELECT name, sum(data_compressed_bytes) AS c FROM system.columns
		WHERE database = ? AND table = ? GROUP BY name ORDER BY c DESC LIMIT 8`, db, schema.TracesTable)
	if err != nil {
		return err
	}
	defer cols.Close()
	var idxBytes uint64
	if err := sys.client.QueryRow(ctx, `SELECT sum(data_compressed_bytes) FROM system.data_skipping_indices
		WHERE database = ? AND table = ?`, db, schema.TracesTable).Scan(&idxBytes); err != nil {
		return err
	}
	fmt.Printf("Skip indexes of otel_traces: %.1f bytes per span.\n\n", float64(idxBytes)/float64(sent))
	fmt.Println("Largest columns of otel_traces (compressed bytes per span):")
	fmt.Println()
	for cols.Next() {
		var name string
		var c uint64
		if err := cols.Scan(&name, &c); err != nil {
			return err
		}
		fmt.Printf("- %s: %.1f\n", name, float64(c)/float64(sent))
	}
	fmt.Println()
	return nil
}

var errNoProcess = errors.New("process gone")

func readRSS(pid int) (rss, hwm uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, errNoProcess
	}
	for _, line := range splitLines(string(b)) {
		var kb uint64
		if n, _ := fmt.Sscanf(line, "VmRSS: %d kB", &kb); n == 1 {
			rss = kb << 10
		}
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kb); n == 1 {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}
