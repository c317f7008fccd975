// Package ingest turns OTLP traces into ClickHouse rows and stores them:
// serverless enrichment into typed columns, a durable spool (or, without
// one, acknowledgement after the insert), batching, backpressure on
// senders, and the ClickHouse writer.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/ingest/spool"
	"github.com/coldtrace/coldtrace/internal/consumer"
	"github.com/coldtrace/coldtrace/internal/tenant"
)

// Config tunes the pipeline.
type Config struct {
	// Spool makes ingest durable when Spool.Dir is set: a request is
	// acknowledged once fsynced to the spool, and a drainer moves it into
	// ClickHouse. Without it, a request is acknowledged once inserted.
	Spool spool.Options `yaml:"spool"`
	// BatchSpans caps the spans of one insert without a spool. The spool
	// drains whole requests, up to 16 MiB of them (8 MiB is what a batch
	// waits to gather), and BatchSpans caps how many requests.
	BatchSpans int `yaml:"batch_spans"`
	// BatchAge is the longest a batch waits for a free writer without a
	// spool, and for more requests to gather with one.
	BatchAge time.Duration `yaml:"batch_age"`
	// QueueSpans bounds spans accepted but not yet stored without a spool;
	// past it senders get a retryable "throttled" answer.
	QueueSpans int `yaml:"queue_spans"`
	// Writers is the number of concurrent inserts without a spool (the
	// spool drains through one, in order).
	Writers int `yaml:"writers"`
	// InsertTimeout bounds one insert attempt.
	InsertTimeout time.Duration `yaml:"insert_timeout"`
	// RetryFor is how long a failing insert is retried before senders are
	// told to retry (no spool). The spool retries until ClickHouse is back.
	RetryFor time.Duration `yaml:"retry_for"`
	// MaxSpanAge drops spans that started longer ago (set it to the
	// retention: the TTL would delete them on arrival); they are reported
	// as rejected in OTLP's partial success. Zero keeps everything.
	MaxSpanAge time.Duration `yaml:"max_span_age"`
	// RecentSpans is the size, in slots of 8 bytes, of the table of spans
	// acknowledged lately, so that a sender's retry of a request already
	// stored is not stored again; a span is remembered for about a quarter
	// to a half of this many newer spans (recentSpans). Zero remembers none.
	RecentSpans int    `yaml:"recent_spans"`
	Limits      Limits `yaml:"limits"`
	// DrainAfter, when set, holds the spool's drain until it is closed:
	// spans are taken into the spool while ClickHouse cannot store them
	// yet (it does not answer, or its schema is not migrated).
	DrainAfter <-chan struct{} `yaml:"-"`
}

// DefaultConfig returns the defaults (without a spool directory).
func DefaultConfig() Config {
	return Config{
		Spool:         spool.Options{MaxBytes: 2 << 30, SegmentBytes: 64 << 20},
		BatchSpans:    20000,
		BatchAge:      200 * time.Millisecond,
		QueueSpans:    400000,
		Writers:       2,
		InsertTimeout: 30 * time.Second,
		RetryFor:      10 * time.Second,
		RecentSpans:   1 << 21,
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
	if c.Spool.Dir != "" {
		errs = append(errs, c.Spool.Validate())
	}
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
	// A RetryFor of 0 would retry forever (backoff's MaxElapsedTime), not
	// never, and hold a writer on one batch ClickHouse keeps refusing.
	if c.InsertTimeout <= 0 || c.RetryFor <= 0 {
		errs = append(errs, errors.New("ingest: insert_timeout and retry_for must be positive"))
	}
	if c.RecentSpans < 0 {
		errs = append(errs, errors.New("ingest: recent_spans must not be negative"))
	}
	return errors.Join(errs...)
}

// Stats are the pipeline's counters.
type Stats struct {
	SpansReceived  atomic.Int64
	SpansStored    atomic.Int64
	SpansRejected  atomic.Int64 // refused: throttled, too old, or failed to store
	SpansRepeated  atomic.Int64 // acknowledged, not stored again: acknowledged lately already
	SpansTruncated atomic.Int64 // attributes, events or links cut by Limits
	Batches        atomic.Int64
	BatchSpans     atomic.Int64 // spans in all batches (with Batches: mean size)
	InsertErrors   atomic.Int64
	InsertNanos    atomic.Int64 // time spent in successful inserts
	Queued         atomic.Int64 // spans accepted, not yet stored (no spool)
}

// Pipeline is the ingest stage, a consumer.Traces.
type Pipeline struct {
	cfg   Config
	w     Writer
	log   *slog.Logger
	stats Stats

	spool  *spool.Spool // nil: direct mode
	direct *direct
	recent *recentSpans // nil: RecentSpans is 0

	// batchSpans and insertSeconds are Prometheus histograms of the
	// inserts (see Metrics).
	batchSpans, insertSeconds prometheus.Histogram

	// insertFailures is since when inserts have failed (InsertsFailingFor).
	insertFailures insertHealth

	mu      sync.RWMutex
	closing bool
	stop    context.CancelFunc
	done    sync.WaitGroup
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
	p := &Pipeline{cfg: cfg, w: w, log: log, recent: newRecentSpans(cfg.RecentSpans),
		batchSpans: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "coldtrace", Subsystem: "ingest", Name: "insert_batch_spans",
			Help: "Spans per insert into ClickHouse.", Buckets: prometheus.ExponentialBuckets(16, 4, 9)}),
		insertSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "coldtrace", Subsystem: "ingest", Name: "insert_duration_seconds",
			Help: "Time of successful inserts into ClickHouse.", Buckets: prometheus.ExponentialBuckets(0.002, 2, 14)}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	if cfg.Spool.Dir != "" {
		sp, err := spool.Open(cfg.Spool, log)
		if err != nil {
			cancel()
			return nil, err
		}
		p.spool = sp
		if p.drainHeld() {
			// Nothing can be stored until the drain starts: alerts on
			// failing inserts should see that from the start.
			p.insertFailures.record(errDrainHeld)
		}
		p.done.Add(1)
		go p.drain(ctx)
	} else {
		p.direct = newDirect(p)
	}
	return p, nil
}

// Stats returns the live counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// RecheckSpool finds out whether the spool's appends work again after
// they failed (spool.Spool.Recheck); nil without a spool.
func (p *Pipeline) RecheckSpool(ctx context.Context) error {
	if p.spool == nil {
		return nil
	}
	return p.spool.Recheck(ctx)
}

// SpoolStats returns the spool's depth and lag; ok is false without one.
func (p *Pipeline) SpoolStats() (st spool.Stats, ok bool) {
	if p.spool == nil {
		return spool.Stats{}, false
	}
	return p.spool.Stats(), true
}

var (
	errShuttingDown = errors.New("ingest pipeline shutting down")
	errDrainHeld    = errors.New("spool drain waits for ClickHouse")
)

// ConsumeTraces implements consumer.Traces. With a spool it returns once
// td is fsynced there; without, once td is inserted. Errors are classified
// for the sender (retry or not).
func (p *Pipeline) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	n := int64(td.SpanCount())
	if n == 0 {
		return nil
	}
	p.stats.SpansReceived.Add(n)
	queued, partial, err := p.admit(ctx, td, n)
	if err == nil && queued != nil {
		err = queued.wait(ctx)
	}
	if err != nil {
		return err
	}
	return partial
}

// admit takes td in under the read lock Shutdown takes before it stops
// anything: it appends td to the spool, or, without one, queues it for an
// insert and returns it to be waited for outside the lock, so that a
// Shutdown out of time need not wait for inserts it can give up.
func (p *Pipeline) admit(ctx context.Context, td ptrace.Traces, n int64) (queued *pending, partial, err error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closing {
		p.stats.SpansRejected.Add(n)
		return nil, nil, consumer.Unavailable(errShuttingDown, time.Second)
	}
	if dropped, why := p.dropUnstorable(td); dropped > 0 {
		p.stats.SpansRejected.Add(dropped)
		partial = consumer.Partial(dropped, why)
		if n -= dropped; n == 0 {
			return nil, partial, nil
		}
	}
	c, repeated, err := p.claimSpans(ctx, td)
	if err != nil {
		p.stats.SpansRejected.Add(n)
		return nil, nil, err
	}
	if repeated > 0 {
		p.stats.SpansRepeated.Add(repeated)
		if n -= repeated; n == 0 {
			c.settle(true)
			return nil, partial, nil
		}
	}
	if p.spool == nil {
		// The writer settles the claim once the spans are stored.
		queued, err = p.direct.enqueue(ctx, td, n, c)
		return queued, partial, err
	}
	err = p.appendToSpool(ctx, td, n)
	c.settle(err == nil)
	return nil, partial, err
}

// claimSpans drops td's repeats of spans stored lately and claims the rest
// (recentSpans.claim), first waiting for any request that is storing some
// of the same spans: a retry sent while its first attempt is still being
// stored waits for that attempt's outcome.
func (p *Pipeline) claimSpans(ctx context.Context, td ptrace.Traces) (*claim, int64, error) {
	for {
		c, repeated, wait := p.recent.claim(tenant.FromContext(ctx), td)
		if wait == nil {
			return c, repeated, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// lastStorable is where ClickHouse's DateTime ends (2106-02-07 06:28:15
// UTC). The tables' TTL and the trace-id lookup use DateTime: a span
// starting less than the retention before it (and an hour, the hourly
// rollup's TTL counting from the hour's end) would expire on arrival.
var lastStorable = time.Unix(1<<32-1, 0)

// dropUnstorable removes the spans ingest refuses and says why, for
// OTLP's partial success: spans without a trace or span id (OTLP requires
// both; no lookup could ever find such a span, yet it would count in
// services and rollups), spans that started before the retention window
// (the TTL would delete them on arrival) and spans so far in the future
// that the TTL cannot count to their expiry (lastStorable).
func (p *Pipeline) dropUnstorable(td ptrace.Traces) (int64, string) {
	var oldest uint64
	if p.cfg.MaxSpanAge > 0 {
		oldest = uint64(time.Now().Add(-p.cfg.MaxSpanAge).UnixNano())
	}
	latestTime := lastStorable.Add(-p.cfg.MaxSpanAge - time.Hour)
	latest := uint64(latestTime.UnixNano())
	var noID, tooOld, tooLate int64
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(s ptrace.Span) bool {
				switch start := uint64(s.StartTimestamp()); {
				case s.TraceID().IsEmpty() || s.SpanID().IsEmpty():
					noID++
				case start < oldest:
					tooOld++
				case start > latest:
					tooLate++
				default:
					return false
				}
				return true
			})
		}
	}
	var why []string
	if noID > 0 {
		why = append(why, fmt.Sprintf("%d spans had an empty (all-zero) trace or span id, which OTLP does not allow, and were dropped", noID))
	}
	if tooOld > 0 {
		why = append(why, fmt.Sprintf("%d spans started more than %v ago, before the retention window, and were dropped", tooOld, p.cfg.MaxSpanAge))
	}
	if tooLate > 0 {
		why = append(why, fmt.Sprintf("%d spans started after %s, too late for ClickHouse to keep them for the retention (its DateTime ends in 2106), and were dropped",
			tooLate, latestTime.UTC().Format(time.RFC3339)))
	}
	return noID + tooOld + tooLate, strings.Join(why, "; ")
}

func (p *Pipeline) appendToSpool(ctx context.Context, td ptrace.Traces, n int64) error {
	payload, err := encodePayload(tenant.FromContext(ctx), td)
	if err != nil {
		p.stats.SpansRejected.Add(n)
		return consumer.Permanent(fmt.Errorf("encode spans: %w", err))
	}
	if err := p.spool.Append(ctx, payload); err != nil {
		p.stats.SpansRejected.Add(n)
		switch {
		case errors.Is(err, spool.ErrFull), errors.Is(err, spool.ErrDiskFull):
			return consumer.Throttled(err, 5*time.Second)
		case errors.Is(err, spool.ErrClosed):
			return consumer.Unavailable(errShuttingDown, time.Second)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		return consumer.Unavailable(err, time.Second)
	}
	return nil
}

// maxInsertTimeoutGrowth bounds how far retries stretch an insert's
// timeout (see write).
const maxInsertTimeoutGrowth = 8

// write inserts blocks under token, retrying with exponential backoff for
// up to retryFor (forever when retryFor is 0) or until ctx ends.
func (p *Pipeline) write(ctx context.Context, blocks []*rows, token string, retryFor time.Duration) error {
	n := int64(countRows(blocks))
	timeout := p.cfg.InsertTimeout
	op := func() (struct{}, error) {
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		err := p.w.Write(actx, blocks, token)
		p.insertFailures.record(err)
		if err != nil {
			p.stats.InsertErrors.Add(1)
			p.log.Warn("insert failed, retrying", "spans", n, "timeout", timeout, "err", err)
			// An insert that ran out of time would run out again with the
			// same bound: a spool batch is replayed exactly as it was (its
			// token), so it cannot get smaller, and the drain would stall
			// on it for good. Each timeout doubles the bound, up to
			// maxInsertTimeoutGrowth times the configured one.
			if actx.Err() != nil && ctx.Err() == nil {
				timeout = min(2*timeout, maxInsertTimeoutGrowth*p.cfg.InsertTimeout)
			}
			return struct{}{}, err
		}
		took := time.Since(start)
		p.stats.InsertNanos.Add(int64(took))
		p.insertSeconds.Observe(took.Seconds())
		p.batchSpans.Observe(float64(n))
		return struct{}{}, nil
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 5 * time.Second
	if _, err := backoff.Retry(ctx, op, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(retryFor)); err != nil {
		return err
	}
	p.stats.SpansStored.Add(n)
	p.stats.Batches.Add(1)
	p.stats.BatchSpans.Add(n)
	return nil
}

// insertHealth remembers since when inserts have failed.
type insertHealth struct {
	mu    sync.Mutex
	since time.Time // zero: the last insert succeeded
}

func (h *insertHealth) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.since = time.Time{}
	case h.since.IsZero():
		h.since = time.Now()
	}
}

// InsertsFailingFor is how long inserts have failed without a success (0
// while they succeed). ClickHouse may answer a ping and still refuse every
// insert (a full disk, a read-only table); with a spool the collector
// stays ready meanwhile, so this (coldtrace_ingest_inserts_failing_seconds)
// is what to alert on, with the spool's lag.
func (p *Pipeline) InsertsFailingFor() time.Duration {
	h := &p.insertFailures
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.since.IsZero() {
		return 0
	}
	return time.Since(h.since)
}

// WaitStored returns once every span acknowledged so far is stored in
// ClickHouse (with a spool, drained from it), or when ctx ends.
func (p *Pipeline) WaitStored(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.spool != nil {
			if p.spool.Stats().Records == 0 {
				return nil
			}
		} else if p.stats.Queued.Load() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Shutdown stops accepting spans and stores what is pending, waiting at
// most until ctx ends. With a spool, what is left stays on disk and is
// stored after the next start.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return nil
	}
	p.closing = true
	p.mu.Unlock()
	var err error
	if p.spool != nil {
		err = p.finishDrain(ctx)
	} else {
		err = p.direct.shutdown(ctx)
	}
	p.stop()
	p.done.Wait()
	if p.spool != nil {
		p.spool.Close()
	}
	return err
}
