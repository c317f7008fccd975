package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Fire is called when a function's schedule is due.
type Fire func(function string, at time.Time)

// Scheduler fires functions on their schedules.
type Scheduler struct {
	cron *cron.Cron
	fire Fire
	log  *slog.Logger

	mu      sync.Mutex
	entries map[string]cron.EntryID
}

// NewScheduler returns a stopped scheduler; times are UTC, as in
// EventBridge.
func NewScheduler(fire Fire, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{
		cron:    cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cronLogger{log})),
		fire:    fire,
		log:     log,
		entries: map[string]cron.EntryID{},
	}
}

// Set gives function a schedule; an empty expression removes it.
func (s *Scheduler) Set(function, expr string) error {
	var sched cron.Schedule
	if expr != "" {
		var err error
		if sched, err = Parse(expr); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.entries[function]; ok {
		s.cron.Remove(id)
		delete(s.entries, function)
	}
	if sched == nil {
		return nil
	}
	s.entries[function] = s.cron.Schedule(sched, cron.FuncJob(func() { s.fire(function, time.Now().UTC()) }))
	return nil
}

// Next is when function fires next (zero if it has no schedule).
func (s *Scheduler) Next(function string) time.Time {
	s.mu.Lock()
	id, ok := s.entries[function]
	s.mu.Unlock()
	if !ok {
		return time.Time{}
	}
	return s.cron.Entry(id).Next
}

// Start starts firing.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops firing and waits for running fires.
func (s *Scheduler) Stop(ctx context.Context) error {
	select {
	case <-s.cron.Stop().Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scheduler: %w", ctx.Err())
	}
}

// cronLogger sends robfig/cron's messages to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("scheduler: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("scheduler: "+msg, append(kv, "err", err)...)
}
