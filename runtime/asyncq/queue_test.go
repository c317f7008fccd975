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
