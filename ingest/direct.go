package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/coldtrace/coldtrace/internal/consumer"
	"github.com/coldtrace/coldtrace/internal/tenant"
)

// direct is the pipeline without a spool: a request waits until its spans
// are inserted. Requests are grouped into inserts (group commit), and a
// bounded queue pushes back on senders.
type direct struct {
	p       *Pipeline
	in      chan *pending
	flushes chan []*pending
	stop    chan struct{}
	done    chan struct{}
	// inserts is the writers' context: a shutdown out of time cancels it,
	// so no insert outlives Pipeline.Shutdown.
	inserts      context.Context
	cancelInsert context.CancelFunc
}

type pending struct {
	r     *rows
	claim *claim // settled once the spans are stored, or not
	done  chan error
}

var errQueueFull = errors.New("ingest queue full")

func newDirect(p *Pipeline) *direct {
	d := &direct{p: p, in: make(chan *pending, 64), flushes: make(chan []*pending), stop: make(chan struct{}), done: make(chan struct{})}
	d.inserts, d.cancelInsert = context.WithCancel(context.Background())
	writers := make(chan struct{}, p.cfg.Writers)
	go func() {
		d.batchLoop()
		for i := 0; i < p.cfg.Writers; i++ {
			<-writers
		}
		close(d.done)
	}()
	for i := 0; i < p.cfg.Writers; i++ {
		go func() { d.writeLoop(); writers <- struct{}{} }()
	}
	return d
}

// enqueue queues td for an insert; the caller waits for it with
// pending.wait.
func (d *direct) enqueue(ctx context.Context, td ptrace.Traces, n int64, c *claim) (*pending, error) {
	p := d.p
	// A single request larger than the queue is admitted when the queue is
	// empty, so no request is refused forever.
	if q := p.stats.Queued.Add(n); q > int64(p.cfg.QueueSpans) && q != n {
		p.stats.Queued.Add(-n)
		p.stats.SpansRejected.Add(n)
		c.settle(false)
		return nil, consumer.Throttled(fmt.Errorf("%w (%d spans waiting to be stored)", errQueueFull, q-n), d.retryHint())
	}
	r := toRows(td, tenant.FromContext(ctx), p.cfg.Limits)
	p.stats.SpansTruncated.Add(r.truncated)
	pd := &pending{r: r, claim: c, done: make(chan error, 1)}
	select {
	case d.in <- pd:
	case <-ctx.Done():
		p.stats.Queued.Add(-n)
		p.stats.SpansRejected.Add(n)
		c.settle(false)
		return nil, ctx.Err()
	}
	return pd, nil
}

// wait returns once pd's spans are stored, or could not be.
func (pd *pending) wait(ctx context.Context) error {
	select {
	case err := <-pd.done:
		return err
	case <-ctx.Done():
		// The spans may still be stored; the sender will retry, which is
		// why replays must be harmless.
		return ctx.Err()
	}
}

// retryHint suggests how long a throttled sender should wait: about the
// time to drain the queue at one batch per BatchAge.
func (d *direct) retryHint() time.Duration {
	c := d.p.cfg
	return max(time.Second, c.BatchAge*time.Duration(c.QueueSpans/c.BatchSpans)/time.Duration(c.Writers))
}

// batchLoop groups pending requests into inserts. A batch goes to a
// writer as soon as one is free (group commit): a lone request is stored
// with no added latency, and while every writer is busy requests pile up
// into one bigger insert. BatchSpans caps an insert; BatchAge bounds how
// long a batch may wait for a writer before the loop blocks on one.
func (d *direct) batchLoop() {
	defer close(d.flushes)
	var (
		cur   []*pending
		spans int
		timer = time.NewTimer(time.Hour)
	)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(cur) > 0 {
			d.flushes <- cur
			cur, spans = nil, 0
		}
	}
	add := func(pd *pending) {
		if len(cur) == 0 {
			timer.Reset(d.p.cfg.BatchAge)
		}
		cur = append(cur, pd)
		spans += pd.r.len()
		if spans >= d.p.cfg.BatchSpans {
			flush()
		}
	}
	for {
		var offer chan []*pending
		if len(cur) > 0 {
			offer = d.flushes
		}
		select {
		case pd := <-d.in:
			add(pd)
		case offer <- cur:
			timer.Stop()
			cur, spans = nil, 0
		case <-timer.C:
			flush()
		case <-d.stop:
			for {
				select {
				case pd := <-d.in:
					add(pd)
				default:
					flush()
					return
				}
			}
		}
	}
}

func (d *direct) writeLoop() {
	p := d.p
	for batch := range d.flushes {
		blocks := make([]*rows, len(batch))
		for i, pd := range batch {
			blocks[i] = pd.r
		}
		n := int64(countRows(blocks))
		err := p.write(d.inserts, blocks, uniqueToken(), p.cfg.RetryFor)
		p.stats.Queued.Add(-n)
		if err != nil {
			p.stats.SpansRejected.Add(n)
			p.log.Error("storing spans failed; senders will retry", "spans", n, "err", err)
			err = consumer.Unavailable(fmt.Errorf("storing spans failed: %w", err), time.Second)
		}
		for _, pd := range batch {
			// Here, not in ConsumeTraces: a sender that gave up waiting
			// retries spans that are stored all the same.
			pd.claim.settle(err == nil)
			pd.done <- err
		}
	}
}

// shutdown stores what is queued, until ctx ends; then it gives up the
// inserts under way and answers their senders that their spans were not
// stored (they retry them elsewhere or later). Callers have stopped new
// requests (Pipeline.closing) before.
func (d *direct) shutdown(ctx context.Context) error {
	defer d.cancelInsert()
	close(d.stop)
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		left := d.p.stats.Queued.Load()
		d.cancelInsert()
		<-d.done
		return fmt.Errorf("ingest shutdown: %w (%d spans not stored)", ctx.Err(), left)
	}
}
