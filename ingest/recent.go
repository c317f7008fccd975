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
// bounded memory and one cache miss per span, where two generations of Go
// maps holding as much took 72 MiB and three misses (docs/benchmarks.md).
//
// Retries that reach another collector, or arrive after a restart or after
// too many newer spans, are not caught (docs/ingest.md).
type recentSpans struct {
	seed maphash.Seed

	mu      sync.Mutex
	buckets [][bucketWays]uint64
	mask    uint64
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
	return &recentSpans{seed: maphash.MakeSeed(), buckets: make([][bucketWays]uint64, n), mask: uint64(n - 1)}
}

// dropRepeats removes from td the spans already acknowledged lately, and
// spans repeated within td itself, returning how many it removed and the
// keys of the spans left, for remember once td is acknowledged.
func (r *recentSpans) dropRepeats(tenant string, td ptrace.Traces) (keys []uint64, dropped int64) {
	if r == nil {
		return nil, 0
	}
	var buf [8 + 16 + 8]byte
	binary.LittleEndian.PutUint64(buf[:8], maphash.String(r.seed, tenant))
	keys = make([]uint64, 0, td.SpanCount())
	var inRequest map[uint64]struct{}
	if td.SpanCount() > 1 {
		inRequest = make(map[uint64]struct{}, td.SpanCount())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			sss.At(j).Spans().RemoveIf(func(s ptrace.Span) bool {
				tid, sid := s.TraceID(), s.SpanID()
				copy(buf[8:24], tid[:])
				copy(buf[24:], sid[:])
				k := maphash.Bytes(r.seed, buf[:]) | 1 // 0 marks an empty slot
				if r.seenLocked(k) {
					dropped++
					return true
				}
				if inRequest != nil {
					if _, ok := inRequest[k]; ok {
						dropped++
						return true
					}
					inRequest[k] = struct{}{}
				}
				keys = append(keys, k)
				return false
			})
		}
	}
	return keys, dropped
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

// remember records keys (from dropRepeats) as acknowledged. Only spans
// whose request succeeded are remembered: a failed request's retry must
// be stored.
func (r *recentSpans) remember(keys []uint64) {
	if r == nil || len(keys) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		b := &r.buckets[(k>>1)&r.mask]
		copy(b[1:], b[:bucketWays-1])
		b[0] = k
	}
}
