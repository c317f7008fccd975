// Package limits confines function instances: a memory limit with OOM
// detection and peak measurement, a pids limit, and a way to kill every
// process an instance started. It uses cgroup v2 where the memory
// controller is available, cgroup v1 otherwise, and falls back, with a
// warning, to a soft limit (polling the instance's RSS) where neither can
// be written.
//
// Each host process owns the subtree PARENT/h<pid> in each hierarchy, so
// several hosts (or test binaries) on one machine never touch each
// other's instances; subtrees of hosts that died are removed at start.
package limits

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Mode selects the mechanism.
type Mode string

// Modes.
const (
	Auto Mode = "auto" // v2, else v1, else soft with a warning
	V1   Mode = "v1"
	V2   Mode = "v2"
	Soft Mode = "off" // no cgroups: RSS polling, no pids limit
)

// Config configures a Manager.
type Config struct {
	Mode Mode
	// Parent is the cgroup directory, below each hierarchy's root, that
	// holds Coldtrace's instances.
	Parent string
	// PollInterval is how often the soft fallback reads an instance's RSS.
	PollInterval time.Duration
	// Root overrides where cgroup hierarchies are looked for (default: as
	// /proc/self/mountinfo says).
	Root string
}

// DefaultConfig is Auto under "coldtrace".
func DefaultConfig() Config {
	return Config{Mode: Auto, Parent: "coldtrace", PollInterval: 20 * time.Millisecond}
}

// Validate checks c.
func (c Config) Validate() error {
	switch c.Mode {
	case Auto, V1, V2, Soft:
	default:
		return fmt.Errorf("cgroups mode %q: use auto, v1, v2 or off", c.Mode)
	}
	if c.Parent == "" || strings.Contains(c.Parent, "..") || filepath.IsAbs(c.Parent) {
		return fmt.Errorf("cgroup parent %q: must be a relative path without '..'", c.Parent)
	}
	if c.PollInterval <= 0 {
		return fmt.Errorf("memory poll interval must be positive")
	}
	return nil
}

// Spec is one instance's limits. Zero means unlimited.
type Spec struct {
	MemoryBytes int64
	Pids        int
}

// Manager creates instance groups.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	backend backend
	warning string
}

// backend is one mechanism.
type backend interface {
	name() string
	newGroup(id string, spec Spec) (group, error)
	// dirs are the host's cgroup directories holding instance groups.
	dirs() []string
	close()
}

// group is one instance's confinement.
type group interface {
	prepare(cmd *exec.Cmd) error
	started(pid int) error
	oomKilled() bool
	peakMemory() uint64
	kill()
	remove() error
}

// New picks the mechanism. It fails only when a mode that was asked for
// explicitly is unavailable; Auto degrades to the soft fallback and logs
// why.
func New(cfg Config, log *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{cfg: cfg, log: log}
	mounts, mountErr := readMounts(cfg.Root)
	var reasons []string
	try := func(mode Mode, open func() (backend, error)) bool {
		if cfg.Mode != Auto && cfg.Mode != mode {
			return false
		}
		b, err := open()
		if err != nil {
			reasons = append(reasons, err.Error())
			return false
		}
		m.backend = b
		return true
	}
	if mountErr != nil {
		reasons = append(reasons, mountErr.Error())
	} else if try(V2, func() (backend, error) { return openV2(mounts, cfg.Parent, log) }) ||
		try(V1, func() (backend, error) { return openV1(mounts, cfg.Parent, log) }) {
		return m, nil
	}
	if cfg.Mode == V1 || cfg.Mode == V2 {
		return nil, fmt.Errorf("cgroups %s: %s", cfg.Mode, strings.Join(reasons, "; "))
	}
	m.backend = softBackend{poll: cfg.PollInterval}
	if cfg.Mode == Auto {
		m.warning = "no writable cgroup memory controller (" + strings.Join(reasons, "; ") +
			"): memory limits are enforced softly by polling each instance's RSS, and there is no pids limit"
		log.Warn("function limits: " + m.warning)
	}
	return m, nil
}

// Mechanism names what enforces the limits: "cgroup v2", "cgroup v1" or
// "soft".
func (m *Manager) Mechanism() string { return m.backend.name() }

// Warning says why limits are soft, or "".
func (m *Manager) Warning() string { return m.warning }

// Close removes this host's cgroup subtree. Groups must be removed first.
func (m *Manager) Close() { m.backend.close() }

// NewGroup creates the confinement of one instance; id must be unique
// among this manager's live groups.
func (m *Manager) NewGroup(id string, spec Spec) (*Group, error) {
	g, err := m.backend.newGroup(id, spec)
	if err != nil {
		return nil, fmt.Errorf("limits for %s (%s): %w", id, m.backend.name(), err)
	}
	return &Group{g: g}, nil
}

// Group confines one instance's processes.
type Group struct{ g group }

// Prepare adjusts cmd before Start (v2 starts it inside the group).
func (g *Group) Prepare(cmd *exec.Cmd) error { return g.g.prepare(cmd) }

// Started is called once cmd has started; on error the process is not
// confined and must be stopped.
func (g *Group) Started(pid int) error { return g.g.started(pid) }

// OOMKilled reports whether the kernel (or the soft watchdog) killed a
// process of the group for exceeding its memory limit.
func (g *Group) OOMKilled() bool { return g.g.oomKilled() }

// PeakMemory is the group's highest memory use so far, in bytes.
func (g *Group) PeakMemory() uint64 { return g.g.peakMemory() }

// Kill sends SIGKILL to every process in the group.
func (g *Group) Kill() { g.g.kill() }

// Remove deletes the group; its processes must have exited.
func (g *Group) Remove() error { return g.g.remove() }

// mount is one cgroup hierarchy.
type mount struct {
	path    string
	v2      bool
	options map[string]bool // v1 controllers
}

func readMounts(root string) ([]mount, error) {
	if root != "" {
		return discoverUnder(root), nil
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mountinfo: %w", err)
	}
	var out []mount
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		switch g[0] {
		case "cgroup2":
			out = append(out, mount{path: unescapeMount(f[4]), v2: true})
		case "cgroup":
			opts := map[string]bool{}
			for _, o := range strings.Split(g[2], ",") {
				opts[o] = true
			}
			out = append(out, mount{path: unescapeMount(f[4]), options: opts})
		}
	}
	return out, nil
}

// discoverUnder treats root as a cgroup mount point layout: root itself
// if it is a v2 hierarchy, else root/<controller> for v1.
func discoverUnder(root string) []mount {
	var out []mount
	if fileExists(filepath.Join(root, "cgroup.controllers")) {
		out = append(out, mount{path: root, v2: true})
	}
	for _, c := range []string{"memory", "pids"} {
		if fileExists(filepath.Join(root, c, "cgroup.procs")) {
			out = append(out, mount{path: filepath.Join(root, c), options: map[string]bool{c: true}})
		}
	}
	return out
}

// unescapeMount decodes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// hostDirName names this process's subtree.
func hostDirName() string { return "h" + strconv.Itoa(os.Getpid()) }

// removeStaleHosts deletes subtrees of hosts that are no longer running,
// killing whatever they left behind.
func removeStaleHosts(parent string, log *slog.Logger) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "h") {
			continue
		}
		pid, err := strconv.Atoi(e.Name()[1:])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		children, _ := os.ReadDir(dir)
		for _, c := range children {
			if c.IsDir() {
				if err := killAndRemove(filepath.Join(dir, c.Name())); err != nil {
					log.Warn("function limits: cannot remove a stale cgroup", "dir", filepath.Join(dir, c.Name()), "err", err)
				}
			}
		}
		if err := os.Remove(dir); err != nil {
			log.Warn("function limits: cannot remove a stale cgroup", "dir", dir, "err", err)
		} else {
			log.Info("function limits: removed the cgroups of a host that is gone", "dir", dir)
		}
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killProcs SIGKILLs every process listed in dir/cgroup.procs.
func killProcs(dir string) (n int) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return 0
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
			n++
		}
	}
	return n
}

// killAndRemove empties a cgroup and removes it. Killed processes leave
// the cgroup once the kernel has reaped them, which takes a moment.
func killAndRemove(dir string) error {
	var err error
	for i := 0; i < 200; i++ {
		killProcs(dir)
		if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return err
}

// readKeyed returns the value of key in a "key value" per line file
// (memory.events, memory.oom_control).
func readKeyed(path, key string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	return parseKeyed(string(b), key)
}

func parseKeyed(s, key string) (uint64, bool) {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// counterFile reads a number from a cgroup file it keeps open: a read at
// offset 0 makes the kernel produce the current value, one syscall where
// opening the file each time takes three. Peak memory is read after every
// invocation.
type counterFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	buf  [32]byte
}

func (c *counterFile) read() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		f, err := os.Open(c.path)
		if err != nil {
			return 0
		}
		c.f = f
	}
	n, err := c.f.ReadAt(c.buf[:], 0)
	if n == 0 && err != nil {
		return 0
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(string(c.buf[:n])), 10, 64)
	return v
}

func (c *counterFile) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

func writeFile(path, value string) error {
	return os.WriteFile(path, []byte(value), 0o644)
}

// ActiveGroups counts the instance groups this host has on disk now,
// read from the cgroup filesystem (0 for the soft fallback): after every
// instance has stopped it must be 0.
func (m *Manager) ActiveGroups() int {
	n := 0
	for _, dir := range m.backend.dirs() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() {
				n++
			}
		}
	}
	return n
}
