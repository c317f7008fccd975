package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proc stands in for an instance: the pool only needs to know when one
// ends and to end it.
type proc struct {
	id       int
	exited   chan struct{}
	once     sync.Once
	killedBy atomic.Value
}

func (p *proc) Exited() <-chan struct{} { return p.exited }
func (p *proc) Kill(reason string) {
	p.once.Do(func() {
		p.killedBy.Store(reason)
		close(p.exited)
	})
}

type spawner struct {
	n    atomic.Int32
	fail atomic.Bool
}

func (s *spawner) spawn(context.Context, bool) (*proc, error) {
	p := &proc{id: int(s.n.Add(1)), exited: make(chan struct{})}
	if s.fail.Load() {
		p.Kill("init failed")
		return p, errors.New("init failed")
	}
	return p, nil
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	s := &spawner{}
	p := New(Config{MaxInstances: 1, IdleTimeout: time.Minute, QueueWait: time.Minute}, s.spawn, nil)
	defer p.Close()
	first, cold, err := p.Acquire(context.Background())
	if err != nil || !cold {
		t.Fatalf("first acquire: %v cold=%v", err, cold)
	}
	order := make(chan int, 3)
	for i := 1; i <= 3; i++ {
		go func() {
			inst, cold, err := p.Acquire(context.Background())
			if err != nil || cold || inst != first {
				t.Errorf("waiter %d: %v cold=%v", i, err, cold)
			}
			order <- i
			p.Release(inst)
		}()
		waitUntil(t, "the waiter to queue", func() bool { return p.Stats().Waiting == i })
	}
	if !p.Release(first) {
		t.Fatal("Release did not report handing the instance to a waiter")
	}
	for want := 1; want <= 3; want++ {
		if got := <-order; got != want {
			t.Fatalf("waiter %d served before waiter %d", got, want)
		}
	}
	if n := s.n.Load(); n != 1 {
		t.Fatalf("%d instances started for a cap of 1", n)
	}
}

func TestThrottleAfterTheWaitBound(t *testing.T) {
	s := &spawner{}
	p := New(Config{MaxInstances: 1, IdleTimeout: time.Minute, QueueWait: 20 * time.Millisecond, MaxWaiting: 1}, s.spawn, nil)
	defer p.Close()
	busy, _, _ := p.Acquire(context.Background())
	done := make(chan error)
	go func() {
		_, _, err := p.Acquire(context.Background())
		done <- err
	}()
	waitUntil(t, "the waiter to queue", func() bool { return p.Stats().Waiting == 1 })
	// The queue is full: the next one is throttled at once.
	if _, _, err := p.Acquire(context.Background()); !errors.Is(err, ErrThrottled) {
		t.Fatalf("beyond MaxWaiting: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrThrottled) {
		t.Fatalf("after the wait bound: %v", err)
	}
	p.Release(busy)
}

func TestSlotOfAnEndedInstanceGoesToTheFirstWaiter(t *testing.T) {
	s := &spawner{}
	p := New(Config{MaxInstances: 1, IdleTimeout: time.Minute, QueueWait: time.Minute}, s.spawn, nil)
	defer p.Close()
	first, _, _ := p.Acquire(context.Background())
	got := make(chan *proc)
	go func() {
		inst, cold, err := p.Acquire(context.Background())
		if err != nil || !cold {
			t.Errorf("waiter: %v cold=%v", err, cold)
		}
		got <- inst
	}()
	waitUntil(t, "the waiter to queue", func() bool { return p.Stats().Waiting == 1 })
	first.Kill("crashed")
	if inst := <-got; inst == first || inst.id != 2 {
		t.Fatalf("the waiter got instance %d", inst.id)
	}
}

func TestScaleToZeroKeepsTheMinimum(t *testing.T) {
	s := &spawner{}
	p := New(Config{MaxInstances: 3, MinInstances: 1, IdleTimeout: 20 * time.Millisecond, QueueWait: time.Second}, s.spawn, nil)
	defer p.Close()
	waitUntil(t, "the pre-warmed instance", func() bool { return p.Stats().Idle == 1 })
	a, coldA, _ := p.Acquire(context.Background())
	b, coldB, _ := p.Acquire(context.Background())
	if coldA || !coldB {
		t.Fatalf("the pre-warmed instance should serve warm, the second start cold: %v %v", coldA, coldB)
	}
	for _, inst := range []*proc{a, b} {
		if p.Release(inst) {
			t.Fatal("Release reported a hand-over with nobody waiting")
		}
	}
	waitUntil(t, "scale down to the minimum", func() bool { st := p.Stats(); return st.Live == 1 && st.Idle == 1 })
	if b.killedBy.Load() != "idle timeout" && a.killedBy.Load() != "idle timeout" {
		t.Fatal("no instance stopped for the idle timeout")
	}
}

func TestReconfigureRetiresTheOldVersion(t *testing.T) {
	s := &spawner{}
	p := New(Config{MaxInstances: 2, IdleTimeout: time.Minute, QueueWait: time.Second}, s.spawn, nil)
	defer p.Close()
	idle, _, _ := p.Acquire(context.Background())
	busy, _, _ := p.Acquire(context.Background())
	p.Release(idle)
	p.Reconfigure(Config{MaxInstances: 2, IdleTimeout: time.Minute, QueueWait: time.Second}, s.spawn)
	if idle.killedBy.Load() != "replaced by a new version" {
		t.Fatal("an idle instance of the old version lives on")
	}
	if p.Release(busy) {
		t.Fatal("a retired instance was handed over")
	}
	if busy.killedBy.Load() != "replaced by a new version" {
		t.Fatal("a busy instance of the old version went back to the pool")
	}
	if _, cold, _ := p.Acquire(context.Background()); !cold {
		t.Fatal("the new version's first invocation was warm")
	}
}

// A deploy reconfigures the pool while invocations wait in its queue;
// the waiter's reading of its bound must not race with it. Only the race
// detector (go test -race) sees the race this guards against.
func TestReconfigureWhileAWaiterIsQueued(t *testing.T) {
	s := &spawner{}
	p := New(Config{MaxInstances: 1, IdleTimeout: time.Minute, QueueWait: time.Minute}, s.spawn, nil)
	defer p.Close()
	busy, _, _ := p.Acquire(context.Background())
	got := make(chan *proc)
	go func() {
		inst, _, err := p.Acquire(context.Background())
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
		got <- inst
	}()
	waitUntil(t, "the waiter to queue", func() bool { return p.Stats().Waiting == 1 })
	p.Reconfigure(Config{MaxInstances: 1, IdleTimeout: time.Minute, QueueWait: 2 * time.Minute}, s.spawn)
	p.Release(busy) // of the old version: it stops, and its slot goes to the waiter
	if inst := <-got; inst == nil || inst == busy {
		t.Fatal("the waiter did not get an instance of the new version")
	}
}

func TestFailedInitFreesTheSlot(t *testing.T) {
	s := &spawner{}
	s.fail.Store(true)
	p := New(Config{MaxInstances: 1, IdleTimeout: time.Minute, QueueWait: time.Second}, s.spawn, nil)
	defer p.Close()
	for i := 0; i < 3; i++ {
		if _, cold, err := p.Acquire(context.Background()); err == nil || !cold {
			t.Fatalf("attempt %d: %v cold=%v", i, err, cold)
		}
	}
	if st := p.Stats(); st.Live != 0 {
		t.Fatalf("%d live after failed inits", st.Live)
	}
}

func TestCloseFailsWaitersAndStopsInstances(t *testing.T) {
	s := &spawner{}
	p := New(Config{MaxInstances: 1, IdleTimeout: time.Minute, QueueWait: time.Minute}, s.spawn, nil)
	busy, _, _ := p.Acquire(context.Background())
	done := make(chan error)
	go func() {
		_, _, err := p.Acquire(context.Background())
		done <- err
	}()
	waitUntil(t, "the waiter to queue", func() bool { return p.Stats().Waiting == 1 })
	p.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("waiter: %v", err)
	}
	if busy.killedBy.Load() == nil {
		t.Fatal("a busy instance outlived Close")
	}
	if _, _, err := p.Acquire(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("acquire after close: %v", err)
	}
}
