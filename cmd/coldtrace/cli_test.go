package main_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chdb"
)

// runtimeWithAuthAndTLS starts the runtime role with a token and TLS and
// returns its gateway's and admin listener's base URLs and certificate.
func runtimeWithAuthAndTLS(t *testing.T, token string) (gateway, adminURL, certFile string) {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t)
	gw, adminAddr := freeAddr(t), freeAddr(t)
	p := start(t, nil, "runtime", "--data-dir", t.TempDir(), "--gateway-addr", gw, "--admin-addr", adminAddr,
		"--auth-token", token, "--tls-cert", certFile, "--tls-key", keyFile)
	https := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := https.Get("https://" + gw + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) || p.hasExited() {
			t.Fatalf("the gateway did not come up:\n%s", p.out.String())
		}
	}
	return "https://" + gw, "https://" + adminAddr, certFile
}

// Settings of 'fn deploy' given in COLDTRACE_* variables or the config
// file apply like flags (a flag beats a variable, a variable the file),
// over the directory's coldtrace.json; and the errors of the fn commands
// say what to do.
func TestFnSettingsFromEnvAndConfigFileAndErrors(t *testing.T) {
	const token = "fn-settings-token-0123456789"
	gateway, adminURL, certFile := runtimeWithAuthAndTLS(t, token)
	dir := filepath.Join(t.TempDir(), "dirname")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("def handler(event, context):\n    return 'ok'\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "coldtrace.json"), []byte(`{"runtime":"python3.11","handler":"app.handler","memoryMB":512}`), 0o644)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("timeout: 5s\nconcurrency: 4\nidle-timeout: 2m\n"), 0o644)
	auth := []string{"COLDTRACE_TOKEN=" + token, "COLDTRACE_GATEWAY_CA=" + certFile}

	env := append([]string{"COLDTRACE_NAME=envnamed", "COLDTRACE_MEMORY=200", "COLDTRACE_CONCURRENCY=6", "COLDTRACE_CONFIG=" + cfg}, auth...)
	if out, errOut, code := fnEnv(t, env, gateway, "deploy", dir, "--idle-timeout", "3m"); code != 0 {
		t.Fatalf("deploy: exit %d %s %s", code, out, errOut)
	}
	out, errOut, code := fnEnv(t, auth, gateway, "get", "envnamed")
	if code != 0 {
		t.Fatalf("get: exit %d %s %s", code, out, errOut)
	}
	var info struct {
		MemoryMB     int    `json:"memoryMB"`
		Timeout      string `json:"timeout"`
		MaxInstances int    `json:"maxInstances"`
		IdleTimeout  string `json:"idleTimeout"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if info.MemoryMB != 200 || info.Timeout != "5s" || info.MaxInstances != 6 || info.IdleTimeout != "3m0s" {
		t.Errorf("deployed with %+v, want memory 200 (env over coldtrace.json), timeout 5s (file), max instances 6 (env over file), idle timeout 3m (flag over file)", info)
	}

	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{auth, []string{"invoke"}, "missing NAME\nUsage: coldtrace fn invoke NAME [flags]"},
		{append([]string{"COLDTRACE_CONCURRENCY=1001"}, auth...), []string{"deploy", dir}, "COLDTRACE_CONCURRENCY: max instances 1001"},
		{auth, []string{"deploy", dir, "--concurrency", "1001"}, "--concurrency: max instances 1001"},
		{append([]string{"COLDTRACE_MEMORY=0"}, auth...), []string{"deploy", dir}, "COLDTRACE_MEMORY 0: must be more than 0"},
		{[]string{"COLDTRACE_GATEWAY_CA=" + certFile}, []string{"list"}, "--token or COLDTRACE_TOKEN"},
		{[]string{"COLDTRACE_TOKEN=" + token}, []string{"list"}, "not trusted; give --gateway-ca"},
	} {
		if out, errOut, code := fnEnv(t, c.env, gateway, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("fn %v: exit %d, stderr does not say %q:\n%s%s", c.args, code, c.want, out, errOut)
		}
	}
	// Not the gateway: the admin listener answers the Invoke API's path
	// with its own 404.
	if out, errOut, code := fnEnv(t, auth, adminURL, "invoke", "envnamed"); code == 0 || !strings.Contains(errOut, "answered something other than the function gateway's API") {
		t.Errorf("invoke at the admin listener: exit %d\n%s%s", code, out, errOut)
	}
}

func TestConfigPrintHelpAndErrors(t *testing.T) {
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(coldtraceBin, append([]string{"config", "print"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"up", "--help"}} {
		if out, err := run(nil, args...); err != nil || !strings.Contains(out, "Print the configuration a command would run with") {
			t.Errorf("config print %v: %v\n%s", args, err, out)
		}
	}
	for _, args := range [][]string{{}, {"bogus"}, {"fn"}} {
		if out, err := run(nil, args...); err == nil || !strings.Contains(out, "\n  fn deploy\n") || !strings.Contains(out, "\n  up\n") {
			t.Errorf("config print %v does not list the commands: %v\n%s", args, err, out)
		}
	}
	// fn deploy shows the defaults its --help shows, under its full name.
	out, err := run(nil, "fn", "deploy")
	for _, want := range []string{"'coldtrace fn deploy'", "memory: 128 ", `timeout: "3s"`, "concurrency: 10 "} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("config print fn deploy: %v, no %q in:\n%s", err, want, out)
		}
	}
	// A bad value names where it came from.
	if out, err := run([]string{"COLDTRACE_RETENTION=7d"}, "up"); err == nil || !strings.Contains(out, `COLDTRACE_RETENTION (--retention): time: unknown unit "d"`) {
		t.Errorf("bad environment value: %v\n%s", err, out)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("retention: 7d\n"), 0o644)
	if out, err := run(nil, "up", "--config", cfg); err == nil || !strings.Contains(out, "retention in config file "+cfg+" (--retention)") {
		t.Errorf("bad config file value: %v\n%s", err, out)
	}
}

// The runtime role binds its admin listener before it says it is up.
func TestRuntimeAdminAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, err := exec.Command(coldtraceBin, "runtime", "--data-dir", t.TempDir(), "--gateway-addr", freeAddr(t), "--admin-addr", ln.Addr().String()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "address already in use") || strings.Contains(string(out), "function runtime is up") {
		t.Errorf("runtime with its admin address in use: %v\n%s", err, out)
	}
}

// Each default is said once, by the flag package.
func TestHelpShowsOneDefault(t *testing.T) {
	for _, sub := range [][]string{{"up"}, {"query"}, {"collector"}, {"runtime"}, {"fn", "deploy"}} {
		out, err := exec.Command(coldtraceBin, append(sub, "--help")...).CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("%v: two defaults: %q", sub, strings.TrimSpace(line))
			}
		}
	}
}

// Byte-size flags and keys take units (docs/scaling.md recommends
// --spool-max-bytes 4GiB) as well as plain numbers.
func TestByteSizesTakeUnits(t *testing.T) {
	out, err := configPrint(t, "max-request-bytes: 1048576\n", []string{"COLDTRACE_MAX_INFLIGHT_BYTES=64 MB"}, "collector", "--spool-max-bytes", "4GiB")
	for _, want := range []string{`spool-max-bytes: "4GiB"`, `max-request-bytes: "1MiB"`, `max-inflight-bytes: "64MB"`} {
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("%v: no %q in:\n%s", err, want, out)
		}
	}
	out, err = configPrint(t, "", nil, "collector", "--spool-max-bytes", "4 gallons")
	if err == nil || !strings.Contains(out, `"4 gallons" is not a size`) || !strings.Contains(out, "512MiB") {
		t.Errorf("a bad size: %v\n%s", err, out)
	}
	if out, err := exec.Command(coldtraceBin, "collector", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "--spool-max-bytes bytes") ||
		!strings.Contains(string(out), "(default 2GiB)") {
		t.Errorf("collector --help does not show sizes with units: %v\n%s", err, out)
	}
}

// waitOutput waits until the process has printed want, or exited.
func waitOutput(t *testing.T, p *process, want string) string {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out := p.out.String(); strings.Contains(out, want) {
			return out
		}
		if p.hasExited() {
			break
		}
	}
	t.Fatalf("no %q in the output:\n%s", want, p.out.String())
	return ""
}

// --examples deploys the examples that need no build first (Go compiles
// for long on a fresh machine) and says how far it is.
func TestExamplesDeployQuickOnesFirst(t *testing.T) {
	dir := t.TempDir()
	write := func(name, file, content, cfg string) {
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		os.WriteFile(filepath.Join(dir, name, file), []byte(content), 0o644)
		os.WriteFile(filepath.Join(dir, name, "coldtrace.json"), []byte(cfg), 0o644)
	}
	// A Go example that fails to build: ordering, not building, is tested.
	write("a-go", "main.go", "package main\nfunc main() { broken }\n", `{"runtime":"provided"}`)
	write("b-node", "index.js", "exports.handler = async () => 'ok';\n", `{"runtime":"nodejs20","handler":"index.handler"}`)
	write("c-python", "app.py", "def handler(event, context):\n    return 'ok'\n", `{"runtime":"python3.11","handler":"app.handler"}`)
	p := start(t, nil, "runtime", "--data-dir", t.TempDir(), "--gateway-addr", freeAddr(t), "--admin-addr", freeAddr(t),
		"--examples", "--examples-dir", dir)
	out := waitOutput(t, p, `msg="examples ready" deployed=2 failed=1`)
	py := strings.Index(out, `msg="deploying example" function=c-python runtime=python3.11 progress=1/3`)
	node := strings.Index(out, `msg="deploying example" function=b-node runtime=nodejs20 progress=2/3`)
	goex := strings.Index(out, `msg="deploying example" function=a-go runtime=provided progress=3/3`)
	if py < 0 || node < py || goex < node {
		t.Errorf("deploy order (want python, node, then go): at %d, %d, %d in:\n%s", py, node, goex, out)
	}
}

// A CHDB_LIB_PATH that holds no library is an error, even when the cache
// directory has one: whoever set it meant that library.
func TestMissingCHDBLibPathFails(t *testing.T) {
	lib, err := chdb.FindLibrary()
	if err != nil {
		t.Fatalf("this test needs libchdb: %v", err)
	}
	cache := t.TempDir()
	cached := filepath.Join(cache, "coldtrace", "chdb", chdb.LibraryVersion)
	os.MkdirAll(cached, 0o755)
	if err := os.Symlink(lib, filepath.Join(cached, "libchdb.so")); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nonexistent")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // an up that starts is killed
	defer cancel()
	cmd := exec.CommandContext(ctx, coldtraceBin, "up", "--data-dir", t.TempDir(), "--otlp-grpc-addr", freeAddr(t), "--otlp-http-addr", freeAddr(t),
		"--http-addr", freeAddr(t), "--gateway-addr", freeAddr(t))
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "CHDB_LIB_PATH="+missing)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "CHDB_LIB_PATH="+missing+" is neither libchdb.so nor a directory holding it") {
		t.Errorf("up with CHDB_LIB_PATH=%s: %v\n%s", missing, err, out)
	}
}

// Every flag of every command is in the docs' flag references.
func TestEveryFlagIsDocumented(t *testing.T) {
	var docs strings.Builder
	for _, f := range []string{"deploy.md", "runtime.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", f))
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	for _, sub := range [][]string{{"up"}, {"collector"}, {"query"}, {"runtime"}, {"fn", "deploy"}, {"fn", "invoke"}, {"fn", "dlq"}} {
		out, err := exec.Command(coldtraceBin, append(sub, "--help")...).CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "-h, "))
			if len(fields) == 0 || !strings.HasPrefix(fields[0], "--") || fields[0] == "--help" {
				continue
			}
			if !regexp.MustCompile(`(^|[^a-z-])` + fields[0] + `([^a-z-]|$)`).MatchString(docs.String()) {
				t.Errorf("%v %s is in neither docs/deploy.md nor docs/runtime.md", sub, fields[0])
			}
		}
	}
}

// checkMetricsDocumented checks that every coldtrace_* metric served at
// metricsURL is in docs/deploy.md's metrics table, with its type.
func checkMetricsDocumented(t *testing.T, metricsURL string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, body := getWith(t, metricsURL)
	types := regexp.MustCompile(`(?m)^# TYPE (coldtrace_\w+) (\w+)$`).FindAllStringSubmatch(body, -1)
	if len(types) == 0 {
		t.Fatalf("no coldtrace metrics at %s:\n%s", metricsURL, body)
	}
	for _, m := range types {
		if row := "| `" + m[1] + "` | " + m[2] + " |"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/deploy.md has no row %q", row)
		}
	}
}
