// Package coldtracetest runs a real Coldtrace for the plugin's tests: it
// builds ../cmd/coldtrace from this repository, starts `coldtrace up` on
// free loopback ports with a temporary data directory (embedded
// ClickHouse), and sends it FaaS-shaped spans with the OpenTelemetry SDK.
package coldtracetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BinEnv, when set, names a coldtrace binary to run instead of building
// one.
const BinEnv = "COLDTRACE_BIN"

// startTimeout bounds how long Coldtrace may take to answer its status
// endpoint (embedded ClickHouse boot and schema migration included).
const startTimeout = 2 * time.Minute

// Server is a running `coldtrace up`.
type Server struct {
	// URL is the REST API's base URL (without /api/v1).
	URL string
	// OTLPGRPCAddr is the OTLP/gRPC receiver's host:port.
	OTLPGRPCAddr string
	// Dir holds the data directory and the process log.
	Dir string
	// Token is the API token the server requires ("" for none).
	Token string

	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
}

// RepoRoot is the Coldtrace repository this module lives in.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	// file is <repo>/grafana-plugin/pkg/internal/coldtracetest/server.go
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..", ".."))
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the coldtrace binary: $COLDTRACE_BIN, or one built from
// the repository into dir (once per process).
func Binary(ctx context.Context, dir string) (string, error) {
	if bin := os.Getenv(BinEnv); bin != "" {
		return bin, nil
	}
	buildOnce.Do(func() {
		builtBin = filepath.Join(dir, "coldtrace")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", builtBin, "./cmd/coldtrace")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building coldtrace in %s: %w\n%s", cmd.Dir, err, out)
		}
	})
	return builtBin, buildErr
}

// Options change how Coldtrace runs.
type Options struct {
	// AuthToken, when set, is given as --auth-token: every API call then
	// needs it as a bearer token.
	AuthToken string
}

// Start builds (or takes) coldtrace and runs `coldtrace up` in dir until
// Stop. Every listen address the command has is moved to a free loopback
// port, so parallel test runs and a developer's own Coldtrace do not
// collide.
func Start(ctx context.Context, dir string) (*Server, error) {
	return StartWith(ctx, dir, Options{})
}

// StartWith is Start with options.
func StartWith(ctx context.Context, dir string, o Options) (*Server, error) {
	bin, err := Binary(ctx, dir)
	if err != nil {
		return nil, err
	}
	addrFlags, err := listenFlags(ctx, bin)
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Token: o.AuthToken, logPath: filepath.Join(dir, "coldtrace.log"), done: make(chan struct{})}
	args := []string{"up", "--data-dir", filepath.Join(dir, "data"), "--log-level", "info"}
	if o.AuthToken != "" {
		args = append(args, "--auth-token", o.AuthToken)
	}
	for _, flag := range addrFlags {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		args = append(args, "--"+flag, addr)
		switch flag {
		case "http-addr":
			s.URL = "http://" + addr
		case "otlp-grpc-addr":
			s.OTLPGRPCAddr = addr
		}
	}
	if s.URL == "" || s.OTLPGRPCAddr == "" {
		return nil, fmt.Errorf("coldtrace up has no --http-addr or --otlp-grpc-addr (found %v)", addrFlags)
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Dir = dir
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting coldtrace: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\n--- coldtrace log ---\n%s", err, s.Log())
	}
	return s, nil
}

// listenFlags are the flags of `coldtrace up` that take a listen address
// and are on by default, read from `coldtrace config print up`.
func listenFlags(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "config", "print", "up").Output()
	if err != nil {
		return nil, fmt.Errorf("coldtrace config print up: %w", err)
	}
	line := regexp.MustCompile(`^([a-z0-9-]+-addr): "([^"]*)"`)
	var flags []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(m[2], ":") {
			flags = append(flags, m[1])
		}
	}
	return flags, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/status", nil)
		s.authorize(req)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-s.done:
			return fmt.Errorf("coldtrace exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("coldtrace's /api/v1/status did not answer 200 within %s (last: %s)", startTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// authorize adds the server's token to req.
func (s *Server) authorize(req *http.Request) {
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
}

// getJSON decodes GET /api/v1<path> into out; a non-200 answer is an
// error.
func (s *Server) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1"+path, nil)
	if err != nil {
		return err
	}
	s.authorize(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// spanCount is the number of spans the status endpoint reports.
func (s *Server) spanCount(ctx context.Context) (uint64, error) {
	var st struct {
		SpanCount uint64 `json:"spanCount"`
	}
	err := s.getJSON(ctx, "/status", &st)
	return st.SpanCount, err
}

// waitFor polls check until it reports done, for at most startTimeout;
// check's last word says what was missing.
func waitFor(ctx context.Context, what string, check func(context.Context) (done bool, state string)) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		done, state := check(ctx)
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %s after %s", what, state, startTimeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitStored waits until the status endpoint counts at least n spans.
func (s *Server) waitStored(ctx context.Context, n uint64) error {
	return waitFor(ctx, fmt.Sprintf("%d spans", n), func(ctx context.Context) (bool, string) {
		c, err := s.spanCount(ctx)
		if err != nil {
			return false, err.Error()
		}
		return c >= n, fmt.Sprintf("%d stored", c)
	})
}

// waitTrace waits until the trace endpoint returns n spans of a trace.
func (s *Server) waitTrace(ctx context.Context, traceID string, n int) error {
	return waitFor(ctx, fmt.Sprintf("trace %s with %d spans", traceID, n), func(ctx context.Context) (bool, string) {
		var t struct {
			Spans []json.RawMessage `json:"spans"`
		}
		if err := s.getJSON(ctx, "/traces/"+traceID, &t); err != nil {
			return false, err.Error()
		}
		return len(t.Spans) == n, fmt.Sprintf("%d spans returned", len(t.Spans))
	})
}

// waitInvocations waits until the function rollup counts n invocations in
// [from, to).
func (s *Server) waitInvocations(ctx context.Context, from, to time.Time, n int) error {
	path := fmt.Sprintf("/functions?start=%d&end=%d", from.UnixNano(), to.UnixNano())
	return waitFor(ctx, fmt.Sprintf("%d invocations in the rollup", n), func(ctx context.Context) (bool, string) {
		var fs struct {
			Functions []struct {
				Invocations, Throttles int
			} `json:"functions"`
		}
		if err := s.getJSON(ctx, path, &fs); err != nil {
			return false, err.Error()
		}
		total := 0
		for _, f := range fs.Functions {
			total += f.Invocations + f.Throttles
		}
		return total == n, fmt.Sprintf("%d counted", total)
	})
}

// Log is what the process has written so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// Stop sends SIGTERM and waits for a clean exit, killing the process if
// it takes too long.
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(45 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("coldtrace did not stop within 45s of SIGTERM; killed")
	}
	var exit *exec.ExitError
	if s.waitErr != nil && !errors.As(s.waitErr, &exit) {
		return s.waitErr
	}
	return nil
}
