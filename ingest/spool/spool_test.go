package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string, opts ...func(*Options)) *Spool {
	t.Helper()
	o := Options{Dir: dir, MaxBytes: 1 << 30, SegmentBytes: 1 << 20}
	for _, f := range opts {
		f(&o)
	}
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func payload(i int) []byte {
	return []byte(fmt.Sprintf("record-%06d-%s", i, bytes.Repeat([]byte{'x'}, i%97)))
}

func appendN(t *testing.T, s *Spool, from, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := from; i < from+n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- s.Append(context.Background(), payload(i))
		}(i)
		if i%50 == 49 {
			wg.Wait() // keep some order so records interleave in groups
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// drain reads and commits everything currently durable.
func drain(t *testing.T, s *Spool, batch int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for s.Stats().Records > 0 {
		b, err := s.Next(context.Background(), batch, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Begin(b); err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			seen[string(r.Payload)]++
		}
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	return seen
}

func TestAppendDrainAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, func(o *Options) { o.SegmentBytes = 4 << 10 })
	appendN(t, s, 0, 1000)
	if st := s.Stats(); st.Records != 1000 || st.Bytes <= 0 {
		t.Fatalf("stats %+v", st)
	}
	seen := drain(t, s, 37)
	if len(seen) != 1000 {
		t.Fatalf("drained %d distinct records, want 1000", len(seen))
	}
	for p, n := range seen {
		if n != 1 {
			t.Fatalf("%s drained %d times", p, n)
		}
	}
	if st := s.Stats(); st.Records != 0 || st.Bytes != 0 {
		t.Fatalf("after drain: %+v", st)
	}
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) > 1 {
		t.Fatalf("%d segments left after a full drain", len(segs))
	}
}

// Records appended but not committed survive a restart; committed ones
// do not come back.
func TestRestartReplaysOnlyUncommitted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, func(o *Options) { o.SegmentBytes = 8 << 10 })
	appendN(t, s, 0, 300)
	b, err := s.Next(context.Background(), 100, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	s.Begin(b)
	s.Commit(b)
	appendN(t, s, 300, 200)
	s.Close()

	s2 := open(t, dir, func(o *Options) { o.SegmentBytes = 8 << 10 })
	defer s2.Close()
	if st := s2.Stats(); st.Records != 400 {
		t.Fatalf("after restart %d records pending, want 400", st.Records)
	}
	seen := drain(t, s2, 64)
	for i := 0; i < 500; i++ {
		if want := map[bool]int{true: 0, false: 1}[i < 100]; seen[string(payload(i))] != want {
			t.Fatalf("record %d replayed %d times, want %d", i, seen[string(payload(i))], want)
		}
	}
}

// crashMidInsert appends n records to a spool in dir, begins inserting
// the first batch (of up to batch records), and closes the spool without
// committing it: a crash mid-insert. It returns the batch.
func crashMidInsert(t *testing.T, dir string, n, batch int) *Batch {
	t.Helper()
	s := open(t, dir)
	appendN(t, s, 0, n)
	b, err := s.Next(context.Background(), batch, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return b
}

// The batch in flight at a crash comes back first, exactly, with the
// same token, whatever batch size the next process asks for.
func TestInflightBatchReplaysExactly(t *testing.T) {
	dir := t.TempDir()
	b := crashMidInsert(t, dir, 50, 20)
	token := b.Token()

	s2 := open(t, dir)
	defer s2.Close()
	r, err := s2.Next(context.Background(), 1000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Replay || r.Token() != token || len(r.Records) != 20 {
		t.Fatalf("replayed batch: replay=%v token %s (want %s) records %d", r.Replay, r.Token(), token, len(r.Records))
	}
	s2.Begin(r)
	s2.Commit(r)
	rest, err := s2.Next(context.Background(), 1000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if rest.Replay || len(rest.Records) != 30 {
		t.Fatalf("after the replay: replay=%v records %d, want 30", rest.Replay, len(rest.Records))
	}
}

// A record torn by a crash mid-write (never acknowledged) is cut off;
// everything before it survives.
func TestTornRecordIsCut(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	appendN(t, s, 0, 10)
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 'p', 'a', 'r'}) // header of a 200-byte record, 3 bytes of it
	f.Close()
	s2 := open(t, dir)
	defer s2.Close()
	if st := s2.Stats(); st.Records != 10 {
		t.Fatalf("%d records after recovery, want 10", st.Records)
	}
	appendN(t, s2, 10, 5) // appends continue after the cut
	if seen := drain(t, s2, 100); len(seen) != 15 {
		t.Fatalf("drained %d, want 15", len(seen))
	}
}

func TestFullSpoolRefusesAppends(t *testing.T) {
	s := open(t, t.TempDir(), func(o *Options) { o.MaxBytes = 2000 })
	defer s.Close()
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.Append(context.Background(), payload(i))
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("want ErrFull, got %v", err)
	}
	drain(t, s, 100)
	if err := s.Append(context.Background(), payload(1)); err != nil {
		t.Fatalf("append after draining: %v", err)
	}
}

// A real full filesystem (a 1 MiB tmpfs) gives ErrDiskFull, keeps the
// segment consistent, and appends work again once space is freed.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	s := open(t, dir, func(o *Options) { o.SegmentBytes = 64 << 20 })
	defer s.Close()
	big := bytes.Repeat([]byte{'y'}, 100<<10)
	var err error
	n := 0
	for ; n < 50; n++ {
		if err = s.Append(context.Background(), big); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("after %d appends: want ErrDiskFull, got %v", n, err)
	}
	if s.Stats().Err == nil {
		t.Fatal("stats do not report the disk-full error")
	}
	if err := s.Recheck(context.Background()); !errors.Is(err, ErrDiskFull) || s.Stats().Err == nil {
		t.Fatalf("recheck on a full disk: %v", err)
	}
	// Free space by draining; the next append fits again.
	if seen := drain(t, s, 1000); len(seen) != 1 || s.Stats().Records != 0 {
		t.Fatalf("drained %d distinct payloads (%d appended)", len(seen), n)
	}
	// Without an append (no sender reaches an unready collector), a
	// recheck frees the drained segment and finds appends work again.
	if err := s.Recheck(context.Background()); err != nil || s.Stats().Err != nil {
		t.Fatalf("recheck after draining: %v, stats %v", err, s.Stats().Err)
	}
	// Draining freed the disk: appends of the same size fit again.
	for i := 0; i < n; i++ {
		if err := s.Append(context.Background(), big); err != nil {
			t.Fatalf("append %d after the disk was freed: %v", i, err)
		}
	}
	if s.Stats().Err != nil {
		t.Fatal("a successful append did not clear the error")
	}
}

// A checkpoint write torn by a crash leaves the previous one in force.
func TestTornCheckpointFallsBack(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	appendN(t, s, 0, 30)
	for i := 0; i < 2; i++ {
		b, err := s.Next(context.Background(), 10, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		s.Begin(b)
		s.Commit(b)
	}
	s.Close()
	// Corrupt the newest slot: the last write (commit of the second batch)
	// is lost, so the second batch's Begin is what survives.
	f, err := os.OpenFile(filepath.Join(dir, checkpointFile), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	store, _, _ := openCheckpoint(dir)
	f.WriteAt([]byte{0xde, 0xad}, int64(store.seq%2)*slotSize+10)
	f.Close()
	store.close()
	s2 := open(t, dir)
	defer s2.Close()
	b, err := s2.Next(context.Background(), 1000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Replay || len(b.Records) != 10 {
		t.Fatalf("after a torn checkpoint: replay=%v records %d, want the in-flight batch of 10 again", b.Replay, len(b.Records))
	}
}

func TestDirectoryIsLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 1 << 20}, nil); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second open of a spool: %v", err)
	}
	s.Close()
	s2 := open(t, dir) // free again once closed
	s2.Close()
}

// Two spools (two collectors, or one whose directory was wiped) number
// their records alike from 0:0; their tokens must still differ, or
// ClickHouse drops one's batches as repeats of the other's.
func TestSpoolsDoNotShareTokens(t *testing.T) {
	first := func(dir string) string {
		s := open(t, dir)
		defer s.Close()
		appendN(t, s, 0, 1)
		b, err := s.Next(context.Background(), 10, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return b.Token()
	}
	a, b := t.TempDir(), t.TempDir()
	ta, tb := first(a), first(b)
	if ta == tb {
		t.Fatalf("two spools share the token %s", ta)
	}
	// The id is kept: the same spool reopened replays with the same token.
	s := open(t, a)
	defer s.Close()
	r, err := s.Next(context.Background(), 10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if r.Token() != ta {
		t.Fatalf("reopened spool: token %s, want %s", r.Token(), ta)
	}
}

// A batch in flight in a spool from before ids is replayed with the token
// it was first sent with.
func TestLegacyInflightBatchKeepsItsToken(t *testing.T) {
	dir := t.TempDir()
	b := crashMidInsert(t, dir, 10, 5)
	if err := os.Remove(filepath.Join(dir, idFile)); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir)
	defer s2.Close()
	r, err := s2.Next(context.Background(), 1000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if want := "spool:" + b.Start.String() + "-" + b.End.String(); !r.Replay || r.Token() != want {
		t.Fatalf("replay of a spool without an id: replay=%v token %s, want %s", r.Replay, r.Token(), want)
	}
	s2.Begin(r)
	s2.Commit(r)
	rest, err := s2.Next(context.Background(), 1000, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rest.Token(), ":"+s2.id+":") {
		t.Fatalf("the batches after the replay: token %s, want the new id %s in it", rest.Token(), s2.id)
	}
}

// A segment cut below the committed position (by hand, or a disk that
// lost it) must not leave new records where the drainer never looks.
func TestSegmentShorterThanTheCommittedPosition(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	appendN(t, s, 0, 5)
	drain(t, s, 100)
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for _, seg := range segs {
		if err := os.Truncate(seg, 0); err != nil {
			t.Fatal(err)
		}
	}
	s2 := open(t, dir)
	defer s2.Close()
	appendN(t, s2, 100, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := s2.Next(ctx, 100, 1<<20)
	if err != nil || len(b.Records) != 3 {
		t.Fatalf("records appended after the cut: %v, %+v", err, b)
	}
}

// A drainer that commits while appends go on, as ingest's does, gets
// every acknowledged record once, and a restart finds none left over. A
// commit that caught the last durable record used to mark the segment
// drained while the next batch was being written into it; the append
// after that started a new segment and deleted the old one, records the
// drainer had not read yet included.
func TestCommitWhileAppending(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	const n = 3000
	appended := make(chan error, 1)
	go func() {
		for i := range n {
			if err := s.Append(context.Background(), payload(i)); err != nil {
				appended <- err
				return
			}
		}
		appended <- nil
	}()
	seen := map[string]int{}
	var appendErr error
	done := false
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		b, err := s.Next(ctx, 1000, 1<<20)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			if done {
				break // every append answered, nothing more to read
			}
			select {
			case appendErr = <-appended:
				done = true
			default:
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			seen[string(r.Payload)]++
		}
		if err := s.Begin(b); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
	if appendErr != nil {
		t.Fatal(appendErr)
	}
	var missing []int
	for i := range n {
		if c := seen[string(payload(i))]; c != 1 {
			if c > 1 {
				t.Errorf("record %d drained %d times", i, c)
			}
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged records never drained (first %d); Stats.Records = %d", len(missing), n, missing[0], s.Stats().Records)
	}
	s.Close()
	if left := open(t, dir).Stats().Records; left != 0 {
		t.Errorf("after a restart the spool holds %d records, want 0", left)
	}
}

// An Append racing Close returns (nil or ErrClosed), never hangs: one
// handed to the append loop as it stopped used to wait forever. The
// window is wide only when fsyncs are quick, so the spools live in memory
// (/dev/shm) where there is one.
func TestAppendRacingClose(t *testing.T) {
	base := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if base, err = os.MkdirTemp("/dev/shm", "coldtrace-spool-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(base) })
	}
	const rounds = 1000
	hung := 0
	for i := range rounds {
		dir := filepath.Join(base, strconv.Itoa(i))
		s := open(t, dir, func(o *Options) { o.MaxBytes = 1 << 20; o.SegmentBytes = 1 << 16 })
		var appenders sync.WaitGroup
		for range 64 {
			appenders.Go(func() {
				for s.Append(context.Background(), []byte("x")) == nil {
				}
			})
		}
		time.Sleep(time.Duration(i%5) * 100 * time.Microsecond)
		s.Close()
		returned := make(chan struct{})
		go func() { appenders.Wait(); close(returned) }()
		select {
		case <-returned:
		case <-time.After(10 * time.Second): // a liveness bound
			hung++
		}
	}
	if hung > 0 {
		t.Fatalf("in %d of %d rounds an Append racing Close never returned", hung, rounds)
	}
}
