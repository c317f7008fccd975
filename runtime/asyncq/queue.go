// Package asyncq is the durable queue behind asynchronous (Event)
// invocations: an event is on disk before its 202 is sent, a failed
// invocation is retried with exponential backoff, and an event that
// keeps failing lands in its function's dead-letter list.
//
// Storage is a bbolt file in the data directory. Delivery is at least
// once: an event whose invocation was under way when the host stopped
// runs again at the next start.
package asyncq

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// Job is one queued event.
type Job struct {
	ID       string `json:"id"` // the invocation's request id, kept across retries
	Function string `json:"function"`
	// Incarnation is the registry's incarnation of Function the event
	// was sent to: once that function is removed the event never runs,
	// whatever is deployed under its name later. Events queued before
	// incarnations existed have none and go by the name alone.
	Incarnation string `json:"incarnation,omitempty"`
	Payload     []byte `json:"payload"`
	// Trigger is faas.trigger of the invocation (pubsub, timer).
	Trigger string `json:"trigger"`
	// TraceHeaders are the caller's trace headers at enqueue time.
	TraceHeaders  map[string]string `json:"traceHeaders,omitempty"`
	ClientContext string            `json:"clientContext,omitempty"`
	Enqueued      time.Time         `json:"enqueued"`
	Attempts      int               `json:"attempts"`
	// Throttles counts the times the function was at its concurrency
	// limit; each waits longer before the next try (throttleBackoff).
	Throttles     int       `json:"throttles,omitempty"`
	NextAt        time.Time `json:"nextAt"`
	LastErrorType string    `json:"lastErrorType,omitempty"`
	LastError     string    `json:"lastError,omitempty"`
}

// DeadLetter is an event that exhausted its retries.
type DeadLetter struct {
	Job
	FailedAt time.Time `json:"failedAt"`
}

// Outcome is how one attempt went.
type Outcome struct {
	// ErrorType is the span contract's error.type (telemetry.Err*); ""
	// on success. telemetry.ErrThrottled puts the event back without
	// counting an attempt.
	ErrorType string
	Message   string
}

// Invoker runs events on the functions they were sent to.
type Invoker interface {
	// InvokeAsync runs one attempt. ErrGone (wrapped) means the
	// function incarnation the event was sent to was removed: the event
	// is dropped. Any other error means it cannot run at all, and it
	// goes to the dead-letter list at once.
	InvokeAsync(ctx context.Context, j Job) (Outcome, error)
	// Deployed reports whether function is deployed and, if incarnation
	// is set, still in that incarnation.
	Deployed(function, incarnation string) bool
}

// ErrGone is Enqueue's error for an event whose function (incarnation)
// was removed: it is not stored. It is InvokeAsync's too for one removed
// since it was queued.
var ErrGone = errors.New("the function the event was sent to was removed")

// Config configures the queue.
type Config struct {
	Path string
	// Workers is how many events run at once.
	Workers int
	// MaxRetries after the first attempt (Lambda: 2).
	MaxRetries int
	// RetryDelay is the wait before the first retry; each later retry
	// waits twice as long, up to MaxEventAge (Lambda: 1 and 2 minutes).
	RetryDelay time.Duration
	// ThrottleDelay is the wait after a throttled attempt, which does not
	// count as one.
	ThrottleDelay time.Duration
	// MaxEventAge sends an event still not run after this long to the
	// dead-letter list (Lambda: 6 hours).
	MaxEventAge time.Duration
}

// DefaultConfig follows Lambda's asynchronous invocation defaults.
func DefaultConfig() Config {
	return Config{Workers: 4, MaxRetries: 2, RetryDelay: time.Minute, ThrottleDelay: time.Second, MaxEventAge: 6 * time.Hour}
}

// Validate checks c.
func (c Config) Validate() error {
	switch {
	case c.Path == "":
		return errors.New("async queue: no file path")
	case c.Workers < 1:
		return errors.New("async queue: workers must be at least 1")
	case c.MaxRetries < 0:
		return errors.New("async queue: retries must not be negative")
	case c.RetryDelay <= 0 || c.ThrottleDelay <= 0 || c.MaxEventAge <= 0:
		return errors.New("async queue: retry delay, throttle delay and maximum event age must be positive")
	}
	return nil
}

var (
	pendingBucket = []byte("pending") // key: due time (8 bytes) + id
	deadBucket    = []byte("dead")    // key: function + 0 + failed time (8 bytes) + id
)

// Queue is the durable queue.
type Queue struct {
	cfg Config
	db  *bolt.DB
	inv Invoker
	log *slog.Logger

	wake chan struct{}
	work chan claimed

	mu       sync.Mutex
	inflight map[string]bool // pending keys being worked on

	stop    chan struct{}
	wg      sync.WaitGroup
	stopped bool // Stop: no attempt starts
	closed  bool // Close: the file is being closed
}

type claimed struct {
	key []byte
	job Job
}

// Open opens (or creates) the queue file. It fails if another process
// holds it.
func Open(cfg Config, inv Invoker, log *slog.Logger) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("async queue %s is in use by another coldtrace process", cfg.Path)
		}
		return nil, fmt.Errorf("async queue %s: %w", cfg.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{pendingBucket, deadBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("async queue %s: %w", cfg.Path, err)
	}
	return &Queue{cfg: cfg, db: db, inv: inv, log: log, wake: make(chan struct{}, 1), work: make(chan claimed),
		inflight: map[string]bool{}, stop: make(chan struct{})}, nil
}

// Start runs the dispatcher and workers until Close.
func (q *Queue) Start() {
	q.wg.Add(1 + q.cfg.Workers)
	go q.dispatch()
	for i := 0; i < q.cfg.Workers; i++ {
		go q.worker()
	}
}

func pendingKey(due time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(due.UnixNano()))
	return append(k, id...)
}

func deadKey(fn string, at time.Time, id string) []byte {
	k := append([]byte(fn), 0)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return append(k, id...)
}

// Enqueue stores j durably; it runs as soon as a worker is free. It
// fails with ErrGone if j's function, or the incarnation of it j names,
// is no longer deployed.
func (q *Queue) Enqueue(j Job) error {
	now := time.Now()
	if j.Enqueued.IsZero() {
		j.Enqueued = now
	}
	j.NextAt = now
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	err = q.db.Update(func(tx *bolt.Tx) error {
		// Asked in the transaction that stores the event: a removal takes
		// the function out of the registry before its Forget, so Forget
		// either comes after this transaction and drops the event, or
		// came before and the function is seen gone here.
		if !q.inv.Deployed(j.Function, j.Incarnation) {
			return ErrGone
		}
		return tx.Bucket(pendingBucket).Put(pendingKey(j.NextAt, j.ID), b)
	})
	if errors.Is(err, ErrGone) {
		return fmt.Errorf("async queue: event %s for %s: %w", j.ID, j.Function, err)
	}
	if err != nil {
		return fmt.Errorf("async queue: storing event %s: %w", j.ID, err)
	}
	q.poke()
	return nil
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// dispatch hands due events to workers.
func (q *Queue) dispatch() {
	defer q.wg.Done()
	for {
		next := q.dispatchDue()
		wait := time.Second
		if !next.IsZero() {
			wait = max(time.Until(next), time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-q.stop:
			t.Stop()
			return
		case <-q.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// dispatchDue sends due events to workers and returns when the next one
// is due (zero if none is waiting).
func (q *Queue) dispatchDue() time.Time {
	for {
		var batch []claimed
		var unreadable []unreadableEvent
		var next time.Time
		now := time.Now()
		err := q.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(pendingBucket).Cursor()
			for k, v := c.First(); k != nil && len(batch) < q.cfg.Workers; k, v = c.Next() {
				due := time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
				if due.After(now) {
					next = due
					break
				}
				q.mu.Lock()
				busy := q.inflight[string(k)]
				q.mu.Unlock()
				if busy {
					continue
				}
				var j Job
				if err := json.Unmarshal(v, &j); err != nil {
					unreadable = append(unreadable, unreadableEvent{key: bytes.Clone(k), raw: bytes.Clone(v), err: err})
					continue
				}
				batch = append(batch, claimed{key: bytes.Clone(k), job: j})
			}
			return nil
		})
		if err != nil {
			// Try again at the next wake-up; the events stay on disk.
			q.log.Error("async queue: reading due events failed", "err", err)
			return time.Now().Add(time.Second)
		}
		q.dropUnreadable(unreadable)
		if len(batch) == 0 {
			return next
		}
		for _, c := range batch {
			q.mu.Lock()
			q.inflight[string(c.key)] = true
			q.mu.Unlock()
			select {
			case q.work <- c:
			case <-q.stop:
				return time.Time{}
			}
		}
	}
}

// unreadableEvent is a pending entry that does not decode as a Job.
type unreadableEvent struct {
	key, raw []byte
	err      error
}

// maxLoggedEvent bounds the bytes of an unreadable event put in the log.
const maxLoggedEvent = 4096

// dropUnreadable removes entries that do not decode: they can never run,
// and with no function to file them under, neither the dead-letter list
// nor Forget can hold or remove them; left in place, each pass would meet
// (and log) them again. Their bytes go to the log, once, the one place
// left to recover them from.
func (q *Queue) dropUnreadable(events []unreadableEvent) {
	if len(events) == 0 {
		return
	}
	err := q.db.Update(func(tx *bolt.Tx) error {
		pending := tx.Bucket(pendingBucket)
		for _, e := range events {
			if err := pending.Delete(e.key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		q.log.Error("async queue: removing unreadable events failed", "err", err)
		return
	}
	for _, e := range events {
		q.log.Error("async queue: dropped an unreadable event", "key", fmt.Sprintf("%x", e.key), "err", e.err,
			"event", string(e.raw[:min(len(e.raw), maxLoggedEvent)]), "event_bytes", len(e.raw))
	}
}

func (q *Queue) worker() {
	defer q.wg.Done()
	for {
		select {
		case <-q.stop:
			return
		case c := <-q.work:
			q.run(c)
			q.mu.Lock()
			delete(q.inflight, string(c.key))
			q.mu.Unlock()
			q.poke()
		}
	}
}

// run makes one attempt and records what follows: done, a retry, or the
// dead-letter list.
func (q *Queue) run(c claimed) {
	if q.stopping() {
		return // claimed as the queue stopped: it stays queued
	}
	if !q.stillPending(c.key) {
		return // its function was removed (Forget) since it was claimed
	}
	j := c.job
	if !q.inv.Deployed(j.Function, j.Incarnation) {
		// Removed without its Forget having run yet, or while the
		// runtime was stopped: dropped, as Forget would have.
		q.dropGone(c.key, j)
		return
	}
	now := time.Now()
	if now.Sub(j.Enqueued) > q.cfg.MaxEventAge {
		j.LastErrorType, j.LastError = "expired", fmt.Sprintf("not delivered within the maximum event age (%s)", q.cfg.MaxEventAge)
		q.settle(c.key, nil, &j)
		return
	}
	out, err := q.inv.InvokeAsync(context.Background(), j)
	if (err != nil || out.ErrorType == telemetry.ErrCrash || out.ErrorType == telemetry.ErrThrottled) && q.stopping() {
		// What the runtime's own shutdown does to an attempt (it kills
		// what outlives its budget, and refuses new ones): not the
		// function's failure. The event stays queued as it was and runs
		// again at the next start, as after a crash of the host. A
		// handler error or a timeout in the same moment counts as usual.
		q.log.Info("async event left queued: the runtime is stopping", "function", j.Function, "request_id", j.ID)
		return
	}
	switch {
	case errors.Is(err, ErrGone):
		q.dropGone(c.key, j) // removed since the check above
	case err != nil:
		j.Attempts++
		j.LastErrorType, j.LastError = "undeliverable", err.Error()
		q.settle(c.key, nil, &j)
	case out.ErrorType == "":
		q.settle(c.key, nil, nil)
	case out.ErrorType == telemetry.ErrThrottled:
		j.Throttles++
		// Jittered: a busy function's deferred events would otherwise
		// fall due together, one would win the instance and the rest
		// back off together again, leaving it idle most of the time.
		wait := q.backoff(q.cfg.ThrottleDelay, min(j.Throttles-1, maxThrottleDoublings))
		j.NextAt = time.Now().Add(wait/2 + rand.N(wait/2+1))
		j.LastErrorType, j.LastError = out.ErrorType, out.Message
		q.settle(c.key, &j, nil)
	default:
		j.Attempts++
		j.LastErrorType, j.LastError = out.ErrorType, out.Message
		if j.Attempts > q.cfg.MaxRetries {
			q.settle(c.key, nil, &j)
			return
		}
		j.NextAt = time.Now().Add(q.backoff(q.cfg.RetryDelay, j.Attempts-1))
		q.settle(c.key, &j, nil)
	}
}

// dropGone removes an event whose function incarnation was removed:
// neither a retry nor a dead letter, which a function deployed later
// under the same name would find.
func (q *Queue) dropGone(key []byte, j Job) {
	q.settle(key, nil, nil)
	q.log.Info("async event dropped: its function was removed", "function", j.Function, "request_id", j.ID)
}

// backoff is base doubled n times, but no longer than the maximum event
// age: an event that waited that long expires when it comes up anyway,
// and a plain shift overflows into a negative wait (a retry at once) with
// a large --async-retries.
func (q *Queue) backoff(base time.Duration, n int) time.Duration {
	limit := q.cfg.MaxEventAge
	d := base
	for ; n > 0; n-- {
		if d > limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// maxThrottleDoublings caps the wait after a throttle at ThrottleDelay×32:
// a backlog of a busy function is tried again ever more rarely (each try
// costs a write of the queue's file), not more rarely than that.
const maxThrottleDoublings = 5

// stopping reports whether Stop (or Close) has begun.
func (q *Queue) stopping() bool {
	select {
	case <-q.stop:
		return true
	default:
		return false
	}
}

func (q *Queue) stillPending(key []byte) bool {
	pending := true
	if err := q.db.View(func(tx *bolt.Tx) error {
		pending = tx.Bucket(pendingBucket).Get(key) != nil
		return nil
	}); err != nil {
		q.log.Warn("async queue: reading an event failed", "err", err)
	}
	return pending
}

// settle removes the event's pending entry and, in the same transaction,
// stores its retry or its dead letter. An entry that is gone was dropped
// with its function (Forget) during the attempt: nothing follows it.
func (q *Queue) settle(key []byte, retry, dead *Job) {
	err := q.db.Update(func(tx *bolt.Tx) error {
		pending := tx.Bucket(pendingBucket)
		if pending.Get(key) == nil {
			retry, dead = nil, nil
			return nil
		}
		if err := pending.Delete(key); err != nil {
			return err
		}
		if retry != nil {
			b, err := json.Marshal(retry)
			if err != nil {
				return err
			}
			return tx.Bucket(pendingBucket).Put(pendingKey(retry.NextAt, retry.ID), b)
		}
		if dead != nil {
			d := DeadLetter{Job: *dead, FailedAt: time.Now()}
			b, err := json.Marshal(d)
			if err != nil {
				return err
			}
			return tx.Bucket(deadBucket).Put(deadKey(dead.Function, d.FailedAt, dead.ID), b)
		}
		return nil
	})
	if err != nil {
		// The event stays pending and runs again: at least once.
		q.log.Error("async queue: recording an attempt failed", "err", err)
	}
	if dead != nil && err == nil {
		q.log.Warn("async event moved to the dead-letter list", "function", dead.Function, "request_id", dead.ID,
			"attempts", dead.Attempts, "error_type", dead.LastErrorType, "error", dead.LastError)
	}
}

// DeadLetters lists fn's dead letters, oldest first.
func (q *Queue) DeadLetters(fn string) ([]DeadLetter, error) {
	out := []DeadLetter{}
	err := q.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(deadBucket).Cursor()
		prefix := append([]byte(fn), 0)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			d, _ := decodeDeadLetter(fn, k, v)
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// ErrUnreadable is the LastErrorType of a dead letter whose stored entry
// does not decode.
const ErrUnreadable = "unreadable"

// decodeDeadLetter decodes fn's dead letter stored under k. One that does
// not decode is still listed, with what its key says (when it failed, its
// id) and why, so that it can be seen and purged; ok is false for it.
func decodeDeadLetter(fn string, k, v []byte) (d DeadLetter, ok bool) {
	err := json.Unmarshal(v, &d)
	if err == nil {
		return d, true
	}
	d = DeadLetter{Job: Job{Function: fn, LastErrorType: ErrUnreadable,
		LastError: "the stored dead letter does not decode: " + err.Error()}}
	if rest := k[len(fn)+1:]; len(rest) >= 8 {
		d.FailedAt = time.Unix(0, int64(binary.BigEndian.Uint64(rest))).UTC()
		d.ID = string(rest[8:])
	}
	return d, false
}

// Purge deletes fn's dead letters; it returns how many.
func (q *Queue) Purge(fn string) (int, error) {
	n := 0
	err := q.db.Update(func(tx *bolt.Tx) (err error) {
		n, err = deleteDeadLetters(tx, fn)
		return err
	})
	return n, err
}

func deleteDeadLetters(tx *bolt.Tx, fn string) (int, error) {
	b := tx.Bucket(deadBucket)
	prefix := append([]byte(fn), 0)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// Forget drops every queued event and dead letter of fn, a function that
// was removed: none of them may run against a function deployed later
// under the same name. An event already claimed by a worker finds its
// entry gone and is not run, or leaves nothing behind if it was running.
// It returns how many it dropped.
func (q *Queue) Forget(fn string) (int, error) {
	n := 0
	err := q.db.Update(func(tx *bolt.Tx) error {
		pending := tx.Bucket(pendingBucket)
		keys, err := pendingKeys(tx, fn)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := pending.Delete(k); err != nil {
				return err
			}
		}
		deadLetters, err := deleteDeadLetters(tx, fn)
		n = len(keys) + deadLetters
		return err
	})
	return n, err
}

// Redrive queues fn's dead letters again with fresh retries; it returns
// how many. Unreadable ones stay.
func (q *Queue) Redrive(fn string) (int, error) {
	n := 0
	now := time.Now()
	err := q.db.Update(func(tx *bolt.Tx) error {
		dead, pending := tx.Bucket(deadBucket), tx.Bucket(pendingBucket)
		prefix := append([]byte(fn), 0)
		type entry struct {
			key []byte
			d   DeadLetter
		}
		var entries []entry
		c := dead.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			// An unreadable one cannot run: it stays listed until purged.
			if d, ok := decodeDeadLetter(fn, k, v); ok {
				entries = append(entries, entry{bytes.Clone(k), d})
			}
		}
		for _, e := range entries {
			j := e.d.Job
			j.Attempts, j.Throttles, j.NextAt, j.Enqueued = 0, 0, now, now
			b, err := json.Marshal(j)
			if err != nil {
				return err
			}
			if err := pending.Put(pendingKey(now, j.ID), b); err != nil {
				return err
			}
			if err := dead.Delete(e.key); err != nil {
				return err
			}
		}
		n = len(entries)
		return nil
	})
	if n > 0 {
		q.poke()
	}
	return n, err
}

// Pending counts fn's queued events ("" for all).
func (q *Queue) Pending(fn string) int {
	n := 0
	err := q.db.View(func(tx *bolt.Tx) error {
		keys, err := pendingKeys(tx, fn)
		n = len(keys)
		return err
	})
	if err != nil {
		q.log.Warn("async queue: counting pending events failed", "err", err)
	}
	return n
}

// pendingKeys lists the keys of fn's queued events ("" for all); events
// are keyed by due time, so this reads them all.
func pendingKeys(tx *bolt.Tx, fn string) ([][]byte, error) {
	var keys [][]byte
	err := tx.Bucket(pendingBucket).ForEach(func(k, v []byte) error {
		var j Job
		if fn == "" || json.Unmarshal(v, &j) == nil && j.Function == fn {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	return keys, err
}

// Stop starts no attempt from now on, and returns at once; events stay
// queued, and Enqueue still stores them, for the next start.
func (q *Queue) Stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.stopped {
		q.stopped = true
		close(q.stop)
	}
}

// Close stops taking events, waits for the attempts under way, and
// closes the file. Events not run yet stay queued for the next start.
func (q *Queue) Close(ctx context.Context) error {
	q.Stop()
	q.mu.Lock()
	closed := q.closed
	q.closed = true
	q.mu.Unlock()
	if closed {
		return nil
	}
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// The host's shutdown ends them; the file is closed after.
		go func() {
			<-done
			q.db.Close()
		}()
		return fmt.Errorf("async queue: attempts still running: %w", ctx.Err())
	}
	return q.db.Close()
}
