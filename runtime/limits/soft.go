package limits

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// softBackend is the fallback without cgroups: a watchdog polls the
// instance's resident memory and kills its process group above the
// limit. Memory of processes the runtime forks is not counted, a burst
// between two polls can overshoot, and there is no pids limit.
type softBackend struct{ poll time.Duration }

func (softBackend) name() string   { return "soft" }
func (softBackend) close()         {}
func (softBackend) dirs() []string { return nil }

func (b softBackend) newGroup(_ string, spec Spec) (group, error) {
	return &softGroup{limit: uint64(spec.MemoryBytes), poll: b.poll, stop: make(chan struct{})}, nil
}

type softGroup struct {
	limit uint64
	poll  time.Duration
	pid   int

	oom      atomic.Bool
	peak     atomic.Uint64
	stop     chan struct{}
	stopOnce sync.Once
}

func (g *softGroup) prepare(*exec.Cmd) error { return nil }

func (g *softGroup) started(pid int) error {
	g.pid = pid
	go g.watch()
	return nil
}

func (g *softGroup) watch() {
	t := time.NewTicker(g.poll)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		rss, hwm, err := readStatusMemory(g.pid)
		if err != nil {
			return // the process is gone
		}
		g.notePeak(hwm)
		if g.limit > 0 && rss > g.limit {
			g.oom.Store(true)
			g.kill()
			return
		}
	}
}

func (g *softGroup) notePeak(v uint64) {
	for {
		cur := g.peak.Load()
		if v <= cur || g.peak.CompareAndSwap(cur, v) {
			return
		}
	}
}

func (g *softGroup) oomKilled() bool { return g.oom.Load() }

func (g *softGroup) peakMemory() uint64 {
	if _, hwm, err := readStatusMemory(g.pid); err == nil {
		g.notePeak(hwm)
	}
	return g.peak.Load()
}

// kill ends the process group the instance leads.
func (g *softGroup) kill() {
	if g.pid > 0 {
		syscall.Kill(-g.pid, syscall.SIGKILL)
	}
}

func (g *softGroup) remove() error {
	g.stopOnce.Do(func() { close(g.stop) })
	return nil
}

// readStatusMemory returns VmRSS and VmHWM (peak RSS) of pid in bytes.
func readStatusMemory(pid int) (rss, hwm uint64, err error) {
	if pid <= 0 {
		return 0, 0, fmt.Errorf("no process")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	return rss, hwm, nil
}

// ProcessPeak is the peak resident memory (VmHWM) of one process, for
// when the group cannot tell; 0 if unknown.
func ProcessPeak(pid int) uint64 {
	_, hwm, err := readStatusMemory(pid)
	if err != nil {
		return 0
	}
	return hwm
}
