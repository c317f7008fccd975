package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/coldtrace/coldtrace/ingest/spool"
)

// drainBatchBytes bounds the OTLP payload of one insert from the spool;
// drainTargetBytes is what a batch waits to gather (for up to BatchAge):
// every insert has a fixed cost in ClickHouse (a part per table, the
// materialized views), so few large inserts beat many small ones, and
// acknowledgements do not wait for inserts.
const (
	drainBatchBytes  = 16 << 20
	drainTargetBytes = 8 << 20
)

// decoded is a spool batch turned into rows.
type decoded struct {
	batch  *spool.Batch
	blocks []*rows
}

// drain moves records from the spool into ClickHouse, one insert at a
// time and in order, while the next batch is read and decoded. Each
// insert carries its batch's deduplication token, so inserting a batch
// again after a crash or a failed attempt stores it once.
func (p *Pipeline) drain(ctx context.Context) {
	defer p.done.Done()
	if !p.waitToDrain(ctx) {
		return
	}
	next := make(chan decoded, 1)
	go func() {
		defer close(next)
		for {
			b, err := p.nextBatch(ctx)
			if err != nil {
				if !errors.Is(err, context.Canceled) && !errors.Is(err, spool.ErrClosed) {
					p.log.Error("spool read failed", "err", err)
				}
				return
			}
			d := decoded{batch: b}
			for _, rec := range b.Records {
				r, err := p.decodeRecord(rec.Payload)
				if err != nil {
					// Records were validated before they were appended;
					// one that no longer decodes is reported and skipped
					// rather than blocking the spool forever.
					p.log.Error("skipping undecodable spool record", "position", rec.Pos, "err", err)
					continue
				}
				d.blocks = append(d.blocks, r)
			}
			select {
			case next <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	for d := range next {
		if err := p.storeBatch(ctx, d); err != nil {
			if !errors.Is(err, context.Canceled) {
				p.log.Error("spool drain stopped", "err", err)
			}
			return
		}
	}
}

// waitToDrain waits for cfg.DrainAfter; false if ctx ended first.
func (p *Pipeline) waitToDrain(ctx context.Context) bool {
	if !p.drainHeld() {
		return true
	}
	select {
	case <-p.cfg.DrainAfter:
	case <-ctx.Done():
		return false
	}
	// No insert was tried yet: ClickHouse is ready now, and whether
	// inserts fail is for the first one to tell.
	p.insertFailures.record(nil)
	return true
}

// drainHeld reports whether the drain still waits for cfg.DrainAfter.
func (p *Pipeline) drainHeld() bool {
	if p.cfg.DrainAfter == nil {
		return false
	}
	select {
	case <-p.cfg.DrainAfter:
		return false
	default:
		return true
	}
}

// nextBatch reads the next batch, and when it is small gives more records
// up to BatchAge to arrive and joins them to it. A replayed batch is
// inserted exactly as it was.
func (p *Pipeline) nextBatch(ctx context.Context) (*spool.Batch, error) {
	b, err := p.spool.Next(ctx, p.cfg.BatchSpans, drainBatchBytes)
	if err != nil || b.Replay {
		return b, err
	}
	deadline := time.Now().Add(p.cfg.BatchAge)
	for b.Bytes() < drainTargetBytes && len(b.Records) < p.cfg.BatchSpans {
		wait, cancel := context.WithDeadline(ctx, deadline)
		more, err := p.spool.Next(wait, p.cfg.BatchSpans-len(b.Records), drainBatchBytes-b.Bytes())
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			break // the wait ended: insert what there is
		}
		if err := b.Extend(more); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (p *Pipeline) storeBatch(ctx context.Context, d decoded) error {
	// The checkpoint lives on the spool's disk, which may be full: retry
	// rather than stop draining, since draining is what frees the disk.
	if err := p.retrySpool(ctx, "begin", func() error { return p.spool.Begin(d.batch) }); err != nil {
		return err
	}
	if len(d.blocks) > 0 {
		// Retried until stored or shutdown: the spans are acknowledged.
		if err := p.write(ctx, d.blocks, d.batch.Token(), 0); err != nil {
			return fmt.Errorf("store spool batch %s: %w", d.batch.Token(), err)
		}
	}
	return p.retrySpool(ctx, "commit", func() error { return p.spool.Commit(d.batch) })
}

// retrySpool retries a spool checkpoint operation until it succeeds or
// ctx ends.
func (p *Pipeline) retrySpool(ctx context.Context, what string, op func() error) error {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 50*time.Millisecond, 2*time.Second
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := op()
		if err != nil {
			p.log.Warn("spool checkpoint failed, retrying", "step", what, "err", err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0))
	return err
}

func (p *Pipeline) decodeRecord(payload []byte) (*rows, error) {
	tenantID, proto, err := decodePayload(payload)
	if err != nil {
		return nil, err
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(proto); err != nil {
		return nil, fmt.Errorf("decode OTLP: %w", err)
	}
	r := toRows(req.Traces(), tenantID, p.cfg.Limits)
	p.stats.SpansTruncated.Add(r.truncated)
	return r, nil
}

// finishDrain waits until the spool is empty or ctx ends. While the drain
// is held nothing will be stored, so it does not wait.
func (p *Pipeline) finishDrain(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		st := p.spool.Stats()
		if st.Records == 0 {
			return nil
		}
		if p.drainHeld() {
			return leftInSpool(st)
		}
		select {
		case <-ctx.Done():
			return leftInSpool(st)
		case <-tick.C:
		}
	}
}

func leftInSpool(st spool.Stats) error {
	return fmt.Errorf("ingest shutdown: %d requests (%d bytes) remain in the spool and will be stored after the next start", st.Records, st.Bytes)
}
