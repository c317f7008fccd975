package asyncq

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// blockingInvoker holds every attempt of function "slow" until released,
// fails every other attempt, and records what it ran.
type blockingInvoker struct {
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
	return Outcome{ErrorType: "handler_error", Message: "fails"}, nil
}

// crashingInvoker holds every attempt until released, then reports it
// crashed, as an instance killed by the runtime's shutdown does.
type crashingInvoker struct {
	started, release chan struct{}
}

func (c *crashingInvoker) InvokeAsync(context.Context, Job) (Outcome, error) {
	c.started <- struct{}{}
	<-c.release
	return Outcome{ErrorType: "crash", Message: "Runtime.ExitError: signal: killed"}, nil
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
