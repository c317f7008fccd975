package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/runtime/client"
	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/server"
)

// The runtime's benchmarks. Results and the machine they ran on are in
// docs/benchmarks.md; run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./runtime/server/
//
// Each reports its figures as custom metrics (ms or invocations/s); the
// iteration count is irrelevant.

// benchFunctions are trivial handlers per runtime. Each exits when asked
// to, so a benchmark can make the next invocation cold without counting
// the exit.
func benchFunctions(b *testing.B) map[string]struct {
	cfg registry.Config
	dir string
} {
	b.Helper()
	node := writeFunctionB(b, map[string]string{"index.js": "exports.handler = async (e) => { if (e && e.exit) process.exit(0); return 1; };\n"})
	python := writeFunctionB(b, map[string]string{"app.py": "import os\ndef handler(event, context):\n    if event and event.get('exit'):\n        os._exit(0)\n    return 1\n"})
	return map[string]struct {
		cfg registry.Config
		dir string
	}{
		"go":     {registry.Config{Runtime: registry.Provided}, goFunctionB(b)},
		"node":   {registry.Config{Runtime: registry.NodeJS20, Handler: "index.handler"}, node},
		"python": {registry.Config{Runtime: registry.Python311, Handler: "app.handler"}, python},
	}
}

func writeFunctionB(b *testing.B, files map[string]string) string {
	dir := b.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

func goFunctionB(b *testing.B) string {
	dir := b.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "./testdata/gofn").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// otlpSink accepts OTLP/HTTP requests and throws them away: the
// benchmarks measure the runtime's cost of tracing, not a backend's.
func otlpSink(b *testing.B) (string, *atomic.Int64) {
	var requests atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), &requests
}

func startBench(b *testing.B, tracing bool) *server.Server {
	b.Helper()
	cfg := server.DefaultConfig()
	cfg.DataDir = b.TempDir()
	cfg.GatewayAddr = "127.0.0.1:0"
	cfg.Limits.Parent = "coldtrace-bench"
	if tracing {
		cfg.Telemetry.Endpoint, _ = otlpSink(b)
	}
	srv, err := server.Start(cfg, testLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Stop(ctx)
	})
	return srv
}

func deployB(b *testing.B, srv *server.Server, name string, cfg registry.Config, dir string) {
	b.Helper()
	c, err := client.New(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	cfg.Name = name
	if _, err := c.Deploy(context.Background(), cfg, dir, io.Discard); err != nil {
		b.Fatal(err)
	}
}

// invoker posts to the Invoke API over one kept-alive connection.
type invoker struct {
	url    string
	client *http.Client
}

func newInvoker(srv *server.Server, name string) *invoker {
	return &invoker{url: srv.URL() + "/2015-03-31/functions/" + name + "/invocations",
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}}
}

func (iv *invoker) call(payload []byte) (time.Duration, error) {
	start := time.Now()
	resp, err := iv.client.Post(iv.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		return d, fmt.Errorf("status %d, function error %q", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"))
	}
	return d, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkWarmInvoke: round trip of a warm invocation of a no-op
// handler through the Invoke API, one at a time; the handler's own time
// is a few microseconds, so this is the runtime's overhead.
func BenchmarkWarmInvoke(b *testing.B) {
	for _, tracing := range []bool{false, true} {
		srv := startBench(b, tracing)
		for lang, fn := range benchFunctions(b) {
			b.Run(fmt.Sprintf("%s/tracing=%v", lang, tracing), func(b *testing.B) {
				deployB(b, srv, "warm-"+lang, fn.cfg, fn.dir)
				iv := newInvoker(srv, "warm-"+lang)
				for i := 0; i < 200; i++ { // warm up the instance, the JITs, the connection
					if _, err := iv.call([]byte("{}")); err != nil {
						b.Fatal(err)
					}
				}
				const n = 5000
				ds := make([]time.Duration, 0, n)
				b.ResetTimer()
				for i := 0; i < n; i++ {
					d, err := iv.call([]byte("{}"))
					if err != nil {
						b.Fatal(err)
					}
					ds = append(ds, d)
				}
				b.ReportMetric(ms(percentile(ds, 0.5)), "p50-ms")
				b.ReportMetric(ms(percentile(ds, 0.99)), "p99-ms")
			})
		}
	}
}

// bareCommand is the runtime's interpreter, or the function's binary,
// on a program file that only writes a byte: the floor a cold start
// cannot go below.
func bareCommand(b *testing.B, lang, fnDir string) []string {
	dir := b.TempDir()
	switch lang {
	case "node":
		script := filepath.Join(dir, "bare.js")
		os.WriteFile(script, []byte("process.stdout.write('x');\n"), 0o644)
		return []string{"/usr/bin/node", script}
	case "python":
		script := filepath.Join(dir, "bare.py")
		os.WriteFile(script, []byte("import sys\nsys.stdout.write('x')\nsys.stdout.flush()\n"), 0o644)
		return []string{"/usr/bin/python3", script}
	}
	// Outside Lambda (no AWS_LAMBDA_RUNTIME_API), aws-lambda-go prints an
	// error at once.
	return []string{filepath.Join(fnDir, "bootstrap")}
}

// bareStart is the time from starting args to its first byte of output:
// a process start, without the runtime's work and without the exit.
func bareStart(b *testing.B, args []string) time.Duration {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	w.Close()
	one := make([]byte, 1)
	if _, err := r.Read(one); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	cmd.Process.Kill()
	cmd.Wait()
	return d
}

// BenchmarkColdStart: a cold invocation's round trip, minus a warm one's,
// minus the bare process start (to its first output), is what the
// runtime adds to a cold start: cgroup, listener, launcher, bootstrap,
// the first /next. The three are measured back to back in each round, so
// they see the same machine load.
func BenchmarkColdStart(b *testing.B) {
	srv := startBench(b, true)
	for lang, fn := range benchFunctions(b) {
		b.Run(lang, func(b *testing.B) {
			name := "cold-" + lang
			deployB(b, srv, name, fn.cfg, fn.dir)
			iv := newInvoker(srv, name)
			bare := bareCommand(b, lang, fn.dir)
			var cold, warm, bares, added []time.Duration
			for i := 0; i < 45; i++ {
				d0 := bareStart(b, bare)
				d, err := iv.call([]byte("{}"))
				if err != nil {
					b.Fatal(err)
				}
				w, err := iv.call([]byte("{}"))
				if err != nil {
					b.Fatal(err)
				}
				if i >= 5 { // the first rounds fill caches (bytecode, page cache)
					cold, warm, bares = append(cold, d), append(warm, w), append(bares, d0)
					added = append(added, d-w-d0)
				}
				iv.call([]byte(`{"exit":true,"op":"crash"}`))
				waitGone(b, srv, name)
			}
			b.ReportMetric(ms(percentile(cold, 0.5)), "cold-p50-ms")
			b.ReportMetric(ms(percentile(warm, 0.5)), "warm-p50-ms")
			b.ReportMetric(ms(percentile(bares, 0.5)), "bare-start-ms")
			b.ReportMetric(ms(percentile(added, 0.5)), "added-p50-ms")
			// On a shared machine the medians carry other processes' load;
			// the fastest of each is the least disturbed measurement.
			b.ReportMetric(ms(percentile(cold, 0)-percentile(warm, 0)-percentile(bares, 0)), "added-min-ms")
		})
	}
}

func waitGone(b *testing.B, srv *server.Server, name string) {
	for {
		st, err := srv.Host().Stats(name)
		if err != nil {
			b.Fatal(err)
		}
		if st.Live == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// cpuTime is the CPU this process (host and callers) and its live
// children (the function instances) have used.
func cpuTime(b *testing.B) (self, children time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	pid := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if len(f) < 13 || f[1] != pid {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		children += time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ = 100
	}
	return self, children
}

// BenchmarkThroughput: warm invocations per second of a trivial Node
// handler on this machine, eight concurrent callers, two instances, with
// tracing off and on. The two runtimes run side by side and take turns
// in short rounds, so load from other processes on a shared machine
// falls on both alike; the figures are the medians of the rounds. As
// the machine is shared, the cost of tracing is also given as the CPU
// each invocation takes (host, callers, instances), which other
// processes do not disturb.
func BenchmarkThroughput(b *testing.B) {
	fn := benchFunctions(b)["node"]
	cfg := fn.cfg
	cfg.MaxInstances = 2
	cfg.QueueWait = registry.Duration(10 * time.Second)
	var servers [2]*server.Server // tracing off, on
	var invokers [2]*invoker
	for i, tracing := range []bool{false, true} {
		servers[i] = startBench(b, tracing)
		deployB(b, servers[i], "tp", cfg, fn.dir)
		invokers[i] = newInvoker(servers[i], "tp")
	}
	const workers = 8
	// A round's CPU per invocation, split between this process (host and
	// callers) and the function instances, says where tracing's cost lies.
	type round struct{ perSecond, hostCPU, fnCPU float64 }
	run := func(i int, d time.Duration) round {
		var n atomic.Int64
		var wg sync.WaitGroup
		self0, children0 := cpuTime(b)
		stop := time.Now().Add(d)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					if _, err := invokers[i].call([]byte("{}")); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		// Exporting belongs to the round that made the spans.
		servers[i].Flush(context.Background())
		self1, children1 := cpuTime(b)
		calls := float64(max(n.Load(), 1))
		return round{float64(n.Load()) / d.Seconds(),
			float64((self1 - self0).Microseconds()) / calls, float64((children1 - children0).Microseconds()) / calls}
	}
	for i := range servers { // warm-up: instances, JIT, connections
		run(i, time.Second)
	}
	var rounds [2][]round
	var ratio []float64
	for r := 0; r < 8; r++ {
		// Every other pair runs tracing first: whichever runs second
		// inherits the first one's garbage and warm caches.
		var off, on round
		if r%2 == 0 {
			off, on = run(0, 1500*time.Millisecond), run(1, 1500*time.Millisecond)
		} else {
			on, off = run(1, 1500*time.Millisecond), run(0, 1500*time.Millisecond)
		}
		rounds[0], rounds[1] = append(rounds[0], off), append(rounds[1], on)
		ratio = append(ratio, on.perSecond/off.perSecond)
	}
	median := func(xs []float64) float64 {
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	medianOf := func(rs []round, f func(round) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	perSecond := func(r round) float64 { return r.perSecond }
	host := func(r round) float64 { return r.hostCPU }
	fns := func(r round) float64 { return r.fnCPU }
	total := func(r round) float64 { return r.hostCPU + r.fnCPU }
	b.ReportMetric(medianOf(rounds[0], perSecond), "tracing-off-inv/s")
	b.ReportMetric(medianOf(rounds[1], perSecond), "tracing-on-inv/s")
	b.ReportMetric(100*(1-median(ratio)), "throughput-cost-%")
	b.ReportMetric(medianOf(rounds[0], total), "cpu-µs/inv-off")
	b.ReportMetric(medianOf(rounds[1], total), "cpu-µs/inv-on")
	b.ReportMetric(medianOf(rounds[0], host), "host-cpu-µs/inv-off")
	b.ReportMetric(medianOf(rounds[1], host), "host-cpu-µs/inv-on")
	b.ReportMetric(medianOf(rounds[0], fns), "function-cpu-µs/inv-off")
	b.ReportMetric(medianOf(rounds[1], fns), "function-cpu-µs/inv-on")
	b.ReportMetric(100*(medianOf(rounds[1], total)/medianOf(rounds[0], total)-1), "cpu-cost-%")
}
