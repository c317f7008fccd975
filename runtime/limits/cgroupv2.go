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
	"syscall"

	"golang.org/x/sys/unix"
)

// v2Backend uses the unified hierarchy. Processes start directly inside
// their group (CLONE_INTO_CGROUP), and cgroup.kill ends them all.
type v2Backend struct {
	dir  string // this host's subtree
	pids bool   // the pids controller is enabled
}

func openV2(mounts []mount, parent string, log *slog.Logger) (backend, error) {
	var root string
	for _, m := range mounts {
		if m.v2 {
			root = m.path
			break
		}
	}
	if root == "" {
		return nil, errors.New("cgroup v2: not mounted")
	}
	own := filepath.Join(root, ownCgroup(""))
	available := strings.Fields(readString(filepath.Join(own, "cgroup.controllers")))
	if !contains(available, "memory") {
		return nil, fmt.Errorf("cgroup v2: the memory controller is not available in %s (controllers: %q)", own, strings.Join(available, " "))
	}
	controllers := "+memory"
	withPids := contains(available, "pids")
	if withPids {
		controllers += " +pids"
	}
	if err := enableControllers(own, controllers, log); err != nil {
		return nil, err
	}
	parentDir := filepath.Join(own, parent)
	dir := filepath.Join(parentDir, hostDirName())
	if err := mkdirInParent(parentDir, dir, log); err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	if err := writeFile(filepath.Join(parentDir, "cgroup.subtree_control"), controllers); err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("cgroup v2: enabling %s in %s: %w", controllers, parentDir, err)
	}
	if err := writeFile(filepath.Join(dir, "cgroup.subtree_control"), controllers); err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("cgroup v2: enabling %s in %s: %w", controllers, dir, err)
	}
	return &v2Backend{dir: dir, pids: withPids}, nil
}

// enableControllers delegates controllers to the children of own. A
// cgroup with processes cannot have controlled children (the "no
// internal processes" rule), so when own holds processes, this host
// moves itself into a leaf first, as systemd's delegation guide
// describes.
func enableControllers(own, controllers string, log *slog.Logger) error {
	err := writeFile(filepath.Join(own, "cgroup.subtree_control"), controllers)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("cgroup v2: enabling %s in %s: %w", controllers, own, err)
	}
	leaf := filepath.Join(own, "coldtrace-host")
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	if err := writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(os.Getpid())); err != nil {
		return fmt.Errorf("cgroup v2: moving the host into %s: %w", leaf, err)
	}
	if err := writeFile(filepath.Join(own, "cgroup.subtree_control"), controllers); err != nil {
		return fmt.Errorf("cgroup v2: enabling %s in %s (other processes share the host's cgroup; run coldtrace in a cgroup of its own, e.g. a systemd unit with Delegate=yes): %w", controllers, own, err)
	}
	log.Info("function limits: moved the host into its own leaf cgroup to delegate controllers", "cgroup", leaf)
	return nil
}

func (b *v2Backend) name() string { return "cgroup v2" }

func (b *v2Backend) dirs() []string { return []string{b.dir} }

func (b *v2Backend) close() {
	os.Remove(b.dir)
	os.Remove(filepath.Dir(b.dir)) // unless another host still uses it
}

func (b *v2Backend) newGroup(id string, spec Spec) (group, error) {
	g := &v2Group{dir: filepath.Join(b.dir, id), fd: -1}
	// memory.peak exists from Linux 5.19.
	g.peak.path = filepath.Join(g.dir, "memory.peak")
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, err
	}
	set := func(file, value string) error {
		if err := writeFile(filepath.Join(g.dir, file), value); err != nil {
			os.Remove(g.dir)
			return fmt.Errorf("%s: %w", file, err)
		}
		return nil
	}
	if spec.MemoryBytes > 0 {
		if err := set("memory.max", strconv.FormatInt(spec.MemoryBytes, 10)); err != nil {
			return nil, err
		}
		// Best effort: without swap the limit above holds anyway, and an
		// OOM kills the whole instance rather than one of its processes.
		_ = writeFile(filepath.Join(g.dir, "memory.swap.max"), "0")
		_ = writeFile(filepath.Join(g.dir, "memory.oom.group"), "1")
	}
	if spec.Pids > 0 && b.pids {
		if err := set("pids.max", strconv.Itoa(spec.Pids)); err != nil {
			return nil, err
		}
	}
	return g, nil
}

type v2Group struct {
	dir  string
	fd   int
	peak counterFile
}

func (g *v2Group) prepare(cmd *exec.Cmd) error {
	fd, err := unix.Open(g.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	g.fd = fd
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = fd
	return nil
}

func (g *v2Group) started(int) error {
	g.closeFD()
	return nil
}

func (g *v2Group) closeFD() {
	if g.fd >= 0 {
		unix.Close(g.fd)
		g.fd = -1
	}
}

func (g *v2Group) oomKilled() bool {
	n, _ := readKeyed(filepath.Join(g.dir, "memory.events"), "oom_kill")
	m, _ := readKeyed(filepath.Join(g.dir, "memory.events"), "oom_group_kill")
	return n+m > 0
}

func (g *v2Group) peakMemory() uint64 { return g.peak.read() }

func (g *v2Group) kill() {
	if err := writeFile(filepath.Join(g.dir, "cgroup.kill"), "1"); err != nil {
		killProcs(g.dir) // before Linux 5.14
	}
}

func (g *v2Group) remove() error {
	g.closeFD()
	g.peak.close()
	return killAndRemove(g.dir)
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
