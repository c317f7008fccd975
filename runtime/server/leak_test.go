package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// 10,000 invocations, hundreds of them ending their instance (crashes,
// timeouts) and some leaving a child process behind, must leave no zombie,
// no open descriptor, no cgroup and no goroutine once the function is gone.
func TestNoLeaksAfterTenThousandInvocations(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 invocations")
	}
	e := newEnv(t)
	cfg := goConfig("churn")
	cfg.MaxInstances = 4
	cfg.QueueWait = registry.Duration(time.Minute)
	// Long enough that no quick op times out on a loaded host or under
	// -race (300 ms did, 2 of 10,000); sleep ops run 2 s and always do.
	cfg.Timeout = registry.Duration(time.Second)
	e.deploy(cfg, goFunction(t))
	e.invoke("churn", nil)
	settle := func() {
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		e.srv.Flush(context.Background())
	}
	settle()
	baseFDs, baseGoroutines := runtimeFDs(t), runtime.NumGoroutine()
	// Without the collector, a descriptor only a finalizer would close
	// counts as leaked.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	const workers, perWorker = 4, 2500
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				op := churnOp(w*perWorker + i)
				res, err := e.c.Invoke(context.Background(), "churn", []byte(`{"op":"`+op+`","ms":2000}`), false)
				mu.Lock()
				if err != nil {
					counts["transport error"]++
				} else {
					counts[op+"/"+res.ErrorType]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	outcome := map[string]string{"echo": "", "spawn": "", "fail": telemetry.ErrHandler, "crash": telemetry.ErrCrash, "sleep": telemetry.ErrTimeout}
	want := map[string]int{}
	for n := 0; n < workers*perWorker; n++ {
		op := churnOp(n)
		want[op+"/"+outcome[op]]++
	}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", counts, want)
	}
	if err := e.c.Delete(context.Background(), "churn"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every function process to be reaped", func() bool { return len(children(t)) == 0 })
	if z := zombies(t); len(z) > 0 {
		t.Fatalf("zombie processes: %v", z)
	}
	if n := e.srv.Limits().ActiveGroups(); n != 0 {
		t.Fatalf("%d instance cgroups left (%s)", n, e.srv.Limits().Mechanism())
	}
	settle()
	// A leak per instance (three pipes, a listener, a cgroup fd) would
	// show as hundreds; allow for a few connections coming and going.
	deadline := time.Now().Add(10 * time.Second)
	for runtimeFDs(t) > baseFDs+4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pipes, sockets and cgroup files open, %d before the invocations; all descriptors:\n%s", runtimeFDs(t), baseFDs, fdTargets(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= baseGoroutines+10 })
}

// churnOp is what invocation n asks of the function.
func churnOp(n int) string {
	switch {
	case n%1000 == 1:
		return "sleep" // longer than the timeout
	case n%50 == 0:
		return "crash"
	case n%97 == 0:
		return "spawn" // a child process that lives until its instance ends
	case n%10 == 0:
		return "fail"
	}
	return "echo"
}

// runtimeFDs counts the kinds of descriptor an instance holds (pipes,
// sockets, cgroup directories); the embedded ClickHouse in this process
// opens files of its own as its thread pools grow.
func runtimeFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if strings.HasPrefix(target, "pipe:") || strings.HasPrefix(target, "socket:") ||
			strings.HasPrefix(target, "anon_inode:") || strings.HasPrefix(target, "/sys/fs/cgroup/") {
			n++
		}
	}
	return n
}

// fdTargets describes the open descriptors, for a failure message.
func fdTargets(t *testing.T) string {
	entries, _ := os.ReadDir("/proc/self/fd")
	kinds := map[string]int{}
	for _, e := range entries {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if i := strings.IndexByte(target, '['); i > 0 {
			target = target[:i]
		}
		kinds[target]++
	}
	return fmt.Sprint(kinds)
}

type proc struct {
	pid   int
	state string
}

// children lists this process's child processes.
func children(t *testing.T) []proc {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := strconv.Itoa(os.Getpid())
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ')'.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == self {
			out = append(out, proc{pid: pid, state: f[0]})
		}
	}
	return out
}

func zombies(t *testing.T) []proc {
	var out []proc
	for _, p := range children(t) {
		if p.state == "Z" {
			out = append(out, p)
		}
	}
	return out
}
