package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

func splitLines(s string) []string { return strings.Split(s, "\n") }

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// rss starts `coldtrace up` and reports its resident memory idle and
// under FaaS-shaped load.
func (e *benchEnv) rss(ctx context.Context, binary string) error {
	dir, err := os.MkdirTemp("", "coldtrace-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	grpcAddr := freePort()
	cmd := exec.Command(binary, "up", "--data-dir", dir, "--otlp-grpc-addr", grpcAddr, "--otlp-http-addr", freePort(),
		"--http-addr", freePort(), "--gateway-addr", freePort(), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", grpcAddr); err == nil {
			c.Close()
			break
		}
		if i > 600 {
			return fmt.Errorf("coldtrace up did not listen on %s", grpcAddr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(10 * time.Second)
	idle, _, err := readRSS(cmd.Process.Pid)
	if err != nil {
		return err
	}
	pool := generate(faasShape{functions: e.opts.functions}, 7, e.opts.poolSpans, e.opts.perRequest)
	ld := newLoad(grpcAddr, pool, e.opts.senders)
	ld.start()
	var peak uint64
	start := time.Now()
	a0 := ld.acked.Load()
	for time.Since(start) < e.opts.duration {
		time.Sleep(500 * time.Millisecond)
		if r, _, err := readRSS(cmd.Process.Pid); err == nil && r > peak {
			peak = r
		}
	}
	rate := float64(ld.acked.Load()-a0) / time.Since(start).Seconds()
	if err := ld.stop(); err != nil {
		return err
	}
	_, hwm, _ := readRSS(cmd.Process.Pid)
	fmt.Println("## `coldtrace up` memory (separate process, embedded engine)")
	fmt.Println()
	fmt.Println("| state | RSS |")
	fmt.Println("|---|---:|")
	fmt.Printf("| idle, 10 s after start | %.0f MiB |\n", float64(idle)/(1<<20))
	fmt.Printf("| under FaaS-shaped load (%.0f spans/s, %d senders), peak sampled | %.0f MiB |\n", rate, e.opts.senders, float64(peak)/(1<<20))
	fmt.Printf("| high-water mark (VmHWM) | %.0f MiB |\n\n", float64(hwm)/(1<<20))
	return nil
}
