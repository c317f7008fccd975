// Package instance runs one function process: it starts the runtime in
// its own process group and resource limits with a Runtime API of its
// own, waits for its init, hands it events one at a time, enforces the
// timeout, captures stdout and stderr per invocation, reads the span pipe,
// and tells a crash from an OOM kill when the process ends.
package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coldtrace/coldtrace/runtime/limits"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/runtimeapi"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// SpanFD is the descriptor number of the span pipe in the function
// process (the first of ExtraFiles).
const SpanFD = 3

// Limits of what one instance's output may hold in memory.
const (
	maxLineBytes    = 8 << 10
	maxSpanLine     = 1 << 20
	maxLogLines     = 100
	exitDrainWindow = 200 * time.Millisecond
)

// Config describes one instance to start.
type Config struct {
	Function *registry.Function
	ID       string
	// Path, Args (argv[0] first) and Env start the runtime; the instance
	// adds AWS_LAMBDA_RUNTIME_API and the span pipe's variable.
	Path string
	Args []string
	Env  []string
	// Limits confines the process; Pids caps its processes and threads.
	Limits *limits.Manager
	Pids   int
	// Spans receives the function's spans; nil turns the span pipe off.
	Spans       *telemetry.FunctionSpans
	InitTimeout time.Duration
	Prewarmed   bool
	Log         *slog.Logger
}

// Instance is one running function process.
type Instance struct {
	ID       string
	Function *registry.Function
	// Prewarmed instances were started ahead of demand; their first
	// invocation is not a cold start.
	Prewarmed bool
	SpawnedAt time.Time

	log     *slog.Logger
	api     *runtimeapi.Server
	cmd     *exec.Cmd
	group   *limits.Group
	spans   *telemetry.FunctionSpans
	readers []*lineReader
	stdout  *lineReader
	stderr  *lineReader
	spanr   *lineReader // nil when the span pipe is off
	logs    logBuffer

	readyAt time.Time
	// killReason is the first reason given to Kill.
	killReason atomic.Pointer[string]
	exited     chan struct{}
	exitAt     time.Time
	exitState  *os.ProcessState
	oomKilled  bool
	peakMemory uint64
}

// InitError is a failed init: the runtime posted /init/error, exited,
// or did not reach its first /next in time.
type InitError struct {
	*runtimeapi.FunctionError
	Logs        []telemetry.LogLine
	LogsDropped int
	At          time.Time
	// MaxMemory is the peak of the failed instance (0 if it never ran).
	MaxMemory uint64
}

func (e *InitError) Error() string { return "init: " + e.FunctionError.Error() }

// Start spawns the runtime. It returns once the process runs; WaitReady
// waits for its init.
func Start(cfg Config) (_ *Instance, err error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	i := &Instance{ID: cfg.ID, Function: cfg.Function, Prewarmed: cfg.Prewarmed, log: log, spans: cfg.Spans,
		exited: make(chan struct{}), logs: logBuffer{max: maxLogLines}}
	var cleanup []func()
	defer func() {
		if err != nil {
			for j := len(cleanup) - 1; j >= 0; j-- {
				cleanup[j]()
			}
		}
	}()

	i.api, err = runtimeapi.Listen(log, i.onNext)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { i.api.Close() })

	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	writeEnds := []*os.File{outW, errW}
	readEnds := []*os.File{outR, errR}
	var spanR *os.File
	env := append(append([]string{}, cfg.Env...), "AWS_LAMBDA_RUNTIME_API="+i.api.Addr())
	cmd := &exec.Cmd{
		Path: cfg.Path, Args: cfg.Args, Dir: cfg.Function.CodeDir,
		Stdout: outW, Stderr: errW,
		// Own process group: a timeout kills everything the runtime
		// started. Pdeathsig: instances never outlive the host.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if cfg.Spans != nil {
		var spanW *os.File
		spanR, spanW, err = os.Pipe()
		if err != nil {
			closeAll(writeEnds)
			closeAll(readEnds)
			return nil, fmt.Errorf("span pipe: %w", err)
		}
		writeEnds = append(writeEnds, spanW)
		readEnds = append(readEnds, spanR)
		cmd.ExtraFiles = []*os.File{spanW}
		env = append(env, fmt.Sprintf("COLDTRACE_SPAN_FD=%d", SpanFD))
	}
	cmd.Env = env
	cleanup = append(cleanup, func() { closeAll(readEnds) })

	i.group, err = cfg.Limits.NewGroup(cfg.ID, limits.Spec{MemoryBytes: cfg.Function.MemoryBytes(), Pids: cfg.Pids})
	if err != nil {
		closeAll(writeEnds)
		return nil, err
	}
	cleanup = append(cleanup, func() {
		if err := i.group.Remove(); err != nil {
			log.Warn("instance: cannot remove its cgroup", "instance", cfg.ID, "err", err)
		}
	})
	if err := i.group.Prepare(cmd); err != nil {
		closeAll(writeEnds)
		return nil, fmt.Errorf("limits: %w", err)
	}

	i.SpawnedAt = time.Now()
	err = cmd.Start()
	// The child has its copies; ours would keep the pipes from ever
	// reaching end of file.
	closeAll(writeEnds)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.Path, err)
	}
	if err := i.group.Started(cmd.Process.Pid); err != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		return nil, fmt.Errorf("limits: %w", err)
	}
	i.cmd = cmd

	i.stdout, _ = newLineReader(outR, maxLineBytes, i.logLine("stdout"))
	i.stderr, _ = newLineReader(errR, maxLineBytes, i.logLine("stderr"))
	i.readers = []*lineReader{i.stdout, i.stderr}
	if spanR != nil {
		i.spanr, _ = newLineReader(spanR, maxSpanLine, func(line []byte, _ time.Time) { i.spans.HandleLine(line) })
		i.readers = append(i.readers, i.spanr)
	}
	go i.watch()
	return i, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func (i *Instance) logLine(stream string) func([]byte, time.Time) {
	return func(line []byte, at time.Time) {
		text := strings.TrimRight(string(line), "\r")
		i.logs.add(telemetry.LogLine{Time: at, Stream: stream, Text: text})
	}
}

// watch reaps the process and releases everything the instance held.
func (i *Instance) watch() {
	i.cmd.Wait()
	i.exitAt = time.Now()
	i.exitState = i.cmd.ProcessState
	// Children the runtime forked die with it.
	i.group.Kill()
	syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
	for _, r := range i.readers {
		r.wait(exitDrainWindow)
	}
	i.oomKilled = i.group.OOMKilled()
	i.peakMemory = i.group.PeakMemory()
	reason := i.reason()
	i.spans.CutOff("", reason, i.exitAt)
	i.api.Close()
	if err := i.group.Remove(); err != nil {
		i.log.Warn("instance: cannot remove its cgroup", "instance", i.ID, "err", err)
	}
	close(i.exited)
}

// reason describes why the process ended, for cut-off spans.
func (i *Instance) reason() string {
	switch {
	case i.oomKilled:
		return "out of memory"
	case i.killReason.Load() != nil:
		return *i.killReason.Load()
	}
	return "the runtime exited (" + i.exitState.String() + ")"
}

// Exited is closed once the process has ended and its resources are
// released.
func (i *Instance) Exited() <-chan struct{} { return i.exited }

// Alive reports whether the process still runs.
func (i *Instance) Alive() bool {
	select {
	case <-i.exited:
		return false
	default:
		return true
	}
}

// Kill ends the instance's processes; the first reason given is kept.
func (i *Instance) Kill(reason string) {
	i.killReason.CompareAndSwap(nil, &reason)
	if i.cmd == nil {
		return
	}
	i.group.Kill()
	syscall.Kill(-i.cmd.Process.Pid, syscall.SIGKILL)
}

// ReadyAt is when init ended (the first /next).
func (i *Instance) ReadyAt() time.Time { return i.readyAt }

// WaitReady waits for the runtime's first /next. On failure the instance
// is killed and reaped before the error returns.
func (i *Instance) WaitReady(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	var fe *runtimeapi.FunctionError
	select {
	case <-i.api.Ready():
		i.readyAt = i.api.ReadyAt()
		return nil
	case fe = <-i.api.InitError():
		i.Kill("init error")
	case <-i.exited:
		fe = i.exitError()
	case <-t.C:
		i.Kill("init timed out")
		fe = &runtimeapi.FunctionError{ErrorType: "Sandbox.Timedout",
			ErrorMessage: fmt.Sprintf("Init did not complete within %s", timeout)}
	case <-ctx.Done():
		i.Kill("init cancelled")
		<-i.exited
		return ctx.Err()
	}
	<-i.exited
	lines, dropped := i.logs.take()
	return &InitError{FunctionError: fe, Logs: lines, LogsDropped: dropped, At: i.exitAt, MaxMemory: i.peakMemory}
}

// exitError is the Lambda-style error of a runtime that ended.
func (i *Instance) exitError() *runtimeapi.FunctionError {
	if i.oomKilled {
		return &runtimeapi.FunctionError{ErrorType: "Runtime.OutOfMemory",
			ErrorMessage: fmt.Sprintf("Runtime exited with error: %s (out of memory: the limit is %d MB)", i.exitState, i.Function.MemoryMB)}
	}
	return &runtimeapi.FunctionError{ErrorType: "Runtime.ExitError",
		ErrorMessage: "Runtime exited with error: " + i.exitState.String()}
}

// Result is how one invocation went.
type Result struct {
	// Payload is the response, or the error body the runtime posted.
	Payload []byte
	// Error is set unless the function answered successfully: the error
	// it posted, or the host's (timeout, crash, out of memory).
	Error *runtimeapi.FunctionError
	// ErrorType is the span contract's error.type, "" on success.
	ErrorType   string
	Delivered   time.Time
	End         time.Time
	Logs        []telemetry.LogLine
	LogsDropped int
	MaxMemory   uint64
}

// ErrGone is returned by Invoke when the instance ended before it took
// the event; the caller may retry on another instance.
var ErrGone = errors.New("instance is gone")

// Invoke hands inv to the runtime and waits for its answer, the timeout,
// or the end of the process. On timeout the instance is killed. As in
// Lambda, a caller that goes away does not stop the invocation, so there
// is no context: the timeout bounds the wait.
func (i *Instance) Invoke(inv *runtimeapi.Invocation, timeout time.Duration) (*Result, error) {
	start := time.Now()
	inv.Deadline = start.Add(timeout)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	dctx, cancel := context.WithDeadline(context.Background(), inv.Deadline)
	err := i.api.Deliver(dctx, inv, i.exited)
	cancel()
	res := &Result{Delivered: time.Now()}
	switch {
	case err == nil:
		select {
		case r := <-inv.Result():
			res.End = r.At
			res.Payload = r.Payload
			if r.Error != nil {
				res.Error, res.ErrorType = r.Error, telemetry.ErrHandler
			}
		case <-i.exited:
			res.End = i.exitAt
			res.Error = i.exitError()
			res.ErrorType = telemetry.ErrCrash
			if i.oomKilled {
				res.ErrorType = telemetry.ErrOutOfMemory
			}
		case <-timer.C:
			i.timeout(inv, res, timeout)
		}
	case errors.Is(err, context.DeadlineExceeded):
		// The runtime never asked for the event: it is stuck.
		i.timeout(inv, res, timeout)
	default:
		return nil, ErrGone
	}
	// Lines printed before the answer are in the pipes: take them now.
	i.stdout.Sync()
	i.stderr.Sync()
	res.Logs, res.LogsDropped = i.logs.take()
	res.MaxMemory = i.MaxMemoryUsed()
	return res, nil
}

func (i *Instance) timeout(inv *runtimeapi.Invocation, res *Result, timeout time.Duration) {
	res.End = time.Now()
	i.api.Forget(inv.RequestID)
	i.Kill("timeout")
	<-i.exited
	if i.oomKilled {
		// The kernel killed for memory in the instance's cgroup before
		// our kill: the process itself as the time ran out (the timer
		// won the race with its exit), or a child of it that the
		// handler then waited for. Memory is the cause to report.
		res.ErrorType, res.Error = telemetry.ErrOutOfMemory, i.exitError()
		return
	}
	res.ErrorType = telemetry.ErrTimeout
	res.Error = &runtimeapi.FunctionError{ErrorType: "Sandbox.Timedout",
		ErrorMessage: fmt.Sprintf("Task timed out after %.2f seconds", timeout.Seconds())}
}

// MaxMemoryUsed is the instance's peak memory so far.
func (i *Instance) MaxMemoryUsed() uint64 {
	select {
	case <-i.exited:
		return i.peakMemory
	default:
	}
	if p := i.group.PeakMemory(); p > 0 {
		return p
	}
	return limits.ProcessPeak(i.cmd.Process.Pid)
}

// onNext runs at each /next: the runtime is idle, so any span still open
// was left open by the function. Functions that never sent a span record
// cost nothing here; were a first record still unread, the next /next or
// the instance's end cuts its span off.
func (i *Instance) onNext(prev string) {
	if prev == "" || i.spanr == nil || !i.spanr.Seen() {
		return
	}
	i.spanr.Sync()
	i.spans.CutOff("", "the invocation ended with the span open", time.Now())
}

// logBuffer keeps the last lines written since the last take.
type logBuffer struct {
	mu      sync.Mutex
	max     int
	lines   []telemetry.LogLine
	dropped int
}

func (b *logBuffer) add(l telemetry.LogLine) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) >= b.max {
		copy(b.lines, b.lines[1:])
		b.lines = b.lines[:len(b.lines)-1]
		b.dropped++
	}
	b.lines = append(b.lines, l)
}

func (b *logBuffer) take() ([]telemetry.LogLine, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines, dropped := b.lines, b.dropped
	b.lines, b.dropped = nil, 0
	return lines, dropped
}
