// Package pool manages one function's instances: warm reuse (most
// recently used first, so idle ones age out), a cap on live instances
// with a FIFO queue of waiting invocations, throttling when the wait
// would exceed its bound, scale to zero after an idle timeout, and
// instances started ahead of demand.
package pool

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Instance is what the pool manages.
type Instance interface {
	// Exited is closed once the instance has ended and released what it
	// held.
	Exited() <-chan struct{}
	Kill(reason string)
}

// Spawner starts an instance and waits for its init. On failure it may
// return the failed instance with the error (for telemetry); the pool
// then no longer counts it.
type Spawner[T Instance] func(ctx context.Context, prewarm bool) (T, error)

// Config is one function's capacity.
type Config struct {
	MaxInstances int
	MinInstances int
	IdleTimeout  time.Duration
	// QueueWait is the longest an invocation waits for an instance.
	QueueWait time.Duration
	// MaxWaiting bounds the queue; beyond it invocations are throttled
	// at once.
	MaxWaiting int
}

// ErrThrottled is returned when no instance was free within the bound.
var ErrThrottled = errors.New("throttled: every instance is busy")

// ErrClosed is returned by a closed pool.
var ErrClosed = errors.New("pool closed")

// Stats is a snapshot of a pool.
type Stats struct {
	Live    int `json:"live"` // starting, idle or busy
	Idle    int `json:"idle"`
	Waiting int `json:"waiting"`
}

type idleEntry[T Instance] struct {
	inst  T
	since time.Time
}

// grant is what a waiter receives: a warm instance, a free slot to start
// one in, or the pool's end.
type grant[T Instance] struct {
	inst   T
	slot   bool
	closed bool
}

type waiter[T Instance] struct {
	ch chan grant[T]
}

// Pool is one function's instances.
type Pool[T Instance] struct {
	log *slog.Logger

	mu         sync.Mutex
	cfg        Config
	spawn      Spawner[T]
	generation int
	gen        map[any]int // instance -> generation it was started for
	live       int
	idle       []idleEntry[T] // most recently used last
	waiters    *list.List     // of *waiter[T]
	closed     bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// New starts a pool; it starts MinInstances at once.
func New[T Instance](cfg Config, spawn Spawner[T], log *slog.Logger) *Pool[T] {
	if log == nil {
		log = slog.Default()
	}
	p := &Pool[T]{log: log, cfg: cfg, spawn: spawn, gen: map[any]int{}, waiters: list.New(), stop: make(chan struct{})}
	p.wg.Add(1)
	go p.reaper()
	p.mu.Lock()
	p.prewarmLocked()
	p.mu.Unlock()
	return p
}

// Acquire returns an instance for one invocation: an idle one (cold
// false), a new one started for it (cold true), or one handed over after
// a wait. The spawner's error (a failed init) is returned with the
// failed instance. The caller gives the instance back with Release.
func (p *Pool[T]) Acquire(ctx context.Context) (inst T, cold bool, err error) {
	return p.acquire(ctx, true)
}

// AcquireNow is Acquire without the wait: when every instance is busy and
// none may be added, it is ErrThrottled at once.
func (p *Pool[T]) AcquireNow(ctx context.Context) (inst T, cold bool, err error) {
	return p.acquire(ctx, false)
}

func (p *Pool[T]) acquire(ctx context.Context, wait bool) (inst T, cold bool, err error) {
	var zero T
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return zero, false, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		e := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return e.inst, false, nil
	}
	if p.live < p.cfg.MaxInstances {
		p.live++
		spawn, gen := p.spawn, p.generation
		p.mu.Unlock()
		return p.start(ctx, spawn, gen)
	}
	if !wait || p.cfg.QueueWait <= 0 || (p.cfg.MaxWaiting > 0 && p.waiters.Len() >= p.cfg.MaxWaiting) {
		p.mu.Unlock()
		return zero, false, ErrThrottled
	}
	w := &waiter[T]{ch: make(chan grant[T], 1)}
	el := p.waiters.PushBack(w)
	// Reconfigure replaces cfg under the lock on every deploy: read the
	// bound now, not after unlocking.
	queueWait := p.cfg.QueueWait
	p.mu.Unlock()

	t := time.NewTimer(queueWait)
	defer t.Stop()
	var g grant[T]
	select {
	case g = <-w.ch:
	case <-t.C:
		if !p.leaveQueue(el) {
			g = <-w.ch // granted just as the wait ended: take it
			break
		}
		return zero, false, ErrThrottled
	case <-ctx.Done():
		if !p.leaveQueue(el) {
			g = <-w.ch
			p.giveBack(g) // not ours to use any more
		}
		return zero, false, ctx.Err()
	}
	switch {
	case g.closed:
		return zero, false, ErrClosed
	case g.slot:
		p.mu.Lock()
		spawn, gen := p.spawn, p.generation
		p.mu.Unlock()
		return p.start(ctx, spawn, gen)
	}
	return g.inst, false, nil
}

// leaveQueue removes a waiter; false means it was already granted.
func (p *Pool[T]) leaveQueue(el *list.Element) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for e := p.waiters.Front(); e != nil; e = e.Next() {
		if e == el {
			p.waiters.Remove(el)
			return true
		}
	}
	return false
}

// giveBack returns a grant nobody will use.
func (p *Pool[T]) giveBack(g grant[T]) {
	if g.closed {
		return
	}
	if g.slot {
		p.mu.Lock()
		p.live--
		p.handOffSlotLocked()
		p.mu.Unlock()
		return
	}
	p.Release(g.inst)
}

// start runs the spawner in a slot already counted in live. The caller
// waiting for it may give up, but the instance is still worth starting,
// so the spawn does not inherit the caller's cancellation.
func (p *Pool[T]) start(ctx context.Context, spawn Spawner[T], gen int) (T, bool, error) {
	inst, err := spawn(context.WithoutCancel(ctx), false)
	if err != nil {
		p.mu.Lock()
		p.live--
		p.handOffSlotLocked()
		p.mu.Unlock()
		return inst, true, err
	}
	p.track(inst, gen)
	return inst, true, nil
}

// track watches a started instance so its slot frees when it ends.
func (p *Pool[T]) track(inst T, gen int) {
	p.mu.Lock()
	if p.closed {
		// Started while the pool closed: Close no longer waits for it.
		p.live--
		p.mu.Unlock()
		inst.Kill("the function host is stopping")
		<-inst.Exited()
		return
	}
	p.gen[any(inst)] = gen
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		select {
		case <-inst.Exited():
		case <-p.stop:
			inst.Kill("the function host is stopping")
			<-inst.Exited()
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.gen, any(inst))
		p.removeIdleLocked(inst)
		p.live--
		p.handOffSlotLocked()
		p.prewarmLocked()
	}()
}

// Release gives an instance back after an invocation and reports whether
// a waiting caller got it. An instance that ended, or belongs to a
// replaced version, is not reused.
func (p *Pool[T]) Release(inst T) (handedOver bool) {
	select {
	case <-inst.Exited():
		return false // its watcher frees the slot
	default:
	}
	p.mu.Lock()
	if p.closed || p.gen[any(inst)] != p.generation {
		p.mu.Unlock()
		inst.Kill("replaced by a new version")
		return false
	}
	if el := p.waiters.Front(); el != nil {
		p.waiters.Remove(el)
		p.mu.Unlock()
		el.Value.(*waiter[T]).ch <- grant[T]{inst: inst}
		return true
	}
	p.idle = append(p.idle, idleEntry[T]{inst: inst, since: time.Now()})
	p.mu.Unlock()
	return false
}

// handOffSlotLocked gives a freed slot to the first waiter.
func (p *Pool[T]) handOffSlotLocked() {
	if p.closed || p.live >= p.cfg.MaxInstances {
		return
	}
	if el := p.waiters.Front(); el != nil {
		p.waiters.Remove(el)
		p.live++
		el.Value.(*waiter[T]).ch <- grant[T]{slot: true}
	}
}

func (p *Pool[T]) removeIdleLocked(inst T) {
	for i, e := range p.idle {
		if any(e.inst) == any(inst) {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}

// prewarmLocked starts instances until MinInstances are live.
func (p *Pool[T]) prewarmLocked() {
	for !p.closed && p.live < p.cfg.MinInstances && p.live < p.cfg.MaxInstances {
		p.live++
		spawn, gen := p.spawn, p.generation
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			inst, err := spawn(context.Background(), true)
			if err != nil {
				p.log.Warn("pool: pre-warming an instance failed", "err", err)
				p.mu.Lock()
				p.live--
				p.handOffSlotLocked()
				p.mu.Unlock()
				return
			}
			p.track(inst, gen)
			p.Release(inst)
		}()
	}
}

// reaper stops instances idle longer than the idle timeout, down to
// MinInstances.
func (p *Pool[T]) reaper() {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		every := min(max(p.cfg.IdleTimeout/4, 10*time.Millisecond), time.Second)
		p.mu.Unlock()
		select {
		case <-p.stop:
			return
		case <-time.After(every):
		}
		p.mu.Lock()
		now := time.Now()
		var expired []T
		// Oldest first; keep MinInstances.
		for len(p.idle) > 0 && p.live-len(expired) > p.cfg.MinInstances && now.Sub(p.idle[0].since) >= p.cfg.IdleTimeout {
			expired = append(expired, p.idle[0].inst)
			p.idle = p.idle[1:]
		}
		p.mu.Unlock()
		for _, inst := range expired {
			inst.Kill("idle timeout")
		}
	}
}

// Reconfigure switches to a new version: idle instances of the old one
// stop now, busy ones when they are released.
func (p *Pool[T]) Reconfigure(cfg Config, spawn Spawner[T]) {
	p.mu.Lock()
	p.cfg, p.spawn = cfg, spawn
	p.generation++
	idle := p.idle
	p.idle = nil
	// A larger cap may let waiters start instances now.
	for p.waiters.Len() > 0 && p.live < p.cfg.MaxInstances {
		p.handOffSlotLocked()
	}
	p.prewarmLocked()
	p.mu.Unlock()
	for _, e := range idle {
		e.inst.Kill("replaced by a new version")
	}
}

// Stats returns the pool's state.
func (p *Pool[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Live: p.live, Idle: len(p.idle), Waiting: p.waiters.Len()}
}

// Close stops every instance and fails the waiting invocations; it
// returns once all instances have ended.
func (p *Pool[T]) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.idle = nil
	var waiting []*waiter[T]
	for e := p.waiters.Front(); e != nil; e = e.Next() {
		waiting = append(waiting, e.Value.(*waiter[T]))
	}
	p.waiters.Init()
	p.mu.Unlock()
	close(p.stop)
	for _, w := range waiting {
		w.ch <- grant[T]{closed: true}
	}
	p.wg.Wait()
}
