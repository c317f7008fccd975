package asyncq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// everyFunctionDeployed is an Invoker's Deployed for tests whose
// functions are never removed.
type everyFunctionDeployed struct{}

func (everyFunctionDeployed) Deployed(string, string) bool { return true }

// blockingInvoker holds every attempt of function "slow" until released,
// fails every other attempt, and records what it ran.
type blockingInvoker struct {
	everyFunctionDeployed
	started chan string
	release chan struct{}
	mu      sync.Mutex
	ran     []string
}

func (b *blockingInvoker) InvokeAsync(_ context.Context, j Job) (Outcome, error) {
	b.mu.Lock()
	b.ran = append(b.ran, j.ID)
	b.mu.Unlock()
	b.started <- j.ID
	if j.Function == "slow" {
		<-b.release
		return Outcome{}, nil
	}
	return Outcome{ErrorType: telemetry.ErrHandler, Message: "fails"}, nil
}

// crashingInvoker holds every attempt until released, then reports it
// crashed, as an instance killed by the runtime's shutdown does.
type crashingInvoker struct {
	everyFunctionDeployed
	started, release chan struct{}
}

func (c *crashingInvoker) InvokeAsync(context.Context, Job) (Outcome, error) {
	c.started <- struct{}{}
	<-c.release
	return Outcome{ErrorType: telemetry.ErrCrash, Message: "Runtime.ExitError: signal: killed"}, nil
}

// An attempt that fails while the queue closes (the shutdown killed it)
// is neither a retry used up nor a dead letter: the event stays queued
// as it was for the next start.
func TestShutdownDoesNotCountAnAttempt(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Path, cfg.Workers, cfg.MaxRetries = filepath.Join(t.TempDir(), "q.db"), 1, 0
	inv := &crashingInvoker{started: make(chan struct{}, 1), release: make(chan struct{})}
	q, err := Open(cfg, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.Start()
	if err := q.Enqueue(Job{ID: "a", Function: "long"}); err != nil {
		t.Fatal(err)
	}
	<-inv.started
	closed := make(chan error, 1)
	go func() { closed <- q.Close(context.Background()) }()
	time.Sleep(50 * time.Millisecond) // Close has stopped the queue and waits for the attempt
	close(inv.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	q, err = Open(cfg, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	if dl, err := q.DeadLetters("long"); err != nil || len(dl) != 0 {
		t.Errorf("dead letters after a shutdown: %+v %v", dl, err)
	}
	if p := q.Pending("long"); p != 1 {
		t.Errorf("%d events pending after a shutdown, want the 1 that was running", p)
	}
}

// An event claimed by a worker, or under way, when its function is
// forgotten neither runs afterwards nor leaves a retry or dead letter.
func TestForgetWinsOverClaimedAndRunningEvents(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Path, cfg.Workers, cfg.RetryDelay = filepath.Join(t.TempDir(), "q.db"), 1, time.Millisecond
	inv := &blockingInvoker{started: make(chan string, 10), release: make(chan struct{})}
	q, err := Open(cfg, inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close(context.Background())
	q.Start()

	// The only worker runs slow's event; f's event is claimed behind it.
	for _, j := range []Job{{ID: "a", Function: "slow"}, {ID: "b", Function: "f"}} {
		if err := q.Enqueue(j); err != nil {
			t.Fatal(err)
		}
		if j.ID == "a" {
			<-inv.started
		}
	}
	time.Sleep(100 * time.Millisecond) // the dispatcher claims b and waits for the worker
	if n, err := q.Forget("f"); err != nil || n != 1 {
		t.Fatalf("forget f: %d %v", n, err)
	}
	// A running event whose function is forgotten leaves nothing behind.
	if n, err := q.Forget("slow"); err != nil || n != 1 {
		t.Fatalf("forget slow: %d %v", n, err)
	}
	close(inv.release)
	select {
	case id := <-inv.started:
		t.Fatalf("event %s ran after its function was forgotten", id)
	case <-time.After(300 * time.Millisecond):
	}
	if p := q.Pending(""); p != 0 {
		t.Errorf("%d events still pending", p)
	}
	for _, fn := range []string{"f", "slow"} {
		if dl, err := q.DeadLetters(fn); err != nil || len(dl) != 0 {
			t.Errorf("dead letters of %s: %+v %v", fn, dl, err)
		}
	}
}

// failingInvoker fails every attempt with its error type.
type failingInvoker struct {
	everyFunctionDeployed
	errorType string
}

func (f failingInvoker) InvokeAsync(context.Context, Job) (Outcome, error) {
	return Outcome{ErrorType: f.errorType, Message: "fails"}, nil
}

// openQueue opens a queue in a fresh directory without starting it: tests
// drive dispatchDue and run themselves.
func openQueue(t *testing.T, cfg Config, inv Invoker, log *slog.Logger) *Queue {
	t.Helper()
	cfg.Path = filepath.Join(t.TempDir(), "q.db")
	q, err := Open(cfg, inv, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close(context.Background()) })
	return q
}

// pendingEvents is what the queue's file holds as pending.
func pendingEvents(t *testing.T, q *Queue) []claimed {
	t.Helper()
	var out []claimed
	err := q.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(pendingBucket).ForEach(func(k, v []byte) error {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			out = append(out, claimed{key: bytes.Clone(k), job: j})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An entry that does not decode is removed, and said so once, not met
// and logged again on every pass.
func TestUnreadableEventIsRemovedAndLoggedOnce(t *testing.T) {
	var log strings.Builder
	q := openQueue(t, DefaultConfig(), failingInvoker{}, slog.New(slog.NewTextHandler(&log, nil)))
	err := q.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(pendingBucket).Put(pendingKey(time.Now(), "bad"), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	q.dispatchDue()
	if p := q.Pending(""); p != 0 {
		t.Errorf("%d events pending after the unreadable one was dropped", p)
	}
	q.dispatchDue()
	if n := strings.Count(log.String(), "dropped an unreadable event"); n != 1 || !strings.Contains(log.String(), "{not json") {
		t.Errorf("logged the drop %d times, want once with the event's bytes: %s", n, log.String())
	}
}

// A dead letter that does not decode neither hides the others from the
// list nor stops a redrive of them; it is listed as unreadable, stays
// after a redrive, and a purge removes it.
func TestUnreadableDeadLetterIsListedAndPurged(t *testing.T) {
	q := openQueue(t, DefaultConfig(), failingInvoker{}, nil)
	failedAt := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	good, _ := json.Marshal(DeadLetter{Job: Job{ID: "good", Function: "f", Payload: []byte(`{}`)}, FailedAt: failedAt})
	err := q.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(deadBucket)
		if err := b.Put(deadKey("f", failedAt, "good"), good); err != nil {
			return err
		}
		return b.Put(deadKey("f", failedAt.Add(time.Second), "bad"), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := q.DeadLetters("f")
	if err != nil || len(dl) != 2 || dl[0].ID != "good" || dl[1].ID != "bad" || dl[1].LastErrorType != ErrUnreadable ||
		!dl[1].FailedAt.Equal(failedAt.Add(time.Second)) || !strings.Contains(dl[1].LastError, "does not decode") {
		t.Fatalf("dead letters %+v, %v", dl, err)
	}
	if n, err := q.Redrive("f"); err != nil || n != 1 {
		t.Fatalf("redrive: %d, %v; want the readable one", n, err)
	}
	if dl, _ := q.DeadLetters("f"); len(dl) != 1 || dl[0].ID != "bad" {
		t.Fatalf("after the redrive: %+v", dl)
	}
	if n, err := q.Purge("f"); err != nil || n != 1 {
		t.Fatalf("purge: %d, %v", n, err)
	}
}

// With many retries the backoff stops doubling at the maximum event age
// instead of overflowing into a retry at once.
func TestRetryBackoffIsCappedByTheMaximumEventAge(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRetries = 100
	q := openQueue(t, cfg, failingInvoker{errorType: telemetry.ErrHandler}, nil)
	for _, attempts := range []int{1, 9, 40, 70} {
		if err := q.Enqueue(Job{ID: "a", Function: "f", Attempts: attempts}); err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		q.run(pendingEvents(t, q)[0])
		after := time.Now()
		got := pendingEvents(t, q)
		if len(got) != 1 {
			t.Fatalf("after attempt %d: %d events pending, want the retry", attempts+1, len(got))
		}
		want := min(cfg.RetryDelay<<min(attempts, 20), cfg.MaxEventAge)
		if next := got[0].job.NextAt; next.Before(before.Add(want)) || next.After(after.Add(want)) {
			t.Errorf("after attempt %d: retry at %s, want %s later", attempts+1, next.Sub(before), want)
		}
		q.Forget("f")
	}
}

// A redriven event starts over: its retries and its throttle backoff.
func TestRedriveResetsAttemptsAndThrottles(t *testing.T) {
	q := openQueue(t, DefaultConfig(), failingInvoker{}, nil)
	if err := q.Enqueue(Job{ID: "a", Function: "f"}); err != nil {
		t.Fatal(err)
	}
	c := pendingEvents(t, q)[0]
	dead := c.job
	dead.Attempts, dead.Throttles = 3, 9
	q.settle(c.key, nil, &dead)
	if n, err := q.Redrive("f"); err != nil || n != 1 {
		t.Fatalf("redrive: %d %v", n, err)
	}
	if j := pendingEvents(t, q)[0].job; j.Attempts != 0 || j.Throttles != 0 {
		t.Errorf("redriven event has %d attempts and %d throttles, want 0 and 0", j.Attempts, j.Throttles)
	}
}

// deployments stands in for the registry: the incarnation of each
// deployed function. Its InvokeAsync succeeds for a deployed incarnation
// and is ErrGone otherwise, as the runtime's is.
type deployments struct {
	mu  sync.Mutex
	fns map[string]string
	ran []string
}

func (d *deployments) Deployed(fn, incarnation string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, ok := d.fns[fn]
	return ok && (incarnation == "" || incarnation == cur)
}

func (d *deployments) set(fn, incarnation string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if incarnation == "" {
		delete(d.fns, fn)
	} else {
		d.fns[fn] = incarnation
	}
}

func (d *deployments) InvokeAsync(_ context.Context, j Job) (Outcome, error) {
	if !d.Deployed(j.Function, j.Incarnation) {
		return Outcome{}, ErrGone
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ran = append(d.ran, j.ID)
	return Outcome{}, nil
}

// An event for a function, or an incarnation of it, that is no longer
// deployed is refused, not stored: it would otherwise be dead-lettered,
// or run against a later function of the same name.
func TestEnqueueRefusesAnEventOfARemovedFunction(t *testing.T) {
	d := &deployments{fns: map[string]string{"f": "second"}}
	q := openQueue(t, DefaultConfig(), d, nil)
	for _, j := range []Job{{ID: "a", Function: "f", Incarnation: "first"}, {ID: "b", Function: "g"}} {
		if err := q.Enqueue(j); !errors.Is(err, ErrGone) {
			t.Errorf("event %s for %s (incarnation %q): %v, want ErrGone", j.ID, j.Function, j.Incarnation, err)
		}
	}
	if err := q.Enqueue(Job{ID: "c", Function: "f", Incarnation: "second"}); err != nil {
		t.Fatalf("event for the deployed incarnation: %v", err)
	}
	if got := pendingEvents(t, q); len(got) != 1 || got[0].job.ID != "c" {
		t.Errorf("pending %+v, want only c", got)
	}
}

// A queued event whose function incarnation is removed before it runs
// (its Forget not run yet, or the function removed while the runtime was
// stopped) is dropped: not run on the function deployed under its name
// since, and not dead-lettered there for a redrive to run it.
func TestEventOfARemovedIncarnationIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name string
		// then is what becomes of f after the event is queued.
		then string
	}{{"removed", ""}, {"removed and deployed again", "second"}} {
		t.Run(tc.name, func(t *testing.T) {
			d := &deployments{fns: map[string]string{"f": "first"}}
			q := openQueue(t, DefaultConfig(), d, nil)
			if err := q.Enqueue(Job{ID: "a", Function: "f", Incarnation: "first"}); err != nil {
				t.Fatal(err)
			}
			d.set("f", tc.then)
			q.run(pendingEvents(t, q)[0])
			if p := q.Pending(""); p != 0 {
				t.Errorf("%d events pending", p)
			}
			if dl, err := q.DeadLetters("f"); err != nil || len(dl) != 0 {
				t.Errorf("dead letters %+v %v", dl, err)
			}
			if len(d.ran) != 0 {
				t.Errorf("ran %v", d.ran)
			}
		})
	}
}

// A removal between the queue's check and the attempt: the invoker
// reports ErrGone, and the event is dropped, not dead-lettered as
// undeliverable.
func TestEventGoneDuringItsAttemptIsDropped(t *testing.T) {
	q := openQueue(t, DefaultConfig(), goneInvoker{}, nil)
	if err := q.Enqueue(Job{ID: "a", Function: "f", Incarnation: "first"}); err != nil {
		t.Fatal(err)
	}
	q.run(pendingEvents(t, q)[0])
	if p := q.Pending(""); p != 0 {
		t.Errorf("%d events pending", p)
	}
	if dl, err := q.DeadLetters("f"); err != nil || len(dl) != 0 {
		t.Errorf("dead letters %+v %v", dl, err)
	}
}

// goneInvoker finds every function deployed until it runs the event:
// removed in between.
type goneInvoker struct{ everyFunctionDeployed }

func (goneInvoker) InvokeAsync(context.Context, Job) (Outcome, error) {
	return Outcome{}, fmt.Errorf("%w: f", ErrGone)
}
