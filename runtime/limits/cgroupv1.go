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
)

// v1Backend uses the memory and pids hierarchies of cgroup v1.
type v1Backend struct {
	memDir, pidsDir string // this host's subtrees; pidsDir "" without the pids controller
}

func openV1(mounts []mount, parent string, log *slog.Logger) (backend, error) {
	var memRoot, pidsRoot string
	for _, m := range mounts {
		if m.v2 {
			continue
		}
		if m.options["memory"] && memRoot == "" {
			memRoot = m.path
		}
		if m.options["pids"] && pidsRoot == "" {
			pidsRoot = m.path
		}
	}
	if memRoot == "" {
		return nil, errors.New("cgroup v1: no memory hierarchy is mounted")
	}
	b := &v1Backend{}
	var err error
	if b.memDir, err = hostSubtree(memRoot, ownCgroup("memory"), parent, log); err != nil {
		return nil, fmt.Errorf("cgroup v1 memory: %w", err)
	}
	if !fileExists(filepath.Join(b.memDir, "memory.limit_in_bytes")) {
		os.Remove(b.memDir)
		return nil, fmt.Errorf("cgroup v1: %s has no memory.limit_in_bytes", b.memDir)
	}
	if pidsRoot != "" {
		if b.pidsDir, err = hostSubtree(pidsRoot, ownCgroup("pids"), parent, log); err != nil {
			log.Warn("function limits: cgroup v1 pids controller not writable; no pids limit", "err", err)
			b.pidsDir = ""
		}
	}
	return b, nil
}

// hostSubtree creates root/own/parent/h<pid> after removing stale
// siblings. Nesting below our own cgroup keeps functions inside whatever
// limits the host itself runs under.
func hostSubtree(root, own, parent string, log *slog.Logger) (string, error) {
	parentDir := filepath.Join(root, own, parent)
	dir := filepath.Join(parentDir, hostDirName())
	return dir, mkdirInParent(parentDir, dir, log)
}

// mkdirInParent creates parentDir/dir. Another host closing may remove
// the shared parent between the two steps, so a vanished parent is made
// again.
func mkdirInParent(parentDir, dir string, log *slog.Logger) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = os.MkdirAll(parentDir, 0o755); err != nil {
			return err
		}
		if attempt == 0 {
			removeStaleHosts(parentDir, log)
		}
		err = os.Mkdir(dir, 0o755)
		if err == nil || errors.Is(err, os.ErrExist) {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}

// ownCgroup is this process's cgroup path in a v1 hierarchy holding
// controller, or in the v2 hierarchy for "".
func ownCgroup(controller string) string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "/"
	}
	return parseOwnCgroup(string(b), controller)
}

func parseOwnCgroup(s, controller string) string {
	for _, line := range strings.Split(s, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if controller != "" && c == controller {
				return parts[2]
			}
		}
	}
	return "/"
}

func (b *v1Backend) name() string { return "cgroup v1" }

func (b *v1Backend) dirs() []string {
	if b.pidsDir == "" {
		return []string{b.memDir}
	}
	return []string{b.memDir, b.pidsDir}
}

func (b *v1Backend) close() {
	// The parent goes too unless another host still uses it.
	os.Remove(b.memDir)
	os.Remove(filepath.Dir(b.memDir))
	if b.pidsDir != "" {
		os.Remove(b.pidsDir)
		os.Remove(filepath.Dir(b.pidsDir))
	}
}

func (b *v1Backend) newGroup(id string, spec Spec) (group, error) {
	g := &v1Group{mem: filepath.Join(b.memDir, id)}
	g.peak.path = filepath.Join(g.mem, "memory.max_usage_in_bytes")
	if err := os.Mkdir(g.mem, 0o755); err != nil {
		return nil, err
	}
	if spec.MemoryBytes > 0 {
		if err := writeFile(filepath.Join(g.mem, "memory.limit_in_bytes"), strconv.FormatInt(spec.MemoryBytes, 10)); err != nil {
			os.Remove(g.mem)
			return nil, err
		}
		// Without swap accounting the file is absent; the limit above
		// still holds for RAM.
		_ = writeFile(filepath.Join(g.mem, "memory.memsw.limit_in_bytes"), strconv.FormatInt(spec.MemoryBytes, 10))
	}
	if b.pidsDir != "" {
		g.pids = filepath.Join(b.pidsDir, id)
		if err := os.Mkdir(g.pids, 0o755); err != nil {
			os.Remove(g.mem)
			return nil, err
		}
		if spec.Pids > 0 {
			if err := writeFile(filepath.Join(g.pids, "pids.max"), strconv.Itoa(spec.Pids)); err != nil {
				return nil, errors.Join(err, g.remove())
			}
		}
	}
	return g, nil
}

type v1Group struct {
	mem, pids string
	peak      counterFile
}

// v1 cannot start a process inside a cgroup (CLONE_INTO_CGROUP is v2
// only), so the host moves the process in right after it has started. A
// launcher that joins first and then execs the runtime (sh -c 'echo $$ >
// cgroup.procs; exec ...') would leave no window outside the limits, but
// measured here it slows a Node.js start by 10-15 ms, while the move
// costs tens of microseconds. What the runtime allocates in that window
// (well under a megabyte) stays charged to the host's cgroup.
func (g *v1Group) prepare(*exec.Cmd) error { return nil }

func (g *v1Group) started(pid int) error {
	p := strconv.Itoa(pid)
	if err := writeFile(filepath.Join(g.mem, "cgroup.procs"), p); err != nil {
		return fmt.Errorf("joining %s: %w", g.mem, err)
	}
	if g.pids != "" {
		if err := writeFile(filepath.Join(g.pids, "cgroup.procs"), p); err != nil {
			return fmt.Errorf("joining %s: %w", g.pids, err)
		}
	}
	return nil
}

func (g *v1Group) oomKilled() bool {
	n, _ := readKeyed(filepath.Join(g.mem, "memory.oom_control"), "oom_kill")
	return n > 0
}

func (g *v1Group) peakMemory() uint64 { return g.peak.read() }

func (g *v1Group) kill() {
	killProcs(g.mem)
	if g.pids != "" {
		killProcs(g.pids)
	}
}

func (g *v1Group) remove() error {
	g.peak.close()
	err := killAndRemove(g.mem)
	if g.pids != "" {
		err = errors.Join(err, killAndRemove(g.pids))
	}
	return err
}
