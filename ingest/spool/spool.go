// Package spool is ingest's write-ahead log. A request is acknowledged
// once its record is fsynced here; a drainer then moves records into
// ClickHouse and commits them. After a crash, Open finds every record not
// yet committed, and the range that was being inserted when the process
// died, so the drainer can repeat that exact insert with the same
// deduplication token.
//
// On disk: segment files NNNNNNNNNNNNNNNNNNNN.seg holding records
// [length uint32][crc32c uint32][payload], and a checkpoint file holding
// the committed position and the in-flight range.
package spool

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a spool.
type Options struct {
	// Dir holds the spool's files.
	Dir string
	// MaxBytes bounds the undrained records on disk; past it Append
	// returns ErrFull.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file starts.
	SegmentBytes int64
}

// Validate reports invalid options.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("spool: empty directory"))
	}
	if o.MaxBytes <= 0 || o.SegmentBytes <= 0 {
		errs = append(errs, errors.New("spool: max and segment sizes must be positive"))
	}
	return errors.Join(errs...)
}

var (
	// ErrFull means the spool holds MaxBytes of undrained records.
	ErrFull = errors.New("spool full")
	// ErrDiskFull means the disk under the spool has no space left.
	ErrDiskFull = errors.New("spool disk full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("spool closed")
)

// Position addresses a record: its segment and byte offset.
type Position struct {
	Segment uint64
	Offset  int64
}

func (p Position) less(q Position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Segment, p.Offset) }

// Record is one appended entry.
type Record struct {
	Pos     Position
	Payload []byte
	// Appended is when the record was appended (for lag).
	Appended time.Time
}

// Batch is a run of consecutive records handed to the drainer.
type Batch struct {
	Start, End Position // End is the position after the last record
	Records    []Record
	// Replay is set on the batch that was in flight when the previous
	// process stopped: it must be inserted again, exactly, with Token.
	Replay bool
	spool  string // the spool's id; "" for a replay of a spool from before ids
}

// Token is the batch's deduplication token: the same range of the same
// spool always gets the same token, so ClickHouse stores a repeated insert
// only once. The spool's id keeps two spools (two collectors, or a spool
// started afresh) from sharing tokens: positions alone start at 0:0 in
// every spool, and ClickHouse would drop one's batches as the other's.
func (b *Batch) Token() string {
	if b.spool == "" {
		return "spool:" + b.Start.String() + "-" + b.End.String()
	}
	return "spool:" + b.spool + ":" + b.Start.String() + "-" + b.End.String()
}

const headerSize = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Spool is the write-ahead log. Append may be called concurrently; the
// read side (Next, Begin, Commit) belongs to a single drainer.
type Spool struct {
	opts Options
	log  *slog.Logger

	appendCh chan *appendReq
	done     chan struct{}
	closed   chan struct{}

	mu        sync.Mutex
	cond      *sync.Cond
	durable   Position // end of fsynced records
	committed Position // drained and acknowledged by ClickHouse
	inflight  Position // end of the range being inserted (zero: none)
	cursor    Position // where Next continues
	replay    bool     // the next batch must be exactly [committed, inflight)
	sizes     map[uint64]int64
	pending   int64 // bytes of durable, uncommitted records
	records   int64 // count of durable, uncommitted records
	oldest    []time.Time
	err       error // sticky append error (e.g. disk full) cleared by a later success
	isClosed  bool

	cp   *checkpointStore
	lock *os.File // holds the directory's flock while open
	id   string   // random, kept in the directory: part of every token
	// legacyReplay: the spool predates ids and a batch was in flight; its
	// replay keeps the token it was first sent with.
	legacyReplay bool

	// appender state
	seg     *os.File
	segNum  uint64
	segSize int64
}

type appendReq struct {
	payload []byte
	recheck bool // no payload: see Recheck
	done    chan error
}

// Open opens or creates the spool in opts.Dir and recovers its state.
func Open(opts Options, log *slog.Logger) (*Spool, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	id, created, err := loadOrCreateID(opts.Dir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	// Probes of a Recheck that a crash interrupted.
	probes, _ := filepath.Glob(filepath.Join(opts.Dir, recheckPattern))
	for _, f := range probes {
		os.Remove(f)
	}
	s := &Spool{opts: opts, log: log, lock: lock, id: id, appendCh: make(chan *appendReq, 256), done: make(chan struct{}), closed: make(chan struct{}), sizes: map[uint64]int64{}}
	s.cond = sync.NewCond(&s.mu)
	if err := s.recover(); err != nil {
		if s.cp != nil {
			s.cp.close()
		}
		lock.Close()
		return nil, err
	}
	s.legacyReplay = created && s.replay
	go s.appendLoop()
	return s, nil
}

func segName(n uint64) string { return fmt.Sprintf("%020d.seg", n) }

func (s *Spool) segPath(n uint64) string { return filepath.Join(s.opts.Dir, segName(n)) }

func (s *Spool) segments() ([]uint64, error) {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var nums []uint64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err == nil {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums, nil
}

// recover reads the checkpoint, drops segments already committed, cuts a
// torn record off the end of the last segment, and counts what is left.
func (s *Spool) recover() error {
	store, cp, err := openCheckpoint(s.opts.Dir)
	if err != nil {
		return err
	}
	s.cp = store
	s.committed, s.inflight = cp.committed, cp.inflight
	nums, err := s.segments()
	if err != nil {
		return err
	}
	for i, n := range nums {
		path := s.segPath(n)
		if n < s.committed.Segment {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("spool: remove drained segment: %w", err)
			}
			continue
		}
		valid, times, err := scanSegment(path, n)
		if err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if valid < st.Size() {
			if i != len(nums)-1 {
				return fmt.Errorf("spool: segment %s is corrupt at offset %d and is not the last one", path, valid)
			}
			// Only a record that was never acknowledged can be torn: an
			// acknowledged one was fsynced.
			s.log.Warn("spool: cutting an unacknowledged torn record", "segment", path, "offset", valid, "bytes", st.Size()-valid)
			if err := os.Truncate(path, valid); err != nil {
				return fmt.Errorf("spool: truncate torn record: %w", err)
			}
		}
		s.sizes[n] = valid
		for _, t := range times {
			if !t.pos.less(s.committed) {
				s.records++
				s.pending += t.size
				s.oldest = append(s.oldest, t.at)
			}
		}
		s.segNum = n
		s.durable = Position{Segment: n, Offset: valid}
	}
	if len(nums) == 0 || s.durable.less(s.committed) {
		if s.committed.Offset > 0 {
			// The segment of the committed position is shorter than it (cut
			// or lost since): records appended to it would lie before the
			// committed position and never drain. What it held up to there
			// is stored; go on in a new segment.
			next := Position{Segment: s.committed.Segment + 1}
			s.log.Warn("spool: the committed position is past the end of its segment; starting a new one",
				"committed", s.committed.String(), "segment_end", s.durable.String())
			if err := s.cp.write(checkpoint{committed: next}); err != nil {
				return err
			}
			for _, n := range nums {
				if err := os.Remove(s.segPath(n)); err != nil {
					return fmt.Errorf("spool: remove drained segment: %w", err)
				}
				delete(s.sizes, n)
			}
			s.committed, s.inflight, s.records, s.pending, s.oldest = next, Position{}, 0, 0, nil
		}
		s.durable = s.committed
		s.segNum = s.committed.Segment
	}
	s.cursor = s.committed
	s.replay = s.inflight != (Position{}) && s.committed.less(s.inflight)
	if !s.replay {
		s.inflight = Position{}
	}
	if s.records > 0 {
		s.log.Info("spool: replaying records not yet stored", "records", s.records, "bytes", s.pending, "replay_inflight", s.replay)
	}
	return nil
}

type scanned struct {
	pos  Position
	size int64
	at   time.Time
}

// scanSegment returns the offset after the last valid record and each
// record's position, size and append time (the file's mtime stands in
// for records found after a restart).
func scanSegment(path string, n uint64) (int64, []scanned, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var out []scanned
	hdr := make([]byte, headerSize)
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return off, out, nil
		}
		size := binary.LittleEndian.Uint32(hdr)
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if int64(size) > st.Size()-off-headerSize {
			return off, out, nil
		}
		if cap(buf) < int(size) {
			buf = make([]byte, size)
		}
		buf = buf[:size]
		if _, err := io.ReadFull(r, buf); err != nil || crc32.Checksum(buf, crcTable) != sum {
			return off, out, nil
		}
		out = append(out, scanned{pos: Position{n, off}, size: headerSize + int64(size), at: st.ModTime()})
		off += headerSize + int64(size)
	}
}

// Append writes payload and returns once it is on disk (fsynced). Many
// concurrent Appends share one fsync.
func (s *Spool) Append(ctx context.Context, payload []byte) error {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.pending+int64(len(payload))+headerSize > s.opts.MaxBytes && s.pending > 0 {
		s.mu.Unlock()
		return fmt.Errorf("%w: %d bytes waiting to be stored (limit %d)", ErrFull, s.pending, s.opts.MaxBytes)
	}
	s.mu.Unlock()
	req := &appendReq{payload: payload, done: make(chan error, 1)}
	if err := s.handOver(ctx, req); err != nil {
		return err
	}
	// Once handed over, the record may be written: wait for the outcome
	// rather than ctx, so an acknowledgement is never lost. A request
	// handed over as Close stopped the append loop may never be seen.
	select {
	case err := <-req.done:
		return err
	case <-s.done:
		select {
		case err := <-req.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// handOver gives req to the append loop.
func (s *Spool) handOver(ctx context.Context, req *appendReq) error {
	select {
	case s.appendCh <- req:
		return nil
	case <-s.closed:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Spool) appendLoop() {
	defer close(s.done)
	for {
		var batch []*appendReq
		select {
		case r := <-s.appendCh:
			batch = append(batch, r)
		case <-s.closed:
			s.drainAppends(ErrClosed)
			if s.seg != nil {
				s.seg.Close()
			}
			return
		}
	more:
		for len(batch) < 1024 {
			select {
			case r := <-s.appendCh:
				batch = append(batch, r)
			default:
				break more
			}
		}
		var records []*appendReq
		for _, r := range batch {
			if !r.recheck {
				records = append(records, r)
			}
		}
		var err error
		if len(records) > 0 {
			err = s.writeBatch(records)
		} else {
			err = s.recheck()
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// Recheck, while appends are failing (Stats.Err), finds out whether they
// would work again, without waiting for a sender's request to try:
// readiness reads Stats.Err, and a load balancer sends nothing to a
// collector that is not ready. It returns the append error that remains,
// nil once appends work.
func (s *Spool) Recheck(ctx context.Context) error {
	s.mu.Lock()
	failing, closed := s.err != nil, s.isClosed
	s.mu.Unlock()
	if !failing || closed {
		return nil
	}
	req := &appendReq{recheck: true, done: make(chan error, 1)}
	if err := s.handOver(ctx, req); err != nil {
		return err
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recheckBytes is the size of the probe Recheck writes: a typical request.
const recheckBytes = 64 << 10

// recheckPattern names Recheck's probe files.
const recheckPattern = "recheck-*"

// recheck frees what a drained segment holds (a new segment is started
// and the drained one removed, as the next append would) and writes and
// fsyncs a probe file in the spool's directory.
func (s *Spool) recheck() error {
	s.mu.Lock()
	failing := s.err != nil
	s.mu.Unlock()
	if !failing {
		return nil
	}
	if err := s.nextSegmentIfDue(); err != nil {
		return s.fail(err)
	}
	f, err := os.CreateTemp(s.opts.Dir, recheckPattern)
	if err != nil {
		return s.fail(err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, recheckBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.fail(err)
	}
	s.mu.Lock()
	s.err = nil
	s.mu.Unlock()
	s.log.Info("spool: appends work again")
	return nil
}

func (s *Spool) drainAppends(err error) {
	for {
		select {
		case r := <-s.appendCh:
			r.done <- err
		default:
			return
		}
	}
}

// writeBatch appends records and fsyncs once. On failure the segment is
// cut back to its last good size, so it never holds a partial record.
func (s *Spool) writeBatch(batch []*appendReq) error {
	if err := s.nextSegmentIfDue(); err != nil {
		return s.fail(err)
	}
	start := s.segSize
	var total int64
	buf := make([]byte, 0, 64<<10)
	for _, r := range batch {
		var hdr [headerSize]byte
		binary.LittleEndian.PutUint32(hdr[:], uint32(len(r.payload)))
		binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(r.payload, crcTable))
		buf = append(buf, hdr[:]...)
		buf = append(buf, r.payload...)
		total += headerSize + int64(len(r.payload))
	}
	if _, err := s.seg.Write(buf); err != nil {
		return s.fail(errors.Join(err, s.cutSegment(start)))
	}
	if err := s.seg.Sync(); err != nil {
		return s.fail(errors.Join(err, s.cutSegment(start)))
	}
	s.segSize = start + total
	now := time.Now()
	s.mu.Lock()
	s.sizes[s.segNum] = s.segSize
	s.durable = Position{s.segNum, s.segSize}
	s.pending += total
	s.records += int64(len(batch))
	for range batch {
		s.oldest = append(s.oldest, now)
	}
	s.err = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}

// nextSegmentIfDue starts a new segment when there is none, the current
// one is full, or everything in it is stored (drained); a drained segment
// is then removed, so a spool whose disk filled up gets its space back.
// Only the append loop writes records, so what it sees here holds until
// it writes again: whether the segment is drained is decided now, not
// kept from an earlier commit, which a batch written since would falsify.
func (s *Spool) nextSegmentIfDue() error {
	s.mu.Lock()
	drained := s.seg != nil && s.segSize > 0 &&
		s.durable == (Position{s.segNum, s.segSize}) && s.committed == s.durable
	s.mu.Unlock()
	if s.seg != nil && s.segSize < s.opts.SegmentBytes && !drained {
		return nil
	}
	old, hadSeg := s.segNum, s.seg != nil
	if err := s.rollSegment(); err != nil {
		return err
	}
	if drained && hadSeg {
		s.mu.Lock()
		delete(s.sizes, old)
		s.mu.Unlock()
		if err := os.Remove(s.segPath(old)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("spool: remove drained segment", "err", err)
		}
	}
	return nil
}

// cutSegment drops a batch that was not fully written or synced from the
// end of the current segment.
func (s *Spool) cutSegment(size int64) error {
	if err := s.seg.Truncate(size); err != nil {
		return fmt.Errorf("cut segment: %w", err)
	}
	if _, err := s.seg.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("cut segment: %w", err)
	}
	return nil
}

func (s *Spool) fail(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		err = fmt.Errorf("%w: %v", ErrDiskFull, err)
	}
	err = fmt.Errorf("spool append: %w", err)
	s.mu.Lock()
	was := s.err
	s.err = err
	s.mu.Unlock()
	// Once per episode (and when it turns into or out of a full disk):
	// while the disk is full every request fails, and a line for each
	// would fill the log, perhaps on that same disk.
	if was == nil || errors.Is(was, ErrDiskFull) != errors.Is(err, ErrDiskFull) {
		s.log.Error("spool: append failed; senders get a retryable error until appends work again", "err", err)
	}
	return err
}

// rollSegment moves appends to the next segment. The current one is
// closed only once the next is open: a failure (a full disk) leaves the
// spool appending where it was, not to a closed file.
func (s *Spool) rollSegment() error {
	next := s.segNum
	if s.seg != nil {
		next++
	} else {
		s.mu.Lock() // the drainer's Commit deletes from sizes
		size, ok := s.sizes[next]
		s.mu.Unlock()
		if ok && size >= s.opts.SegmentBytes {
			next++
		}
	}
	f, err := os.OpenFile(s.segPath(next), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		err = syncDir(s.opts.Dir)
	}
	if err != nil {
		f.Close()
		if s.seg != nil {
			os.Remove(s.segPath(next)) // empty, never used
		}
		return err
	}
	if s.seg != nil {
		if err := s.seg.Close(); err != nil {
			s.log.Warn("spool: close the previous segment", "err", err)
		}
	}
	// Under the lock for Commit, which keeps the current segment; the
	// append loop, the only writer, reads them without it.
	s.mu.Lock()
	s.seg, s.segNum, s.segSize = f, next, size
	s.mu.Unlock()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Next returns the next batch of durable records from the cursor, up to
// maxRecords records or maxBytes of payload, waiting until there is one
// or ctx ends. After a restart the first batch is the one that was in
// flight, exactly.
func (s *Spool) Next(ctx context.Context, maxRecords int, maxBytes int64) (*Batch, error) {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	for !s.cursor.less(s.durable) && !s.isClosed && ctx.Err() == nil {
		s.cond.Wait()
	}
	// Records that are there are returned even when ctx has ended, so a
	// caller can take what is available with an expired context.
	if !s.cursor.less(s.durable) {
		s.mu.Unlock()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrClosed
	}
	start, durable, replay, until := s.cursor, s.durable, s.replay, s.inflight
	s.mu.Unlock()

	b := &Batch{Start: start, Replay: replay, spool: s.id}
	if replay && s.legacyReplay {
		b.spool = ""
	}
	var bytes int64
	pos := start
	for pos.less(durable) {
		if replay && !pos.less(until) {
			break
		}
		if !replay && (len(b.Records) >= maxRecords || (bytes > 0 && bytes >= maxBytes)) {
			break
		}
		size, ok := s.segmentSize(pos.Segment)
		if !ok || pos.Offset >= size {
			pos = Position{pos.Segment + 1, 0}
			continue
		}
		recs, next, err := s.readRecords(pos, durable, until, replay, maxRecords-len(b.Records), maxBytes-bytes)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			bytes += int64(len(r.Payload))
		}
		b.Records = append(b.Records, recs...)
		pos = next
	}
	b.End = pos
	s.mu.Lock()
	s.cursor = pos
	if replay {
		s.replay = false
	}
	s.mu.Unlock()
	return b, nil
}

func (s *Spool) segmentSize(n uint64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	size, ok := s.sizes[n]
	return size, ok
}

// readRecords reads records of one segment from pos.
func (s *Spool) readRecords(pos, durable, until Position, replay bool, maxRecords int, maxBytes int64) ([]Record, Position, error) {
	f, err := os.Open(s.segPath(pos.Segment))
	if err != nil {
		return nil, pos, fmt.Errorf("spool read: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(pos.Offset, io.SeekStart); err != nil {
		return nil, pos, fmt.Errorf("spool read: %w", err)
	}
	end, _ := s.segmentSize(pos.Segment)
	if pos.Segment == durable.Segment {
		end = durable.Offset
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var out []Record
	var bytes int64
	hdr := make([]byte, headerSize)
	for pos.Offset < end {
		if replay && !pos.less(until) {
			break
		}
		if !replay && (len(out) >= maxRecords || (bytes > 0 && bytes >= maxBytes)) {
			break
		}
		if _, err := io.ReadFull(r, hdr); err != nil {
			return nil, pos, fmt.Errorf("spool read %s: %w", pos, err)
		}
		size := binary.LittleEndian.Uint32(hdr)
		payload := make([]byte, size)
		if _, err := io.ReadFull(r, payload); err != nil {
			return nil, pos, fmt.Errorf("spool read %s: %w", pos, err)
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return nil, pos, fmt.Errorf("spool read %s: checksum mismatch", pos)
		}
		out = append(out, Record{Pos: pos, Payload: payload})
		bytes += int64(size)
		pos.Offset += headerSize + int64(size)
	}
	return out, pos, nil
}

// Extend appends next, which must start where b ends, to b.
func (b *Batch) Extend(next *Batch) error {
	if next.Start != b.End {
		return fmt.Errorf("spool: batch %s does not continue %s", next.Token(), b.Token())
	}
	b.Records = append(b.Records, next.Records...)
	b.End = next.End
	return nil
}

// Bytes is the payload size of the batch.
func (b *Batch) Bytes() int64 {
	var n int64
	for _, r := range b.Records {
		n += int64(len(r.Payload))
	}
	return n
}

// Begin records that b is about to be inserted, so a restart repeats
// exactly this range with the same token.
func (s *Spool) Begin(b *Batch) error {
	s.mu.Lock()
	committed := s.committed
	s.mu.Unlock()
	if err := s.cp.write(checkpoint{committed: committed, inflight: b.End}); err != nil {
		return err
	}
	s.mu.Lock()
	s.inflight = b.End
	s.mu.Unlock()
	return nil
}

// Commit records that b is stored, frees its space and deletes segments
// that hold nothing undrained.
func (s *Spool) Commit(b *Batch) error {
	if err := s.cp.write(checkpoint{committed: b.End}); err != nil {
		return err
	}
	s.mu.Lock()
	s.committed = b.End
	s.inflight = Position{}
	var freed int64
	for _, r := range b.Records {
		freed += headerSize + int64(len(r.Payload))
	}
	s.pending -= freed
	s.records -= int64(len(b.Records))
	s.oldest = s.oldest[min(len(b.Records), len(s.oldest)):]
	var drop []uint64
	for n := range s.sizes {
		if n < b.End.Segment && n != s.segNum {
			drop = append(drop, n)
		}
	}
	for _, n := range drop {
		delete(s.sizes, n)
	}
	s.mu.Unlock()
	for _, n := range drop {
		if err := os.Remove(s.segPath(n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: remove drained segment: %w", err)
		}
	}
	return nil
}

// Stats describe what waits in the spool.
type Stats struct {
	Records int64
	Bytes   int64
	// Lag is the age of the oldest record not yet stored.
	Lag time.Duration
	// Err is the last append error, cleared by a successful append or
	// Recheck.
	Err error
}

// Stats returns the spool's depth and lag.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Records: s.records, Bytes: s.pending, Err: s.err}
	if len(s.oldest) > 0 {
		st.Lag = time.Since(s.oldest[0])
	}
	return st
}

// Close stops appending; records already appended stay on disk for the
// next Open. Next returns ErrClosed once the durable records are read.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return nil
	}
	s.isClosed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	close(s.closed)
	<-s.done
	err := s.cp.close()
	s.lock.Close()
	return err
}

// idFile holds the spool's id.
const idFile = "spool.id"

// loadOrCreateID returns the spool's id, creating it (durably) if the
// directory has none; created says it did.
func loadOrCreateID(dir string) (id string, created bool, err error) {
	path := filepath.Join(dir, idFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if id := strings.TrimSpace(string(b)); len(id) == 32 {
			return id, false, nil
		}
		return "", false, fmt.Errorf("spool: %s does not hold a spool id (32 hex digits); remove it only if the spool is empty", path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("spool: %w", err)
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("spool id: %w", err)
	}
	id = hex.EncodeToString(raw)
	tmp := path + ".tmp"
	if err := writeFileSync(tmp, []byte(id+"\n")); err != nil {
		return "", false, fmt.Errorf("spool id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", false, fmt.Errorf("spool id: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", false, fmt.Errorf("spool id: %w", err)
	}
	return id, true, nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lockDir takes an exclusive lock on dir, so two processes never append
// to and drain one spool (the kernel drops the lock if the process dies).
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("spool: %s is in use by another process (give each collector its own --spool-dir)", dir)
		}
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	return f, nil
}
