package limits

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParsers(t *testing.T) {
	events := "low 0\nhigh 3\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n"
	if n, ok := parseKeyed(events, "oom_kill"); !ok || n != 1 {
		t.Fatalf("memory.events oom_kill: %d %v", n, ok)
	}
	control := "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n"
	if n, ok := parseKeyed(control, "oom_kill"); !ok || n != 4 {
		t.Fatalf("memory.oom_control oom_kill: %d %v", n, ok)
	}
	if _, ok := parseKeyed(control, "missing"); ok {
		t.Fatal("found a missing key")
	}
	self := "12:pids:/user.slice\n4:memory:/process_api/abc\n1:name=systemd:/\n0::/system.slice/coldtrace.service\n"
	for controller, want := range map[string]string{"memory": "/process_api/abc", "pids": "/user.slice", "": "/system.slice/coldtrace.service", "cpu": "/"} {
		if got := parseOwnCgroup(self, controller); got != want {
			t.Errorf("own %q cgroup %q, want %q", controller, got, want)
		}
	}
	if got := unescapeMount(`/sys/fs/cgroup/with\040space`); got != "/sys/fs/cgroup/with space" {
		t.Fatalf("unescape: %q", got)
	}
}

// Where no cgroup can be written, auto mode degrades to the soft limits
// with a warning, and an explicit mode fails with the reason.
func TestUnwritableCgroupsDegradeWithAWarning(t *testing.T) {
	root := t.TempDir() // no cgroup hierarchy here
	cfg := DefaultConfig()
	cfg.Root = root
	m, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Mechanism() != "soft" || !strings.Contains(m.Warning(), "no writable cgroup memory controller") {
		t.Fatalf("mechanism %q, warning %q", m.Mechanism(), m.Warning())
	}
	for _, mode := range []Mode{V1, V2} {
		cfg.Mode = mode
		if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "cgroups "+string(mode)) {
			t.Errorf("explicit %s without cgroups: %v", mode, err)
		}
	}
	cfg.Mode = "v3"
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "use auto, v1, v2 or off") {
		t.Fatalf("bad mode: %v", err)
	}
}

// The soft fallback still measures peak memory and kills over the limit.
func TestSoftLimitKillsAboveTheLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = Soft
	m, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.NewGroup("x", Spec{MemoryBytes: 48 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	script := filepath.Join(t.TempDir(), "hog.py")
	os.WriteFile(script, []byte("import time\nb = [bytearray(1 << 20) for _ in range(300)]\ntime.sleep(30)\n"), 0o644)
	cmd := exec.Command("/usr/bin/python3", script)
	if err := g.Prepare(cmd); err != nil {
		t.Fatal(err)
	}
	setpgid(cmd)
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	g.Started(cmd.Process.Pid)
	err = cmd.Wait()
	if err == nil || !g.OOMKilled() || g.PeakMemory() < 48<<20 {
		t.Fatalf("exit %v, oom %v, peak %d", err, g.OOMKilled(), g.PeakMemory())
	}
}

func setpgid(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }
