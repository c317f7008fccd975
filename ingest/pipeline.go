// Package ingest turns OTLP traces into ClickHouse rows and stores them:
// serverless enrichment into typed columns, batching by size and age, a
// bounded queue that pushes back on senders, and the ClickHouse writer.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/consumer"
	"github.com/coldtrace/coldtrace/internal/tenant"
)

// Config tunes the pipeline.
type Config struct {
	// BatchSpans flushes a batch once this many spans are pending.
	BatchSpans int `yaml:"batch_spans"`
	// BatchAge is the longest a batch waits for a free writer; past it the
	// batcher stops taking requests until a writer takes the batch.
	BatchAge time.Duration `yaml:"batch_age"`
	// QueueSpans bounds spans accepted but not yet stored; past it senders
	// get a retryable "throttled" answer.
	QueueSpans int `yaml:"queue_spans"`
	// Writers is the number of concurrent inserts.
	Writers int `yaml:"writers"`
	// InsertTimeout bounds one insert attempt.
	InsertTimeout time.Duration `yaml:"insert_timeout"`
	// RetryFor is how long a failing batch is retried before its senders
	// are told to retry themselves.
	RetryFor time.Duration `yaml:"retry_for"`
	// MaxSpanAge drops spans that started longer ago (set it to the
	// retention: the TTL would delete them on arrival); they are reported
	// as rejected in OTLP's partial success. Zero keeps everything.
	MaxSpanAge time.Duration `yaml:"max_span_age"`
	Limits     Limits        `yaml:"limits"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		BatchSpans:    20000,
		BatchAge:      200 * time.Millisecond,
		QueueSpans:    400000,
		Writers:       2,
		InsertTimeout: 30 * time.Second,
		RetryFor:      10 * time.Second,
		Limits: Limits{
			MaxAttributes:  128,
			MaxValueLength: 64 << 10,
			MaxEvents:      128,
			MaxLinks:       128,
		},
	}
}

// Validate reports invalid settings.
func (c Config) Validate() error {
	var errs []error
	if c.BatchSpans <= 0 {
		errs = append(errs, errors.New("ingest: batch_spans must be positive"))
	}
	if c.BatchAge <= 0 {
		errs = append(errs, errors.New("ingest: batch_age must be positive"))
	}
	if c.QueueSpans < c.BatchSpans {
		errs = append(errs, fmt.Errorf("ingest: queue_spans (%d) must be at least batch_spans (%d)", c.QueueSpans, c.BatchSpans))
	}
	if c.Writers <= 0 {
		errs = append(errs, errors.New("ingest: writers must be positive"))
	}
	if c.InsertTimeout <= 0 || c.RetryFor < 0 {
		errs = append(errs, errors.New("ingest: insert_timeout must be positive and retry_for not negative"))
	}
	return errors.Join(errs...)
}

// Stats are the pipeline's counters.
type Stats struct {
	SpansReceived  atomic.Int64
	SpansStored    atomic.Int64
	SpansRejected  atomic.Int64 // refused: throttled or failed to store
	SpansTruncated atomic.Int64 // attributes, events or links cut by Limits
	Batches        atomic.Int64
	InsertErrors   atomic.Int64
	Queued         atomic.Int64 // spans accepted, not yet stored
}

// Pipeline is the ingest stage: a consumer.Traces that acknowledges once
// spans are stored.
type Pipeline struct {
	cfg   Config
	w     Writer
	log   *slog.Logger
	stats Stats

	in      chan *pending
	flushes chan []*pending

	mu      sync.RWMutex
	closing bool
	stop    chan struct{}
	done    sync.WaitGroup
}

type pending struct {
	r    *rows
	done chan error
}

// New returns a pipeline writing spans to conn in the schema o describes.
func New(cfg Config, conn driver.Conn, o schema.Options, log *slog.Logger) (*Pipeline, error) {
	return newPipeline(cfg, newClickHouseWriter(conn, o), log)
}

func newPipeline(cfg Config, w Writer, log *slog.Logger) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Pipeline{
		cfg:     cfg,
		w:       w,
		log:     log,
		in:      make(chan *pending, 64),
		flushes: make(chan []*pending),
		stop:    make(chan struct{}),
	}
	p.done.Add(1 + cfg.Writers)
	go p.batchLoop()
	for i := 0; i < cfg.Writers; i++ {
		go p.writeLoop()
	}
	return p, nil
}

// Stats returns the live counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

var (
	errQueueFull    = errors.New("ingest queue full")
	errShuttingDown = errors.New("ingest pipeline shutting down")
)

// ConsumeTraces implements consumer.Traces: it returns once every span of
// td is stored, or with a classified error saying whether to retry.
func (p *Pipeline) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := int64(td.SpanCount())
	if n == 0 {
		return nil
	}
	p.stats.SpansReceived.Add(n)
	// A single request larger than the queue is admitted when the queue is
	// empty, so no request is refused forever.
	if q := p.stats.Queued.Add(n); q > int64(p.cfg.QueueSpans) && q != n {
		p.stats.Queued.Add(-n)
		p.stats.SpansRejected.Add(n)
		return consumer.Throttled(fmt.Errorf("%w (%d spans waiting to be stored)", errQueueFull, q-n), p.retryHint())
	}
	var oldest time.Time
	if p.cfg.MaxSpanAge > 0 {
		oldest = time.Now().Add(-p.cfg.MaxSpanAge)
	}
	r := toRows(td, tenant.FromContext(ctx), p.cfg.Limits, oldest)
	if r.truncated > 0 {
		p.stats.SpansTruncated.Add(r.truncated)
	}
	var partial error
	if r.tooOld > 0 {
		p.stats.Queued.Add(-r.tooOld)
		p.stats.SpansRejected.Add(r.tooOld)
		partial = consumer.Partial(r.tooOld, fmt.Sprintf("%d spans started more than %v ago, before the retention window, and were dropped", r.tooOld, p.cfg.MaxSpanAge))
		if r.len() == 0 {
			return partial
		}
	}
	kept := int64(r.len())
	pd := &pending{r: r, done: make(chan error, 1)}
	if err := p.enqueue(ctx, pd); err != nil {
		p.stats.Queued.Add(-kept)
		p.stats.SpansRejected.Add(kept)
		return err
	}
	select {
	case err := <-pd.done:
		if err != nil {
			return err
		}
		return partial
	case <-ctx.Done():
		// The spans may still be stored; the sender will retry, which is
		// why replays must be harmless.
		return ctx.Err()
	}
}

// enqueue hands pd to the batcher. The read lock keeps Shutdown from
// stopping the batcher while a send is in flight.
func (p *Pipeline) enqueue(ctx context.Context, pd *pending) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closing {
		return consumer.Unavailable(errShuttingDown, time.Second)
	}
	select {
	case p.in <- pd:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryHint suggests how long a throttled sender should wait: about the
// time to drain the queue at one batch per BatchAge.
func (p *Pipeline) retryHint() time.Duration {
	return max(time.Second, p.cfg.BatchAge*time.Duration(p.cfg.QueueSpans/p.cfg.BatchSpans)/time.Duration(p.cfg.Writers))
}

// batchLoop groups pending requests into inserts. A batch goes to a
// writer as soon as one is free (group commit): a lone request is stored
// with no added latency, and while every writer is busy requests pile up
// into one bigger insert. BatchSpans caps an insert; BatchAge bounds how
// long a batch may wait for a writer before the loop blocks on one.
func (p *Pipeline) batchLoop() {
	defer p.done.Done()
	defer close(p.flushes)
	var (
		cur   []*pending
		spans int
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(cur) > 0 {
			p.flushes <- cur
			cur, spans = nil, 0
		}
	}
	add := func(pd *pending) {
		if len(cur) == 0 {
			timer.Reset(p.cfg.BatchAge)
		}
		cur = append(cur, pd)
		spans += pd.r.len()
		if spans >= p.cfg.BatchSpans {
			flush()
		}
	}
	for {
		var offer chan []*pending
		if len(cur) > 0 {
			offer = p.flushes
		}
		select {
		case pd := <-p.in:
			add(pd)
		case offer <- cur:
			timer.Stop()
			cur, spans = nil, 0
		case <-timer.C:
			flush()
		case <-p.stop:
			for {
				select {
				case pd := <-p.in:
					add(pd)
				default:
					flush()
					return
				}
			}
		}
	}
}

func (p *Pipeline) writeLoop() {
	defer p.done.Done()
	for batch := range p.flushes {
		blocks := make([]*rows, len(batch))
		for i, pd := range batch {
			blocks[i] = pd.r
		}
		n := int64(countRows(blocks))
		err := p.writeWithRetry(blocks)
		p.stats.Queued.Add(-n)
		if err != nil {
			p.stats.SpansRejected.Add(n)
			p.log.Error("storing spans failed; senders will retry", "spans", n, "err", err)
			err = consumer.Unavailable(fmt.Errorf("storing spans failed: %w", err), time.Second)
		} else {
			p.stats.SpansStored.Add(n)
			p.stats.Batches.Add(1)
		}
		for _, pd := range batch {
			pd.done <- err
		}
	}
}

func (p *Pipeline) writeWithRetry(blocks []*rows) error {
	op := func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.InsertTimeout)
		defer cancel()
		err := p.w.Write(ctx, blocks)
		if err != nil {
			p.stats.InsertErrors.Add(1)
			p.log.Warn("insert failed, retrying", "err", err)
		}
		return struct{}{}, err
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 2 * time.Second
	_, err := backoff.Retry(context.Background(), op, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(p.cfg.RetryFor))
	return err
}

// Shutdown stops accepting spans and stores what is pending, waiting at
// most until ctx ends.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return nil
	}
	p.closing = true
	p.mu.Unlock()
	close(p.stop)
	finished := make(chan struct{})
	go func() { p.done.Wait(); close(finished) }()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ingest shutdown: %w (%d spans not stored)", ctx.Err(), p.stats.Queued.Load())
	}
}
