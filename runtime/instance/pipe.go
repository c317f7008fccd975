package instance

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// lineReader reads the read end of a pipe line by line. Sync guarantees
// that every byte written to the pipe before the call has been handed to
// emit: a function that printed a line and then posted its response has
// that line in its invocation's logs.
//
// Both the background reader and Sync read the descriptor non-blocking
// under one mutex, so a Sync that drains the pipe empty leaves nothing in
// flight.
type lineReader struct {
	f  *os.File
	rc syscall.RawConn

	mu      sync.Mutex
	chunk   []byte
	partial []byte
	cut     bool // partial continues a line already handed on in part
	maxLine int
	emit    func(line []byte, at time.Time) // called with mu held
	eof     bool
	// seen is set once any byte has been read.
	seen atomic.Bool

	done chan struct{}
}

func newLineReader(f *os.File, maxLine int, emit func([]byte, time.Time)) (*lineReader, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &lineReader{f: f, rc: rc, chunk: make([]byte, 16<<10), maxLine: maxLine, emit: emit, done: make(chan struct{})}
	go r.run()
	return r, nil
}

func (r *lineReader) run() {
	defer close(r.done)
	// The callback runs whenever the poller says the pipe is readable;
	// returning false waits for more. An error means the pipe was closed,
	// which ends reading as end of file does.
	_ = r.rc.Read(func(fd uintptr) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.drain(int(fd))
	})
	r.mu.Lock()
	r.eof = true
	if len(r.partial) > 0 {
		r.emit(r.partial, time.Now())
		r.partial = nil
	}
	r.mu.Unlock()
}

// drain reads until the pipe is empty; it reports true at end of file.
func (r *lineReader) drain(fd int) bool {
	if r.eof {
		return true
	}
	for {
		n, err := syscall.Read(fd, r.chunk)
		switch {
		case n > 0:
			r.seen.Store(true)
			r.consume(r.chunk[:n])
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.EAGAIN):
			return false
		default: // 0 bytes: every writer closed; or a read error
			r.eof = true
			return true
		}
	}
}

// consume hands the complete lines in b to emit, keeping a line's start
// until its newline comes. A line longer than maxLine is handed on in
// pieces of at most maxLine bytes, each cut between characters, and the
// newline that ends it adds no empty line.
func (r *lineReader) consume(b []byte) {
	now := time.Now()
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i >= 0 && i <= r.maxLine && len(r.partial) == 0 && !r.cut {
			r.emit(b[:i], now) // the common case: a whole line, no copy
			b = b[i+1:]
			continue
		}
		end := len(b)
		if i >= 0 {
			end = i
		}
		r.partial = append(r.partial, b[:end]...)
		for len(r.partial) >= r.maxLine && (i < 0 || len(r.partial) > r.maxLine) {
			n := runeCut(r.partial, r.maxLine)
			r.emit(r.partial[:n], now)
			r.partial = append(r.partial[:0], r.partial[n:]...)
			r.cut = true
		}
		if i < 0 {
			return
		}
		if len(r.partial) > 0 || !r.cut {
			r.emit(r.partial, now)
		}
		r.partial, r.cut = r.partial[:0], false
		b = b[i+1:]
	}
}

// runeCut is where to cut p to at most n bytes without splitting a UTF-8
// character (n itself when p[n] starts one, or p is not UTF-8 there).
func runeCut(p []byte, n int) int {
	if n >= len(p) {
		return len(p)
	}
	for c := n; c > n-utf8.UTFMax && c > 0; c-- {
		if utf8.RuneStart(p[c]) {
			return c
		}
	}
	return n
}

// Sync hands every complete line already in the pipe to emit.
func (r *lineReader) Sync() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eof {
		return
	}
	// An error means the pipe is closed: nothing is left to read.
	_ = r.rc.Control(func(fd uintptr) { r.drain(int(fd)) })
}

// Seen reports whether anything has been read from the pipe yet.
func (r *lineReader) Seen() bool { return r.seen.Load() }

// wait waits up to d for end of file, then closes the pipe either way:
// a process that escaped the instance's group must not keep it open.
func (r *lineReader) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
	case <-t.C:
	}
	r.f.Close()
	<-r.done
}
