package ingest

import (
	"encoding/binary"
	"hash/maphash"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// recentSpans remembers the spans acknowledged lately, so that a sender's
// retry of a request that was in fact stored is not stored again. OTLP
// exporters retry after a timeout or a lost answer; without this, each such
// retry doubled a span's counts in the function rollups, the services list
// and the trace, and squared its dependency edges.
//
// A span is known by a 64-bit hash of its tenant, trace id and span id
// under a per-process random seed, so crafted ids cannot aim at
// collisions; an accidental one (a new span taken for a repeat) has odds
// of about slots / 2^64. The hashes live in a fixed table of 8-way buckets,
// one cache line each, newest first: a span is forgotten once 8 newer ones
// have landed in its bucket. With n slots, a span is still remembered
// after n/4 newer ones with a probability of 99.9 %, after n/2 of 95 %:
// bounded memory and one cache miss per span in the table, where two
// generations of Go maps holding as much took 72 MiB and three misses
// (docs/benchmarks.md). Only the spans of requests being stored sit in a
// map (claimed), which also finds a span repeated within a request.
//
// A retry that arrives while its first attempt is still being stored
// waits for it (claim). Retries that reach another collector, or arrive
// after a restart or after too many newer spans, are not caught
// (docs/ingest.md).
type recentSpans struct {
	seed maphash.Seed

	mu      sync.Mutex
	buckets [][bucketWays]uint64
	mask    uint64
	claimed map[uint64]*claim // spans of requests being stored
}

const bucketWays = 8

// newRecentSpans remembers up to slots spans (rounded up to a power of
// two); nil, which remembers nothing, for slots <= 0.
func newRecentSpans(slots int) *recentSpans {
	if slots <= 0 {
		return nil
	}
	n := 1
	for n*bucketWays < slots {
		n *= 2
	}
	return &recentSpans{seed: maphash.MakeSeed(), buckets: make([][bucketWays]uint64, n), mask: uint64(n - 1), claimed: map[uint64]*claim{}}
}

// claim is the spans of a request being stored: a request that carries
// any of them meanwhile waits until it is settled, then finds them
// remembered (stored: it drops them) or not (failed: it stores them). So
// a sender's retry that arrives while its first attempt is still being
// stored is not stored a second time; under load that is most retries.
type claim struct {
	r    *recentSpans
	keys []uint64
	done chan struct{}
	once sync.Once
}

// claim removes from td the spans acknowledged lately and those repeated
// within td, and claims the rest until the returned claim is settled. If
// some of td's spans are claimed by a request being stored, it changes
// nothing and returns a channel closed once that request is settled: wait,
// then claim again. A nil r claims nothing (c is nil; settling it is a
// no-op).
func (r *recentSpans) claim(tenant string, td ptrace.Traces) (c *claim, dropped int64, wait <-chan struct{}) {
	if r == nil {
		return nil, 0, nil
	}
	var buf [8 + 16 + 8]byte
	binary.LittleEndian.PutUint64(buf[:8], maphash.String(r.seed, tenant))
	all := make([]uint64, 0, td.SpanCount())
	eachSpan(td, func(s ptrace.Span) {
		tid, sid := s.TraceID(), s.SpanID()
		copy(buf[8:24], tid[:])
		copy(buf[24:], sid[:])
		all = append(all, maphash.Bytes(r.seed, buf[:])|1) // 0 marks an empty slot
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range all {
		if other := r.claimed[k]; other != nil {
			return nil, 0, other.done
		}
	}
	c = &claim{r: r, keys: make([]uint64, 0, len(all)), done: make(chan struct{})}
	i := 0
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		sss := rss.At(ri).ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			sss.At(si).Spans().RemoveIf(func(ptrace.Span) bool {
				k := all[i]
				i++
				// Claimed by c already: repeated within td.
				if r.seenLocked(k) || r.claimed[k] == c {
					dropped++
					return true
				}
				c.keys = append(c.keys, k)
				r.claimed[k] = c
				return false
			})
		}
	}
	return c, dropped, nil
}

// settle ends the claim: its spans are remembered when stored (a failed
// request's retry must be stored, so they are not otherwise), and the
// requests waiting for it go on. Only the first call counts.
func (c *claim) settle(stored bool) {
	if c == nil {
		return
	}
	c.once.Do(func() {
		r := c.r
		r.mu.Lock()
		for _, k := range c.keys {
			delete(r.claimed, k)
			if stored {
				b := &r.buckets[(k>>1)&r.mask]
				copy(b[1:], b[:bucketWays-1])
				b[0] = k
			}
		}
		r.mu.Unlock()
		close(c.done)
	})
}

// eachSpan calls fn with every span of td, in order.
func eachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				fn(spans.At(k))
			}
		}
	}
}

func (r *recentSpans) seenLocked(k uint64) bool {
	b := &r.buckets[(k>>1)&r.mask]
	for _, v := range b {
		if v == k {
			return true
		}
	}
	return false
}
